// Every way a Bitrix24 call can fail, as a typed error that says what happened
// and what to do. Messages and fields never carry secrets (webhook code,
// tokens, client secret, bot token): the client builds them from the method
// name, the portal host and the (redacted) error code/description only, and a
// `cause` is always a sanitised copy, never the raw transport error.

export type Bitrix24ErrorKind =
  | 'rate-limit'
  | 'operation-limit'
  | 'server'
  | 'overload'
  | 'auth'
  | 'permission'
  | 'config'
  | 'portal-gone'
  | 'bot'
  | 'malformed'
  | 'network'
  | 'timeout'
  | 'too-large'
  | 'oauth'
  | 'token-conflict'
  | 'token-store'
  | 'argument'
  | 'aborted'
  | 'outcome-unknown'
  | 'api';

export interface Bitrix24ErrorFields {
  /** Bitrix24 error code (`QUERY_LIMIT_EXCEEDED`, `invalid_grant`…) or a client code (`MALFORMED_RESPONSE`, `NETWORK`…). */
  readonly code: string;
  readonly httpStatus?: number;
  /** REST method, e.g. `im.v2.Event.get`. */
  readonly method?: string;
  readonly cause?: unknown;
}

/** Base class of every error the Bitrix24 client raises. */
export class Bitrix24Error extends Error {
  readonly code: string;
  readonly httpStatus?: number;
  readonly method?: string;
  /** Whether the client's retry policy retries this error (with backoff, within the caller's deadline). */
  readonly retryable: boolean;
  readonly kind: Bitrix24ErrorKind;

  constructor(message: string, kind: Bitrix24ErrorKind, retryable: boolean, fields: Bitrix24ErrorFields) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = 'Bitrix24Error';
    this.kind = kind;
    this.retryable = retryable;
    this.code = fields.code;
    if (fields.httpStatus !== undefined) this.httpStatus = fields.httpStatus;
    if (fields.method !== undefined) this.method = fields.method;
  }
}

function where(fields: Bitrix24ErrorFields): string {
  const status = fields.httpStatus === undefined ? '' : ` (HTTP ${fields.httpStatus})`;
  return `${fields.method ?? 'Bitrix24 call'} failed with ${fields.code}${status}`;
}

function withDescription(description: string | undefined): string {
  return description === undefined || description === '' ? '' : ` Portal said: "${description}".`;
}

/** Fields of an error answered by the portal (`{"error": …, "error_description": …}`). */
export interface ApiErrorFields extends Bitrix24ErrorFields {
  /** The portal's `error_description`, redacted. */
  readonly description?: string;
}

/** 503 QUERY_LIMIT_EXCEEDED: the portal's leaky-bucket request limit is full. Retried with backoff. */
export class QueryLimitExceededError extends Bitrix24Error {
  readonly description?: string;
  constructor(fields: ApiErrorFields) {
    super(
      `${where(fields)}: the portal's request-rate limit is exceeded.${withDescription(fields.description)} Slow down: the client backs off and retries; if it persists, lower the polling rate or share fewer callers per portal.`,
      'rate-limit',
      true,
      fields,
    );
    this.name = 'QueryLimitExceededError';
    if (fields.description !== undefined) this.description = fields.description;
  }
}

/** 429 OPERATION_TIME_LIMIT: the method's accumulated execution time is over its limit until `resetAt`. */
export class OperationTimeLimitError extends Bitrix24Error {
  readonly description?: string;
  /** When the method may be called again (ms epoch), if known. */
  readonly resetAt?: number;
  constructor(fields: ApiErrorFields & { resetAt?: number }) {
    const until = fields.resetAt === undefined ? '' : ` until ${new Date(fields.resetAt).toISOString()}`;
    super(
      `${where(fields)}: the method's execution-time budget is used up${until}.${withDescription(fields.description)} The client pauses this method until the reset; if the deadline comes first, call again later.`,
      'operation-limit',
      true,
      fields,
    );
    this.name = 'OperationTimeLimitError';
    if (fields.description !== undefined) this.description = fields.description;
    if (fields.resetAt !== undefined) this.resetAt = fields.resetAt;
  }
}

