// The portal budget's store port: where each portal's bucket (its GCRA TAT)
// and its per-method OPERATION_TIME_LIMIT pauses live. DynamoDB when several
// processes share a portal (poller shards, consumers), memory in one process.
import type { GcraStep } from './gcra.js';

export type ReserveOutcome =
  /** A slot is reserved: send at `startAt`. */
  | { readonly kind: 'reserved'; readonly startAt: number; readonly pauses: Readonly<Record<string, number>> }
  /** No slot within the allowed wait: the bucket is booked until `tat`; nothing was reserved. */
  | { readonly kind: 'full'; readonly tat: number; readonly pauses: Readonly<Record<string, number>> };

export interface PortalBudgetStore {
  /**
   * Reserves one request on the portal's bucket, unless it would have to wait more than `maxWaitMs`.
   * `pauses`: method (lower case) → ms epoch until which OPERATION_TIME_LIMIT holds it on this portal.
   */
  reserve(portal: string, input: { readonly now: number; readonly step: GcraStep; readonly maxWaitMs: number }): Promise<ReserveOutcome>;
  /** Records that `method` (lower case) is paused on the portal until `until` (a later pause wins). */
  pause(portal: string, method: string, until: number): Promise<void>;
}
