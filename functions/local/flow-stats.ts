// Live counters of the local pipeline, per source and event type: what the
// poller fetched (polled), what reached a queue (published) and what the
// consumers finished (consumed). Fed by thin observers around the real
// components (a Bitrix24 client decorator, an SQS middleware, a consumer
// handler wrapper), so the numbers describe the production code paths, not a
// re-implementation of them. Pure bookkeeping: no I/O.

export interface TypeFlow {
  readonly type: string;
  readonly polled: number;
  readonly published: number;
  readonly consumed: number;
  /** Age (ms) of the last consumed event of this type: consumed at − event date. */
  readonly lastAgeMs?: number;
}

export interface FlowSnapshot {
  readonly types: readonly TypeFlow[];
  readonly totals: { readonly polled: number; readonly published: number; readonly consumed: number };
  /** Distinct events consumed (per source and event id). */
  readonly distinctConsumed: number;
  /** Deliveries of an event already consumed: absorbed by SQS dedupe / the idempotency layer before reaching the handler. */
  readonly duplicatesAbsorbed: number;
  /** Events whose user handler ran more than once (idempotency failed). Should stay 0. */
  readonly handledTwice: number;
  readonly ageP50Ms?: number;
  readonly ageP99Ms?: number;
  /** Consumer handler failures (records reported in batchItemFailures). */
  readonly consumerFailures: number;
}

interface MutableTypeFlow {
  polled: number;
  published: number;
  consumed: number;
  lastAgeMs?: number;
}

/** Nearest-rank percentile of an unsorted sample; undefined for an empty sample. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** Milliseconds since epoch of a Bitrix24 event date, or undefined when unparsable. */
export function eventDateMs(date: string): number | undefined {
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? undefined : ms;
}

export class FlowStats {
  private readonly byType = new Map<string, MutableTypeFlow>();
  private readonly consumedKeys = new Map<string, Set<number>>();
  private readonly handled = new Map<string, number>();
  private readonly ages: number[] = [];
  private duplicates = 0;
  private twice = 0;
  private failures = 0;

  private flow(type: string): MutableTypeFlow {
    let flow = this.byType.get(type);
    if (flow === undefined) {
      flow = { polled: 0, published: 0, consumed: 0 };
      this.byType.set(type, flow);
    }
    return flow;
  }

  recordPolled(types: readonly string[]): void {
    for (const type of types) this.flow(type).polled += 1;
  }

  recordPublished(type: string): void {
    this.flow(type).published += 1;
  }

  /**
   * A queue message finished successfully (deleted from its queue).
   * Returns false when the same event had already been consumed (a duplicate absorbed).
   */
  recordConsumed(sourceId: string, eventId: number, type: string, ageMs: number | undefined): boolean {
    let ids = this.consumedKeys.get(sourceId);
    if (ids === undefined) {
      ids = new Set();
      this.consumedKeys.set(sourceId, ids);
    }
    if (ids.has(eventId)) {
      this.duplicates += 1;
      return false;
    }
    ids.add(eventId);
    const flow = this.flow(type);
    flow.consumed += 1;
    if (ageMs !== undefined) {
      flow.lastAgeMs = ageMs;
      this.ages.push(ageMs);
    }
    return true;
  }

  recordConsumerFailure(): void {
    this.failures += 1;
  }

  /** The user handler ran for an event; a second run for the same event means idempotency failed. */
  recordHandled(sourceId: string, eventId: number): void {
    const key = `${sourceId}#${eventId}`;
    const count = (this.handled.get(key) ?? 0) + 1;
    this.handled.set(key, count);
    if (count === 2) this.twice += 1;
  }

  /** Event ids consumed for a source. */
  consumedIds(sourceId: string): ReadonlySet<number> {
    return this.consumedKeys.get(sourceId) ?? new Set();
  }

  snapshot(): FlowSnapshot {
    const types = [...this.byType.entries()]
      .map(([type, flow]) => ({ type, ...flow }))
      .sort((a, b) => a.type.localeCompare(b.type));
    const totals = types.reduce(
      (sum, t) => ({ polled: sum.polled + t.polled, published: sum.published + t.published, consumed: sum.consumed + t.consumed }),
      { polled: 0, published: 0, consumed: 0 },
    );
    let distinct = 0;
    for (const ids of this.consumedKeys.values()) distinct += ids.size;
    return {
      types,
      totals,
      distinctConsumed: distinct,
      duplicatesAbsorbed: this.duplicates,
      handledTwice: this.twice,
      ageP50Ms: percentile(this.ages, 50),
      ageP99Ms: percentile(this.ages, 99),
      consumerFailures: this.failures,
    };
  }
}