/** 500 INTERNAL_SERVER_ERROR / ERROR_UNEXPECTED_ANSWER, or any 5xx without a Bitrix24 body (e.g. a proxy's HTML 502). Retried with backoff. */
export class ServerError extends Bitrix24Error {
  readonly description?: string;
  constructor(fields: ApiErrorFields & { bodyKind?: 'html' | 'non-json' | 'no-error-field' }) {
    const body =
      fields.bodyKind === undefined
        ? withDescription(fields.description)
        : ` The answer was ${fields.bodyKind === 'html' ? 'an HTML error page (typically a proxy or load balancer)' : fields.bodyKind === 'non-json' ? 'not JSON' : 'JSON without an "error" field'}.`;
    super(
      `${where(fields)}: the server (or a proxy in front of it) had a fault.${body} The client retries with backoff; if it persists, check the portal's / OAuth server's status.`,
      'server',
      true,
      fields,
    );
    this.name = 'ServerError';
    if (fields.description !== undefined) this.description = fields.description;
  }
}

/** 503 OVERLOAD_LIMIT: REST is blocked for the portal by hand. Not retried. */
export class OverloadLimitError extends Bitrix24Error {
  readonly description?: string;
  constructor(fields: ApiErrorFields) {
    super(
      `${where(fields)}: REST access to this portal has been blocked by Bitrix24 (overload).${withDescription(fields.description)} A human must contact Bitrix24 support and reduce the load before polling resumes.`,
      'overload',
      false,
      fields,
    );
    this.name = 'OverloadLimitError';
    if (fields.description !== undefined) this.description = fields.description;
  }
}

/** 401 NO_AUTH_FOUND: wrong access token or webhook code. Not retried. */
export class NoAuthFoundError extends Bitrix24Error {
  readonly description?: string;
  constructor(fields: ApiErrorFields) {
    super(
      `${where(fields)}: the portal did not accept the credentials (wrong webhook code or access token).${withDescription(fields.description)} Check the webhook URL / OAuth tokens in the source's secret; a deleted webhook must be recreated.`,
      'auth',
      false,
      fields,
    );
    this.name = 'NoAuthFoundError';
    if (fields.description !== undefined) this.description = fields.description;
  }
}

/** 401 expired_token: the OAuth access token expired. The client renews and retries once; seen by callers only when that fails or with webhook auth. */
export class ExpiredTokenError extends Bitrix24Error {
  readonly description?: string;
  constructor(fields: ApiErrorFields) {
    super(
      `${where(fields)}: the access token has expired and could not be renewed by retrying.${withDescription(fields.description)} Check the OAuth app's tokens (a renewal that keeps failing needs the app re-authorised).`,
      'auth',
      false,
      fields,
    );
    this.name = 'ExpiredTokenError';
    if (fields.description !== undefined) this.description = fields.description;
  }
}

/**
 * 403 ACCESS_DENIED / INVALID_CREDENTIALS / insufficient_scope / user_access_error. Not retried.
 * ACCESS_DENIED means two things (error-codes.md; api-reference/chat-bots/chat-bots-v2/imbot.v2/messages/chat-message-send.md
 * and the other imbot.v2 pages): from an `imbot.v2.*` method, the bot is not a member of that chat;
 * from any other method, REST is not available on the portal's plan.
 */
export class AccessDeniedError extends Bitrix24Error {
  readonly description?: string;
  constructor(fields: ApiErrorFields) {
    super(`${where(fields)}: the caller is not allowed to do this.${withDescription(fields.description)} ${accessDeniedHint(fields)}`, 'permission', false, fields);
    this.name = 'AccessDeniedError';
    if (fields.description !== undefined) this.description = fields.description;
  }
}

function accessDeniedHint(fields: ApiErrorFields): string {
  switch (fields.code) {
    case 'ACCESS_DENIED':
      return fields.method?.startsWith('imbot.v2.') === true
        ? 'The bot is not a member of this chat (or lacks the chat role this method needs): add the bot to the chat first; imbot.v2.Command.answer works without membership.'
        : 'REST is available only on commercial Bitrix24 plans: check the portal\'s plan, or grant the webhook user / app the rights for this method.';
    case 'INVALID_CREDENTIALS':
      return 'The user behind the webhook / access token lacks the rights for this method: grant them, or use another user\'s credentials.';
    case 'insufficient_scope':
      return 'Add the missing scope (im, imbot) to the webhook or app and re-authorise it.';
    case 'user_access_error':
      return 'The app is installed but the portal administrator limited it to certain users: give this user access to the app in its settings, or authorise the app as a user who has it.';
    default:
      return 'Grant the webhook user / app the rights for this method (scope im or imbot) or use another user.';
  }
}

