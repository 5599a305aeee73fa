// Recorded, not yet confirmed events of one reader (a user or a bot), in
// eventId order. Confirmation and expiry only ever remove from the head, so
// the log is an array plus a start index (amortised O(1) per removal, no
// shifting), compacted once the dead prefix outweighs the live part.
import type { RawBitrixEvent } from '../shared/event-types.js';

export interface StoredEvent {
  readonly event: RawBitrixEvent;
  /** Simulator clock (ms) when the event was recorded; it expires `ttlMs` later. */
  readonly recordedAt: number;
}

const COMPACT_MIN = 1024;

export class EventLog {
  private items: StoredEvent[] = [];
  private start = 0;
  /** One past the highest eventId removed (confirmed or expired); 0 before any removal. */
  private removedUpTo = 0;

  get size(): number {
    return this.items.length - this.start;
  }

  /** Offset to hand out when a page is empty and the caller sent none. */
  get watermark(): number {
    return this.removedUpTo;
  }

  append(event: RawBitrixEvent, recordedAt: number): void {
    this.items.push({ event, recordedAt });
  }

  /** Removes every event recorded at or before `nowMs - ttlMs`. */
  expire(nowMs: number, ttlMs: number): void {
    const cutoff = nowMs - ttlMs;
    while (this.start < this.items.length) {
      const head = this.items[this.start];
      if (head === undefined || head.recordedAt > cutoff) break;
      this.removeHead(head);
    }
    this.compact();
  }

  /** Confirms (deletes) every event with `eventId < offset`. */
  confirm(offset: number): void {
    while (this.start < this.items.length) {
      const head = this.items[this.start];
      if (head === undefined || head.event.eventId >= offset) break;
      this.removeHead(head);
    }
    this.compact();
  }

  /** The `i`-th pending event (0 = oldest), or undefined. */
  at(i: number): StoredEvent | undefined {
    return this.items[this.start + i];
  }

  pending(): RawBitrixEvent[] {
    const out: RawBitrixEvent[] = [];
    for (let i = this.start; i < this.items.length; i++) {
      const item = this.items[i];
      if (item !== undefined) out.push(item.event);
    }
    return out;
  }

  private removeHead(head: StoredEvent): void {
    this.start += 1;
    if (head.event.eventId + 1 > this.removedUpTo) this.removedUpTo = head.event.eventId + 1;
  }

  private compact(): void {
    if (this.start >= COMPACT_MIN && this.start * 2 >= this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }
}

export interface EventPageResult {
  readonly events: RawBitrixEvent[];
  readonly nextOffset: number;
  readonly hasMore: boolean;
}

/**
 * Im/imbot `Event.get` semantics over one or more logs (a bot's log merged with
 * its owner's user log for `withUserEvents`): confirm below `offset`, expire,
 * then return up to `limit` events in eventId order. `nextOffset` is the last
 * returned eventId + 1; on an empty page it is the offset sent, or (no offset)
 * one past the highest event ever removed from these logs.
 */
export function readPage(
  logs: readonly EventLog[],
  params: { offset: number | undefined; limit: number; nowMs: number; ttlMs: number },
): EventPageResult {
  for (const log of logs) {
    log.expire(params.nowMs, params.ttlMs);
    if (params.offset !== undefined) log.confirm(params.offset);
  }
  const events: RawBitrixEvent[] = [];
  const cursors = logs.map(() => 0);
  while (events.length < params.limit) {
    let best = -1;
    let bestId = Number.POSITIVE_INFINITY;
    for (let l = 0; l < logs.length; l++) {
      const item = logs[l]?.at(cursors[l] ?? 0);
      if (item !== undefined && item.event.eventId < bestId) {
        best = l;
        bestId = item.event.eventId;
      }
    }
    if (best < 0) break;
    const item = logs[best]?.at(cursors[best] ?? 0);
    if (item === undefined) break;
    events.push(item.event);
    cursors[best] = (cursors[best] ?? 0) + 1;
  }
  const hasMore = logs.some((log, l) => log.size > (cursors[l] ?? 0));
  const last = events[events.length - 1];
  const nextOffset =
    last !== undefined
      ? last.eventId + 1
      : (params.offset ?? logs.reduce((max, log) => Math.max(max, log.watermark), 0));
  return { events, nextOffset, hasMore };
}
