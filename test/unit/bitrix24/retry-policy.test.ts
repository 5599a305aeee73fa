import { describe, expect, it } from 'vitest';
import { NetworkError, OperationTimeLimitError, QueryLimitExceededError, NoAuthFoundError } from '../../../functions/bitrix24/errors.js';
import { backoffDelay, DEFAULT_RETRY_OPTIONS, fitsDeadline, isBackoffRetryable, resolveRetryOptions } from '../../../functions/bitrix24/retry-policy.js';

describe('retry policy', () => {
  const options = resolveRetryOptions({ baseDelayMs: 100, maxDelayMs: 1000 });

  it('grows the backoff ceiling exponentially up to the cap (full jitter scales it)', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, () => 0.999999, options))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(3, () => 0.5, options)).toBe(200);
    expect(backoffDelay(3, () => 0, options)).toBe(0);
  });

  it('bounds waits by the deadline', () => {
    expect(fitsDeadline(1000, 500, 1500)).toBe(true);
    expect(fitsDeadline(1000, 501, 1500)).toBe(false);
    expect(fitsDeadline(1000, 10 ** 9, undefined)).toBe(true);
  });

  it('retries rate limit and network errors with backoff, not auth or operation limit', () => {
    expect(isBackoffRetryable(new QueryLimitExceededError({ code: 'QUERY_LIMIT_EXCEEDED' }))).toBe(true);
    expect(isBackoffRetryable(new NetworkError({ code: 'ECONNRESET', host: 'h' }))).toBe(true);
    expect(isBackoffRetryable(new NoAuthFoundError({ code: 'NO_AUTH_FOUND' }))).toBe(false);
    expect(isBackoffRetryable(new OperationTimeLimitError({ code: 'OPERATION_TIME_LIMIT' }))).toBe(false);
    expect(isBackoffRetryable(new Error('x'))).toBe(false);
  });

  it('rejects nonsense options', () => {
    expect(() => resolveRetryOptions({ maxAttempts: 0 })).toThrow(RangeError);
    expect(() => resolveRetryOptions({ baseDelayMs: 10, maxDelayMs: 5 })).toThrow(RangeError);
    expect(resolveRetryOptions(undefined)).toEqual(DEFAULT_RETRY_OPTIONS);
  });
});
