// The poller's own check of a fetched page, on top of the client's schema
// validation: a page is used whole or not at all, so any doubt rejects it
// before anything is published or committed.
import type { EventPage } from '../shared/event-types.js';
import { BadPageError } from './errors.js';

function problemOf(page: EventPage, fromOffset: number | undefined): string | undefined {
  if (typeof page !== 'object' || page === null) return 'the page is not an object';
  const events: unknown = page.events;
  if (!Array.isArray(events)) return 'events is missing or not an array';
  if (!Number.isSafeInteger(page.nextOffset) || page.nextOffset < 0) return `nextOffset ${String(page.nextOffset)} is not a non-negative integer`;
  if (typeof page.hasMore !== 'boolean') return 'hasMore is missing or not a boolean';
  if (fromOffset !== undefined && page.nextOffset < fromOffset) {
    return `nextOffset ${page.nextOffset} is behind the offset sent (${fromOffset}); committing it would move the offset backwards`;
  }
  let previous = -1;
  for (const [index, event] of page.events.entries()) {
    if (typeof event !== 'object' || event === null) return `events[${index}] is not an object`;
    if (!Number.isSafeInteger(event.eventId) || event.eventId <= 0) return `events[${index}].eventId ${String(event.eventId)} is not a positive integer`;
    if (event.eventId <= previous) return `events[${index}].eventId ${event.eventId} does not increase (previous ${previous})`;
    if (typeof event.type !== 'string' || event.type.length === 0) return `events[${index}].type is missing`;
    if (typeof event.date !== 'string' || event.date.length === 0) return `events[${index}].date is missing`;
    if (event.data === undefined) return `events[${index}].data is missing`;
    previous = event.eventId;
  }
  if (page.events.length > 0 && page.nextOffset <= previous) {
    return `nextOffset ${page.nextOffset} is not past the last event id ${previous}; the same events would be delivered forever`;
  }
  return undefined;
}

/** Throws BadPageError when the page breaks the Event.get protocol; returns it unchanged otherwise. */
export function checkPage(sourceId: string, page: EventPage, fromOffset: number | undefined): EventPage {
  const problem = problemOf(page, fromOffset);
  if (problem !== undefined) {
    throw new BadPageError(fromOffset === undefined ? { sourceId, problem } : { sourceId, offset: fromOffset, problem });
  }
  return page;
}
