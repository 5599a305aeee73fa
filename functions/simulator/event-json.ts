// Fast JSON for `Event.get` pages. Generated events share their `chat`,
// `user` and `bot` objects (immutable, marked shareable by the generator), so
// their JSON is computed once and spliced in; everything else goes through
// JSON.stringify. Output is byte-identical to JSON.stringify of the same page.
import type { RawBitrixEvent } from '../shared/event-types.js';
import type { EventPageResult } from './event-log.js';

export class EventJsonWriter {
  private readonly shareable = new WeakSet<object>();
  private readonly cache = new WeakMap<object, string>();

  /** Declares `value` immutable from now on, so its JSON may be cached. */
  markShareable<T extends object>(value: T): T {
    this.shareable.add(deepFreeze(value));
    return value;
  }

  event(event: RawBitrixEvent): string {
    return `{"eventId":${event.eventId},"type":${JSON.stringify(event.type)},"date":${JSON.stringify(event.date)},"data":${this.data(event.data)}}`;
  }

  /** `{"result":{events,nextOffset,hasMore},"time":…}` */
  page(result: EventPageResult, time: unknown): string {
    const events = result.events.map((e) => this.event(e)).join(',');
    return `{"result":{"events":[${events}],"nextOffset":${result.nextOffset},"hasMore":${result.hasMore}},"time":${JSON.stringify(time)}}`;
  }

  private data(data: unknown): string {
    if (typeof data !== 'object' || data === null || Array.isArray(data) || 'toJSON' in data) return JSON.stringify(data) ?? 'null';
    const parts: string[] = [];
    for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
      const json = this.value(value);
      if (json !== undefined) parts.push(`${JSON.stringify(key)}:${json}`);
    }
    return `{${parts.join(',')}}`;
  }

  private value(value: unknown): string | undefined {
    if (typeof value !== 'object' || value === null || !this.shareable.has(value)) {
      return JSON.stringify(value);
    }
    let json = this.cache.get(value);
    if (json === undefined) {
      json = JSON.stringify(value);
      this.cache.set(value, json);
    }
    return json;
  }
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null && !Object.isFrozen(child)) deepFreeze(child as object);
  }
  return Object.freeze(value);
}