/** 400 INVALID_REQUEST: the portal requires HTTPS (or the request is otherwise invalid). Not retried. */
export class InvalidRequestError extends Bitrix24Error {
  readonly description?: string;
  constructor(fields: ApiErrorFields) {
    super(
      `${where(fields)}: the portal rejected the request as invalid (usually: HTTPS required).${withDescription(fields.description)} Use an https:// portal URL and check the method's parameters.`,
      'config',
      false,
      fields,
    );
    this.name = 'InvalidRequestError';
    if (fields.description !== undefined) this.description = fields.description;
  }
}

/** 404 ERROR_METHOD_NOT_FOUND and friends: the method does not exist on this portal. Not retried. */
export class MethodNotFoundError extends Bitrix24Error {
  readonly description?: string;
  constructor(fields: ApiErrorFields) {
    super(
      `${where(fields)}: the portal does not know this method.${withDescription(fields.description)} Check the method name and that the portal's edition has it (im.v2.* needs a current Bitrix24).`,
      'config',
      false,
      fields,
    );
    this.name = 'MethodNotFoundError';
    if (fields.description !== undefined) this.description = fields.description;
  }
}

/** 500 PORTAL_DELETED: the portal is closed. Not retried. */
export class PortalDeletedError extends Bitrix24Error {
  readonly description?: string;
  constructor(fields: ApiErrorFields) {
    super(
      `${where(fields)}: the portal has been deleted or closed.${withDescription(fields.description)} Disable this source; a human must confirm the portal's fate.`,
      'portal-gone',
      false,
      fields,
    );
    this.name = 'PortalDeletedError';
    if (fields.description !== undefined) this.description = fields.description;
  }
}

// The imbot.v2 methods' own codes and what each asks the operator to do. Sources:
// api-reference/chat-bots/chat-bots-v2/imbot.v2/events/event-get.md (Possible Error Codes),
// imbot.v2/bots/bot-register.md and change-log.md (BOT-BC-0506-1: 40-character botToken),
// imbot.v2/bots/bot-update.md (a rotated botToken: the old one gets BOT_OWNERSHIP_ERROR),
// index.md (a bot gets events only in the format of the API version it was registered with).
const V2_BOT = 'register it with imbot.v2.Bot.register (a bot registered with v1 imbot.register gets no imbot.v2.Event.get events)';
const BOT_HINTS: Readonly<Record<string, string>> = {
  BOT_ID_REQUIRED: `botId was not sent: set botId in the source configuration to the bot's id (bot.id in imbot.v2.Bot.register's answer); ${V2_BOT}.`,
  BOT_TOKEN_NOT_SPECIFIED:
    'With webhook auth every imbot.v2 call needs the bot\'s botToken (the one passed to imbot.v2.Bot.register): put "botToken" in the source secret. OAuth apps need none.',
  BOT_TOKEN_INVALID_LENGTH:
    'The bot token is longer than 40 characters, which Bitrix24 refuses: rotate it to at most 40 characters with imbot.v2.Bot.update {fields: {botToken}} (authorised with the old token), then put the new one in the source secret.',
  BOT_NOT_FOUND: `No bot with this botId exists on the portal (unregistered, or a wrong id): check botId in the source configuration; to recreate the bot, ${V2_BOT} and update botId.`,
  BOT_OWNERSHIP_ERROR:
    'The bot belongs to another app or user: with OAuth only the app (client_id) that registered a bot may read its events, so use that app\'s credentials; with a webhook the botToken does not match (after imbot.v2.Bot.update rotated it, the old one gets this error): put the current botToken in the source secret.',
  SCOPE_ERROR: 'The credentials lack scope "im", which withUserEvents: true needs: add "im" (next to "imbot") to the webhook or app and re-authorise it, or turn withUserEvents off.',
  AUTH_ERROR:
    'Bitrix24 could not determine the current user from these credentials: check that the webhook (or the user who authorised the app) still exists and is active, then recreate the webhook or re-authorise the app and update the source secret.',
  USER_NOT_SUBSCRIBED:
    'withUserEvents needs the calling user subscribed to their events: call im.v2.Event.subscribe once with the same credentials (b24-pipeline subscribe --source <id>), or turn withUserEvents off.',
};

