// Errors of the portal budget (the shared per-portal request gate). They
// extend Bitrix24Error so a caller's existing policy applies unchanged: a
// request the budget could not admit in time is a rate-limit failure (the
// poller backs off, a consumer's record is retried), nothing was sent.
import { Bitrix24Error } from '../bitrix24/errors.js';

/** The portal's budget has no slot for this request before its deadline (or the longest allowed wait). Nothing was sent. */
export class PortalBudgetExhaustedError extends Bitrix24Error {
  readonly portal: string;
  /** How long the request would have had to wait, in ms. */
  readonly waitMs: number;
  constructor(fields: { portal: string; method: string; waitMs: number }) {
    super(
      `${fields.method} on ${fields.portal} was not sent: the portal's shared request budget has no slot for ${Math.ceil(fields.waitMs / 1000)} s, past the call's deadline. ` +
        'Other sources and consumers of this portal are using the rate; the caller backs off. If it persists, raise the portal\'s requestsPerSecond (Enterprise: 5) or poll fewer sources on it.',
      'rate-limit',
      false,
      { code: 'PORTAL_BUDGET_EXHAUSTED', method: fields.method },
    );
    this.name = 'PortalBudgetExhaustedError';
    this.portal = fields.portal;
    this.waitMs = fields.waitMs;
  }
}

/** The budget's store (DynamoDB) failed; nothing was sent. Transient: the caller retries later. */
export class PortalBudgetStoreError extends Bitrix24Error {
  readonly portal: string;
  constructor(fields: { portal: string; what: string; cause?: unknown }) {
    super(
      `The shared request budget of ${fields.portal} could not be read or updated (${fields.what}); the request was not sent. Check the state table's availability.`,
      'server',
      true,
      { code: 'PORTAL_BUDGET_STORE', ...(fields.cause === undefined ? {} : { cause: fields.cause }) },
    );
    this.name = 'PortalBudgetStoreError';
    this.portal = fields.portal;
  }
}

/** A budget setting is out of range (requestsPerSecond ≤ 0, burst < 1, a malformed PORTAL_BUDGETS). */
export class PortalBudgetConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PortalBudgetConfigError';
  }
}
