// Bitrix24 messenger event types delivered by `im.v2.Event.get` (user events)
// and `imbot.v2.Event.get` (bot events in fetch mode). New types may appear at
// any time: code must route an unknown type to the catch-all, never drop it.

export const USER_EVENT_TYPES = [
  'ONIMV2MESSAGEADD',
  'ONIMV2MESSAGEUPDATE',
  'ONIMV2MESSAGEDELETE',
  'ONIMV2REACTIONCHANGE',
  'ONIMV2JOINCHAT',
] as const;

export const BOT_EVENT_TYPES = [
  'ONIMBOTV2MESSAGEADD',
  'ONIMBOTV2MESSAGEUPDATE',
  'ONIMBOTV2MESSAGEDELETE',
  'ONIMBOTV2REACTIONCHANGE',
  'ONIMBOTV2COMMANDADD',
  'ONIMBOTV2JOINCHAT',
  'ONIMBOTV2CONTEXTGET',
  'ONIMBOTV2DELETE',
] as const;

export type UserEventType = (typeof USER_EVENT_TYPES)[number];
export type BotEventType = (typeof BOT_EVENT_TYPES)[number];
export type KnownEventType = UserEventType | BotEventType;

export const KNOWN_EVENT_TYPES: readonly KnownEventType[] = [...USER_EVENT_TYPES, ...BOT_EVENT_TYPES];

export function isKnownEventType(type: string): type is KnownEventType {
  return (KNOWN_EVENT_TYPES as readonly string[]).includes(type);
}

/** One event as `Event.get` returns it, after the envelope has been validated. */
export interface RawBitrixEvent {
  readonly eventId: number;
  readonly type: string;
  /** ISO 8601 with offset, as Bitrix24 sends it, e.g. `2025-01-15T10:30:00+02:00`. */
  readonly date: string;
  readonly data: unknown;
}

/**
 * An event of a page that is not valid (see validateEventPage in
 * functions/bitrix24/response.ts): kept raw with the reason, so the poller can
 * quarantine it and commit past it instead of stalling the whole source.
 */
export interface RejectedEvent {
  /** Index in the page's `events` array. */
  readonly position: number;
  /** The event's id when it is a positive safe integer. */
  readonly eventId?: number;
  /** What is wrong, naming the field (e.g. `result.events[3].date is not an ISO 8601 date ("")`). */
  readonly reason: string;
  /** The event exactly as the portal sent it. */
  readonly raw: unknown;
}

/** One page of `im.v2.Event.get` / `imbot.v2.Event.get`. */
export interface EventPage {
  readonly events: readonly RawBitrixEvent[];
  readonly nextOffset: number;
  readonly hasMore: boolean;
  /** Events of the page that failed validation (absent or empty when all were valid). */
  readonly rejected?: readonly RejectedEvent[];
}