/** The imbot.v2 codes answered as a BotError subclass (response.ts maps each to its class). */
export const BOT_ERROR_CODES: readonly string[] = Object.keys(BOT_HINTS);

/** An imbot.v2 method's own error (botId, botToken, ownership, scope, subscription). Not retried; each code has its own subclass. */
export class BotError extends Bitrix24Error {
  readonly description?: string;
  constructor(fields: ApiErrorFields) {
    super(
      `${where(fields)}: the bot request was refused.${withDescription(fields.description)} ${BOT_HINTS[fields.code] ?? 'Check the bot id, token and scopes.'}`,
      'bot',
      false,
      fields,
    );
    this.name = 'BotError';
    if (fields.description !== undefined) this.description = fields.description;
  }
}

type BotErrorFields = Omit<ApiErrorFields, 'code'>;

/** BOT_ID_REQUIRED: the call carried no botId. */
export class BotIdRequiredError extends BotError {
  constructor(fields: BotErrorFields) {
    super({ ...fields, code: 'BOT_ID_REQUIRED' });
    this.name = 'BotIdRequiredError';
  }
}

/** BOT_TOKEN_NOT_SPECIFIED: webhook auth without botToken. */
export class BotTokenNotSpecifiedError extends BotError {
  constructor(fields: BotErrorFields) {
    super({ ...fields, code: 'BOT_TOKEN_NOT_SPECIFIED' });
    this.name = 'BotTokenNotSpecifiedError';
  }
}

/** BOT_TOKEN_INVALID_LENGTH: a botToken over 40 characters. */
export class BotTokenInvalidLengthError extends BotError {
  constructor(fields: BotErrorFields) {
    super({ ...fields, code: 'BOT_TOKEN_INVALID_LENGTH' });
    this.name = 'BotTokenInvalidLengthError';
  }
}

/** BOT_NOT_FOUND: no bot with this id. */
export class BotNotFoundError extends BotError {
  constructor(fields: BotErrorFields) {
    super({ ...fields, code: 'BOT_NOT_FOUND' });
    this.name = 'BotNotFoundError';
  }
}

/** BOT_OWNERSHIP_ERROR: the bot was registered by another app (OAuth) or the botToken does not match (webhook). */
export class BotOwnershipError extends BotError {
  constructor(fields: BotErrorFields) {
    super({ ...fields, code: 'BOT_OWNERSHIP_ERROR' });
    this.name = 'BotOwnershipError';
  }
}

/** SCOPE_ERROR: scope `im` is missing for withUserEvents. */
export class BotScopeError extends BotError {
  constructor(fields: BotErrorFields) {
    super({ ...fields, code: 'SCOPE_ERROR' });
    this.name = 'BotScopeError';
  }
}

/** AUTH_ERROR: Bitrix24 could not determine the current user. */
export class CurrentUserUnknownError extends BotError {
  constructor(fields: BotErrorFields) {
    super({ ...fields, code: 'AUTH_ERROR' });
    this.name = 'CurrentUserUnknownError';
  }
}

/** USER_NOT_SUBSCRIBED: withUserEvents without im.v2.Event.subscribe. */
export class UserNotSubscribedError extends BotError {
  constructor(fields: BotErrorFields) {
    super({ ...fields, code: 'USER_NOT_SUBSCRIBED' });
    this.name = 'UserNotSubscribedError';
  }
}

/** Any other error code a portal answers with. Not retried. */
export class Bitrix24ApiError extends Bitrix24Error {
  readonly description?: string;
  constructor(fields: ApiErrorFields) {
    super(`${where(fields)}.${withDescription(fields.description)} See the method's documentation for this code.`, 'api', false, fields);
    this.name = 'Bitrix24ApiError';
    if (fields.description !== undefined) this.description = fields.description;
  }
}

