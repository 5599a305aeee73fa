// A bot source whose bot was removed (issue 12 §2). ONIMBOTV2DELETE is "the
// last event the bot will receive" (imbot.v2/events/events.md#onimbotv2delete);
// after it every imbot.v2.Event.get of that bot fails (BOT_NOT_FOUND), so
// polling on would only fail every minute. The poller therefore:
//   1. publishes and commits the page with the event as usual (the consumer's
//      onBotDeleted hook runs; nothing is lost),
//   2. records the removal on the source's state item (botRemovedAt, the bot id
//      and the event id) under its lease,
//   3. logs it and counts `BotDeleted` (alarmed: lib/parts/pipeline-alarms.ts),
//      and ends the run ('bot-removed');
// every later run finds the mark, polls nothing, says so again and counts
// `BotDeleted` once more, so the alarm stays on until an operator acts.
// The mark names the bot: a source configured with another bot id (registered
// again: `bot register`, new botId in the config) polls as before.
import type { SourceConfig } from '../shared/config.js';
import type { RawBitrixEvent } from '../shared/event-types.js';
import { POLLER_METRICS } from '../shared/observability.js';
import type { BotRemoval, Lease, PollerLogger, PollerMetrics, SourceState, SourceStateStore } from './ports.js';

export const BOT_DELETE_EVENT_TYPE = 'ONIMBOTV2DELETE';

function botIdOf(event: RawBitrixEvent): number | undefined {
  const data = typeof event.data === 'object' && event.data !== null ? (event.data as Record<string, unknown>) : {};
  const bot = typeof data.bot === 'object' && data.bot !== null ? (data.bot as Record<string, unknown>).id : undefined;
  // `botId` alone is accepted from older revisions (functions/consumers/events.ts, botDeleteData).
  const raw = bot ?? data.botId;
  const id = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** The removal of this source's bot among the events of a page, if any (a user source never has one). */
export function botRemovalIn(events: readonly RawBitrixEvent[], source: SourceConfig, now: number): BotRemoval | undefined {
  if (source.kind !== 'bot') return undefined;
  for (const event of events) {
    if (event.type !== BOT_DELETE_EVENT_TYPE) continue;
    const botId = botIdOf(event);
    if (botId !== undefined && (source.botId === undefined || botId === source.botId)) return { botId, eventId: event.eventId, at: now };
  }
  return undefined;
}

/** The recorded removal that still applies to the source as configured (same bot id), if any. */
export function standingBotRemoval(state: Pick<SourceState, 'botRemoved'>, source: SourceConfig): BotRemoval | undefined {
  const removal = state.botRemoved;
  if (removal === undefined || source.kind !== 'bot') return undefined;
  return source.botId === undefined || source.botId === removal.botId ? removal : undefined;
}

function notice(sourceId: string, removal: BotRemoval): string {
  return (
    `bot ${removal.botId} of source "${sourceId}" was removed from the portal (ONIMBOTV2DELETE, event ${removal.eventId}): ` +
    'the source is not polled any more. Register the bot again (`b24-pipeline bot register`) and set its new botId, or disable the source.'
  );
}

export interface BotRemovalDeps {
  readonly state: SourceStateStore;
  readonly logger: PollerLogger;
  readonly metrics: PollerMetrics;
}

/** Step 2–3 above, right after the page with the event was committed. */
export async function recordBotRemoval(deps: BotRemovalDeps, lease: Lease, removal: BotRemoval, log: Record<string, unknown>): Promise<void> {
  await deps.state.markBotRemoved?.(lease, removal);
  deps.metrics.count(POLLER_METRICS.botDeleted, 1);
  deps.logger.warn(notice(lease.sourceId, removal), { ...log, botId: removal.botId, eventId: removal.eventId });
}

/** A later run that finds the mark: nothing is polled, the removal is said and counted again. */
export function reportStandingBotRemoval(deps: Omit<BotRemovalDeps, 'state'>, sourceId: string, removal: BotRemoval, log: Record<string, unknown>): void {
  deps.metrics.count(POLLER_METRICS.botDeleted, 1);
  deps.logger.warn(notice(sourceId, removal), { ...log, botId: removal.botId, eventId: removal.eventId, removedAt: removal.at });
}
