// Errors of the Marketplace install endpoint. Each carries the HTTP status the
// function URL answers with and a short machine code; messages never hold a
// token (they name the field or the member id, which is not a secret).
import { Bitrix24Error } from '../bitrix24/errors.js';

/** Base class of the install module's errors. */
export class InstallError extends Error {
  /** HTTP status the install endpoint answers with. */
  readonly httpStatus: number;
  /** Stable code for the answer body and the logs (`invalid_application_token`, …). */
  readonly code: string;
  constructor(message: string, httpStatus: number, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InstallError';
    this.httpStatus = httpStatus;
    this.code = code;
  }
}

/** The request does not have the shape Bitrix24 sends (form-encoded `event`, `data`, `ts`, `auth[…]`). */
export class InstallRequestError extends InstallError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`The request is not a Bitrix24 app event: ${field} ${problem} (on-app-install.md, on-app-uninstall.md).`, 400, 'invalid_request');
    this.name = 'InstallRequestError';
    this.field = field;
  }
}

/** The `application_token` does not match the one stored at install (safe-event-handlers.md): refused, nothing done. */
export class ApplicationTokenMismatchError extends InstallError {
  readonly memberId: string;
  constructor(memberId: string) {
    super(`Refused an app event for member ${memberId}: its application_token does not match the one stored at install.`, 403, 'invalid_application_token');
    this.name = 'ApplicationTokenMismatchError';
    this.memberId = memberId;
  }
}

/** An ONAPPUNINSTALL for a portal with no install record (security-recommendations.md: "member_id is not found" → reject). */
export class UnknownInstallError extends InstallError {
  readonly memberId: string;
  constructor(memberId: string) {
    super(`Refused ONAPPUNINSTALL for member ${memberId}: the app is not installed there (no install record).`, 403, 'unknown_member');
    this.name = 'UnknownInstallError';
    this.memberId = memberId;
  }
}

/**
 * The ONAPPINSTALL's tokens did not prove the request: the OAuth server refused its refresh token for
 * this app, answered another member_id, or the request named an OAuth server that is not trusted.
 */
export class InstallVerificationError extends InstallError {
  readonly memberId: string;
  readonly reason: string;
  constructor(memberId: string, reason: string, options?: ErrorOptions) {
    super(`Refused ONAPPINSTALL for member ${memberId}: ${reason}.`, 401, 'install_not_verified', options);
    this.name = 'InstallVerificationError';
    this.memberId = memberId;
    this.reason = reason;
  }
}

/** Reading or writing the install record failed (DynamoDB); the install can be repeated. */
export class InstallStoreError extends InstallError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 500, 'install_store_error', options);
    this.name = 'InstallStoreError';
  }
}

/** A Bitrix24 call of the install (Bot.list/register, Event.subscribe) failed; the install can be repeated (every step is idempotent). */
export class InstallPortalError extends InstallError {
  readonly method: string;
  constructor(method: string, detail: string, options?: ErrorOptions) {
    super(`The install's call ${method} failed (${detail}); repeat the install (every step is idempotent).`, 502, 'portal_call_failed', options);
    this.name = 'InstallPortalError';
    this.method = method;
  }
}

/** The app secret (client id/secret) or the endpoint's environment is missing or malformed. */
export class InstallConfigError extends InstallError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 500, 'install_misconfigured', options);
    this.name = 'InstallConfigError';
  }
}

/** The state table key prefix of install records (install-store.ts re-exports it; here so errors.ts imports nothing of the store). */
export const APP_INSTALL_ITEM_PREFIX = 'app-install#';

/**
 * An app-install source whose portal has no install record: the app was uninstalled (ONAPPUNINSTALL deleted
 * the record and its tokens) or never finished installing. Raised where the poller and the consumers build or
 * renew the source's credentials (install-credentials.ts), so it travels their Bitrix24 error paths: a
 * Bitrix24Error of kind `portal-gone` (not retried; the poller stops the source's run, the shard cools it
 * down), not an InstallError (those are the endpoint's HTTP answers).
 */
export class AppNotInstalledError extends Bitrix24Error {
  readonly memberId: string;
  constructor(memberId: string) {
    super(
      `The app is not installed on the portal of member ${memberId} (no record ${APP_INSTALL_ITEM_PREFIX}${memberId}): uninstalled, or its install never finished. Its sources are not polled or served until the app is installed again.`,
      'portal-gone',
      false,
      { code: 'APP_NOT_INSTALLED' },
    );
    this.name = 'AppNotInstalledError';
    this.memberId = memberId;
  }
}

/** A copy of an error safe to keep as `cause`: name and a short message, no stack of request data. */
export function safeCause(error: unknown): Error {
  const copy = new Error(error instanceof Error ? error.message.slice(0, 200) : 'unknown error');
  copy.name = error instanceof Error ? error.name : 'Error';
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}
