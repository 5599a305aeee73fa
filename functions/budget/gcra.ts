// The portal budget's arithmetic: GCRA (the generic cell rate algorithm, the
// "virtual scheduling" form of a leaky bucket) with reservations instead of
// refusals. The whole state of a portal's bucket is one number, the
// theoretical arrival time (TAT): the moment the bucket would be empty again.
//
//   a request arriving at `now` may start at  startAt = max(now, TAT − τ)
//   and moves the bucket on to                TAT'    = max(TAT, now) + T
//
// with T = 1000 / requestsPerSecond ms and τ = (burst − 1) × T. Over any
// window the requests started are ≤ burst + rate × window: exactly Bitrix24's
// own leaky bucket (limits.md: "the counter decreases by Y once per second,
// a request past X is refused") run ahead of it with X = burst ≪ the portal's
// 50 (250 on Enterprise), so the portal's bucket never fills from our calls.
// Pure: time comes in as an argument.
import { PortalBudgetConfigError } from './errors.js';

export interface PortalRate {
  /** Sustained requests per second granted on the portal (Bitrix24: 2 standard, 5 Enterprise). */
  readonly requestsPerSecond: number;
  /** Requests that may start at once after a quiet spell. */
  readonly burst: number;
}

export interface GcraStep {
  /** ms between requests at the sustained rate. */
  readonly intervalMs: number;
  /** How far ahead of the TAT a request may start (the burst), in ms. */
  readonly toleranceMs: number;
}

export function gcraStep(rate: PortalRate): GcraStep {
  if (!(rate.requestsPerSecond > 0) || !Number.isFinite(rate.requestsPerSecond)) {
    throw new PortalBudgetConfigError(`requestsPerSecond must be a positive number (Bitrix24: 2 standard, 5 Enterprise); got ${String(rate.requestsPerSecond)}`);
  }
  if (!Number.isInteger(rate.burst) || rate.burst < 1) throw new PortalBudgetConfigError(`burst must be an integer ≥ 1; got ${String(rate.burst)}`);
  const intervalMs = 1000 / rate.requestsPerSecond;
  return { intervalMs, toleranceMs: (rate.burst - 1) * intervalMs };
}

export interface Reservation {
  /** When the request may be sent, ms epoch (≥ now). */
  readonly startAt: number;
  /** The bucket's TAT after this request. */
  readonly tat: number;
}

/** One request's reservation against a bucket whose TAT is `tat` (undefined: never used). */
export function reserve(tat: number | undefined, now: number, step: GcraStep): Reservation {
  const previous = tat ?? now;
  return { startAt: Math.max(now, previous - step.toleranceMs), tat: Math.max(previous, now) + step.intervalMs };
}

/** The largest stored TAT for which a request arriving at `now` still starts within `maxWaitMs`. */
export function latestAcceptableTat(now: number, step: GcraStep, maxWaitMs: number): number {
  return now + step.toleranceMs + Math.max(0, maxWaitMs);
}
