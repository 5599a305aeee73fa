// The portal budget in one process's memory: for the local runtime, tests,
// and a single process that owns every caller of a portal.
import { latestAcceptableTat, reserve } from './gcra.js';
import type { PortalBudgetStore, ReserveOutcome } from './ports.js';

interface Bucket {
  tat: number | undefined;
  readonly pauses: Record<string, number>;
}

export class InMemoryPortalBudgetStore implements PortalBudgetStore {
  readonly #buckets = new Map<string, Bucket>();

  #bucket(portal: string): Bucket {
    let bucket = this.#buckets.get(portal);
    if (bucket === undefined) {
      bucket = { tat: undefined, pauses: {} };
      this.#buckets.set(portal, bucket);
    }
    return bucket;
  }

  reserve(portal: string, input: Parameters<PortalBudgetStore['reserve']>[1]): Promise<ReserveOutcome> {
    const bucket = this.#bucket(portal);
    const pauses = { ...bucket.pauses };
    if (bucket.tat !== undefined && bucket.tat > latestAcceptableTat(input.now, input.step, input.maxWaitMs)) {
      return Promise.resolve({ kind: 'full', tat: bucket.tat, pauses });
    }
    const reservation = reserve(bucket.tat, input.now, input.step);
    bucket.tat = reservation.tat;
    return Promise.resolve({ kind: 'reserved', startAt: reservation.startAt, pauses });
  }

  pause(portal: string, method: string, until: number): Promise<void> {
    const bucket = this.#bucket(portal);
    bucket.pauses[method] = Math.max(bucket.pauses[method] ?? 0, until);
    return Promise.resolve();
  }
}
