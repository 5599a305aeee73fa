// The retry policy, as pure functions the client loop calls: which errors are
// retried, how long to wait (exponential backoff with full jitter), and
// whether a wait still fits in the caller's deadline.
//
// Reads and writes are retried differently (issue 11 §3). A read can be sent
// again whatever happened. A write (anything that is not a known read) is sent
// again only after a failure known to have happened before Bitrix24 acted: the
// connection was never made (refused, no route, DNS, connect timeout), or the
// portal answered that it did not run the method (QUERY_LIMIT_EXCEEDED,
// OPERATION_TIME_LIMIT, expired_token). After an ambiguous failure — the
// request went out and the answer was lost or broken — the client throws
// WriteOutcomeUnknownError instead of posting twice.
import {
  Bitrix24Error,
  NetworkError,
  OperationTimeLimitError,
  QueryLimitExceededError,
  RequestTimeoutError,
} from './errors.js';

export interface RetryOptions {
  /** Attempts per call, the first one included. @default 6 */
  readonly maxAttempts?: number;
  /** Backoff base, in ms: attempt n waits random() × min(maxDelayMs, baseDelayMs × 2^(n−1)). @default 500 */
  readonly baseDelayMs?: number;
  /** Backoff cap, in ms. @default 30000 */
  readonly maxDelayMs?: number;
  /** Pause after OPERATION_TIME_LIMIT when no `operating_reset_at` is known, in ms. @default 60000 */
  readonly operationLimitDefaultWaitMs?: number;
  /** Longest OPERATION_TIME_LIMIT pause the client sits out when the caller gives no deadline, in ms. @default 600000 */
  readonly operationLimitMaxWaitMs?: number;
}

export type ResolvedRetryOptions = Required<RetryOptions>;

export const DEFAULT_RETRY_OPTIONS: ResolvedRetryOptions = {
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  operationLimitDefaultWaitMs: 60_000,
  operationLimitMaxWaitMs: 600_000,
};

export function resolveRetryOptions(options: RetryOptions | undefined): ResolvedRetryOptions {
  const resolved = { ...DEFAULT_RETRY_OPTIONS, ...options };
  if (!Number.isInteger(resolved.maxAttempts) || resolved.maxAttempts < 1) throw new RangeError('retry.maxAttempts must be an integer ≥ 1');
  if (!(resolved.baseDelayMs >= 0) || !(resolved.maxDelayMs >= resolved.baseDelayMs)) {
    throw new RangeError('retry delays must satisfy 0 ≤ baseDelayMs ≤ maxDelayMs');
  }
  return resolved;
}

/** Full-jitter exponential backoff before retry number `retry` (1 = the first retry). */
export function backoffDelay(retry: number, random: () => number, options: ResolvedRetryOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, retry - 1));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * ceiling);
}

/** Whether a wait of `waitMs` starting at `now` still ends before the deadline (no deadline: always). */
export function fitsDeadline(now: number, waitMs: number, deadline: number | undefined): boolean {
  return deadline === undefined || now + waitMs <= deadline;
}

/** Errors retried with backoff: rate limit, 5xx, network, transport timeouts. OPERATION_TIME_LIMIT has its own wait. */
export function isBackoffRetryable(error: unknown): error is Bitrix24Error {
  return error instanceof Bitrix24Error && error.retryable && error.kind !== 'operation-limit';
}

/** `read`: safe to send again; `write`: changes something in Bitrix24 (posts, edits, registers…). */
export type MethodKind = 'read' | 'write';

/**
 * Read verbs of Bitrix24 method names: the last segment starts with one of
 * these (`im.v2.Event.get`, `im.dialog.messages.get`, `crm.deal.list`,
 * `user.search`, `crm.deal.fields`, `user.current`, `app.info`, `server.time`).
 */
const READ_VERB = /^(get|list|search|fields|count|info|current|time)/i;
const READ_METHODS = new Set(['profile', 'methods', 'scope', 'user.access', 'access.name']);

/** Whether a method only reads. Anything not recognised as a read is a write: a wrong guess then costs a retry, never a duplicate. */
export function methodKind(method: string): MethodKind {
  const lower = method.toLowerCase();
  if (READ_METHODS.has(lower)) return 'read';
  const last = lower.slice(lower.lastIndexOf('.') + 1);
  return READ_VERB.test(last) ? 'read' : 'write';
}

/** Transport codes of a connection that was never made: the request did not leave. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** A write failed before Bitrix24 acted on it (never sent, or refused by the portal's limits): it may be sent again. */
export function isWriteSafeToRetry(error: unknown): boolean {
  if (error instanceof QueryLimitExceededError || error instanceof OperationTimeLimitError) return true;
  if (error instanceof RequestTimeoutError) return error.phase === 'connect';
  if (error instanceof NetworkError) return NOT_SENT_CODES.has(error.code);
  return false;
}

/**
 * A write failed after the request may have reached Bitrix24 with no usable
 * answer: reset or broken connection, timeout waiting for the answer, a 5xx,
 * a malformed or oversized body, an abort in flight. Whether Bitrix24 acted is
 * unknown. Portal answers with an error code (ACCESS_DENIED, a bot error…) are
 * definite refusals and not ambiguous.
 */
export function isAmbiguousWriteFailure(error: unknown): boolean {
  if (!(error instanceof Bitrix24Error) || isWriteSafeToRetry(error)) return false;
  return ['network', 'timeout', 'server', 'malformed', 'too-large', 'aborted'].includes(error.kind);
}
