// What the loop does when a Bitrix24 call finally fails (the client has
// already retried within its deadline): wait and try again, or stop the run.
import { Bitrix24Error, OperationTimeLimitError } from '../bitrix24/errors.js';
import { PollerError } from './errors.js';

export type FailureVerdict =
  /** QUERY_LIMIT_EXCEEDED: back off with a growing delay. */
  | { readonly action: 'back-off'; readonly code: string }
  /** OPERATION_TIME_LIMIT: pause until the method's budget resets. */
  | { readonly action: 'pause'; readonly code: string; readonly resumeAt?: number }
  /** 5xx, network, timeouts, malformed answers and pages: retry after a short delay. */
  | { readonly action: 'retry'; readonly code: string }
  /** Auth, permissions, portal gone, bot errors, configuration: stop the run and surface the code. */
  | { readonly action: 'stop'; readonly code: string; readonly authFailure: boolean };

const TRANSIENT_KINDS = new Set(['server', 'network', 'timeout', 'malformed', 'token-conflict', 'aborted']);
const AUTH_KINDS = new Set(['auth', 'permission', 'oauth']);
const AUTH_BOT_CODES = new Set(['AUTH_ERROR', 'BOT_OWNERSHIP_ERROR', 'BOT_TOKEN_NOT_SPECIFIED', 'SCOPE_ERROR']);

export function classifyFailure(error: unknown): FailureVerdict {
  if (error instanceof OperationTimeLimitError) {
    return error.resetAt === undefined ? { action: 'pause', code: error.code } : { action: 'pause', code: error.code, resumeAt: error.resetAt };
  }
  if (error instanceof Bitrix24Error) {
    if (error.kind === 'rate-limit') return { action: 'back-off', code: error.code };
    if (error.kind === 'operation-limit') return { action: 'pause', code: error.code };
    if (TRANSIENT_KINDS.has(error.kind)) return { action: 'retry', code: error.code };
    const authFailure = AUTH_KINDS.has(error.kind) || (error.kind === 'bot' && AUTH_BOT_CODES.has(error.code));
    return { action: 'stop', code: error.code, authFailure };
  }
  if (error instanceof PollerError) return { action: 'stop', code: error.code, authFailure: false };
  return { action: 'stop', code: 'UNEXPECTED_ERROR', authFailure: false };
}

/** A log-safe description: typed errors carry redacted messages; anything else is reduced to its name. */
export function describeError(error: unknown): { errorName: string; errorMessage: string } {
  if (error instanceof Bitrix24Error || error instanceof PollerError) return { errorName: error.name, errorMessage: error.message };
  if (error instanceof Error) return { errorName: error.name, errorMessage: error.message.slice(0, 500) };
  return { errorName: typeof error, errorMessage: 'non-Error value thrown' };
}
