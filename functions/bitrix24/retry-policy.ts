// The retry policy, as pure functions the client loop calls: which errors are
// retried, how long to wait (exponential backoff with full jitter), and
// whether a wait still fits in the caller's deadline.
import { Bitrix24Error } from './errors.js';

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