/** The answer is not what the protocol promises (bad JSON, an HTML page, a missing or wrong field). Not retried. */
export class MalformedResponseError extends Bitrix24Error {
  /** The offending field path (e.g. `result.events[3].eventId`), or `body` when the whole body is unusable. */
  readonly field: string;
  constructor(fields: Omit<Bitrix24ErrorFields, 'code'> & { field: string; problem: string }) {
    super(
      `${fields.method ?? 'Bitrix24 call'} returned a malformed answer${fields.httpStatus === undefined ? '' : ` (HTTP ${fields.httpStatus})`}: ${fields.field} ${fields.problem}. Nothing from this answer was used; check the portal URL (a proxy or login page answers HTML) and retry later.`,
      'malformed',
      false,
      { ...fields, code: 'MALFORMED_RESPONSE' },
    );
    this.name = 'MalformedResponseError';
    this.field = fields.field;
  }
}

/** The connection failed (refused, reset, DNS, TLS). Retried with backoff. */
export class NetworkError extends Bitrix24Error {
  constructor(fields: Bitrix24ErrorFields & { host: string }) {
    super(
      `${fields.method ?? 'Bitrix24 call'} to ${fields.host} failed on the network (${fields.code}). The client retries with backoff; if it persists, check the portal host and connectivity.`,
      'network',
      true,
      fields,
    );
    this.name = 'NetworkError';
  }
}

export type TimeoutPhase = 'connect' | 'headers' | 'body' | 'deadline';

/** A request timed out (connect, response headers, body) — retried — or ran into the caller's deadline — not retried. */
export class RequestTimeoutError extends Bitrix24Error {
  readonly phase: TimeoutPhase;
  constructor(fields: Bitrix24ErrorFields & { host: string; phase: TimeoutPhase; timeoutMs?: number }) {
    const after = fields.timeoutMs === undefined ? '' : ` after ${fields.timeoutMs} ms`;
    const hint =
      fields.phase === 'deadline'
        ? "The caller's deadline passed while the request was in flight; call again with more time."
        : 'The client retries with backoff; if it persists, the portal is slow or unreachable.';
    super(
      `${fields.method ?? 'Bitrix24 call'} to ${fields.host} timed out waiting for ${fields.phase === 'deadline' ? 'the answer before the deadline' : `the ${fields.phase}`}${after}. ${hint}`,
      'timeout',
      fields.phase !== 'deadline',
      fields,
    );
    this.name = 'RequestTimeoutError';
    this.phase = fields.phase;
  }
}

/** The answer is larger than `maxResponseBytes`; reading stopped. Not retried. */
export class ResponseTooLargeError extends Bitrix24Error {
  readonly limitBytes: number;
  constructor(fields: Bitrix24ErrorFields & { limitBytes: number }) {
    super(
      `${fields.method ?? 'Bitrix24 call'} returned more than ${fields.limitBytes} bytes; reading was stopped. Ask for fewer events (lower limit) or raise maxResponseBytes.`,
      'too-large',
      false,
      fields,
    );
    this.name = 'ResponseTooLargeError';
    this.limitBytes = fields.limitBytes;
  }
}

/** The caller aborted the call through its AbortSignal. */
export class RequestAbortedError extends Bitrix24Error {
  constructor(fields: Bitrix24ErrorFields) {
    super(`${fields.method ?? 'Bitrix24 call'} was aborted by the caller.`, 'aborted', false, fields);
    this.name = 'RequestAbortedError';
  }
}

/**
 * A write (a method that changes something, e.g. `im.message.add`) may or may
 * not have happened: the request was sent and its answer was lost (connection
 * reset, timeout after sending, a 5xx, a broken body), or an earlier run's
 * write under the same outbox key never recorded its outcome. Never retried
 * automatically: a retry could post the message twice. `cause` is the failure
 * seen (a sanitised Bitrix24Error), when there was one.
 */
export class WriteOutcomeUnknownError extends Bitrix24Error {
  constructor(fields: Bitrix24ErrorFields & { detail?: string }) {
    super(
      `${fields.method ?? 'Bitrix24 write'}: the outcome is unknown (${fields.detail ?? `the request was sent and the answer was lost: ${fields.code}`}). It was not repeated, since Bitrix24 may already have acted; check the portal (e.g. the chat) before sending it again.`,
      'outcome-unknown',
      false,
      fields,
    );
    this.name = 'WriteOutcomeUnknownError';
  }
}

const OAUTH_HINTS: Readonly<Record<string, string>> = {
  invalid_grant:
    'The refresh token is no longer valid (expired after 180 days, already used, or the app was removed): re-authorise the app by hand and put the new refresh token in the source secret.',
  invalid_client: 'The OAuth server rejected clientId/clientSecret: check them in the source secret against the app settings.',
  PAYMENT_REQUIRED: "The app's paid subscription has lapsed: renew it in the Bitrix24 marketplace.",
  NO_TOKENS: 'No OAuth tokens are stored for this source: put the initial refresh token in the source secret.',
};

/** The OAuth server refused to renew the access token (invalid_grant, invalid_client, …) or answered nonsense. */
export class OAuthRenewalError extends Bitrix24Error {
  readonly description?: string;
  constructor(fields: ApiErrorFields) {
    super(
      `Renewing the Bitrix24 OAuth access token failed with ${fields.code}${fields.httpStatus === undefined ? '' : ` (HTTP ${fields.httpStatus})`}.${withDescription(fields.description)} ${OAUTH_HINTS[fields.code] ?? 'Check the app credentials and the OAuth server URL.'}`,
      'oauth',
      false,
      fields,
    );
    this.name = 'OAuthRenewalError';
    if (fields.description !== undefined) this.description = fields.description;
  }
}

/** invalid_grant: the refresh token is dead; only a human re-authorising the app fixes it. */
export class InvalidGrantError extends OAuthRenewalError {
  constructor(fields: Omit<ApiErrorFields, 'code'>) {
    super({ ...fields, code: 'invalid_grant' });
    this.name = 'InvalidGrantError';
  }
}

/** invalid_client: clientId/clientSecret are wrong. */
export class InvalidClientError extends OAuthRenewalError {
  constructor(fields: Omit<ApiErrorFields, 'code'>) {
    super({ ...fields, code: 'invalid_client' });
    this.name = 'InvalidClientError';
  }
}

/** A conditional token save lost: another process stored newer tokens first. The client reloads them and carries on. */
export class TokenConflictError extends Bitrix24Error {
  constructor(message = 'Another process saved newer OAuth tokens first; reload them from the token store and retry.', cause?: unknown) {
    super(message, 'token-conflict', false, { code: 'TOKEN_CONFLICT', cause });
    this.name = 'TokenConflictError';
  }
}

/** The token store itself failed (DynamoDB unreachable, bad item). */
export class TokenStoreError extends Bitrix24Error {
  constructor(message: string, cause?: unknown) {
    super(message, 'token-store', false, { code: 'TOKEN_STORE', cause });
    this.name = 'TokenStoreError';
  }
}

/** A URL is plain http:// to a non-loopback host. */
export class InsecureUrlError extends Bitrix24Error {
  constructor(what: string, host: string) {
    super(
      `${what} must use https:// (plain http is allowed for 127.0.0.1, ::1 and localhost only); got http:// to ${host}. Fix the URL in the source secret/configuration.`,
      'config',
      false,
      { code: 'INSECURE_URL' },
    );
    this.name = 'InsecureUrlError';
  }
}

/** A client argument or configuration value is invalid (limit outside 1–1000, bad URL, missing botToken…). */
export class InvalidArgumentError extends Bitrix24Error {
  constructor(message: string, method?: string) {
    super(message, 'argument', false, method === undefined ? { code: 'INVALID_ARGUMENT' } : { code: 'INVALID_ARGUMENT', method });
    this.name = 'InvalidArgumentError';
  }
}

/** The source secret JSON lacks a field or has a wrong one. Names the field, never echoes values. */
export class SourceSecretError extends Bitrix24Error {
  readonly field: string;
  constructor(field: string, problem: string, secretName?: string) {
    super(
      `The source secret${secretName === undefined ? '' : ` "${secretName}"`} is invalid: ${field} ${problem}. Fix the secret's JSON (see docs: webhook → {"webhookUrl"}, oauth → {"clientId","clientSecret","refreshToken"}).`,
      'config',
      false,
      { code: 'INVALID_SOURCE_SECRET' },
    );
    this.name = 'SourceSecretError';
    this.field = field;
  }
}

/** Reading a secret from Secrets Manager failed. */
export class SecretReadError extends Bitrix24Error {
  constructor(secretName: string, reason: string, cause?: unknown) {
    super(
      `Could not read secret "${secretName}": ${reason}. Check that the secret exists and the function's role may read it (secretsmanager:GetSecretValue).`,
      'config',
      false,
      { code: 'SECRET_READ_FAILED', cause },
    );
    this.name = 'SecretReadError';
  }
}
