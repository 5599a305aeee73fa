// Public types of the portal simulator (contract A).
import type { RawBitrixEvent } from '../shared/event-types.js';

export interface PortalSimulatorOptions {
  /** TCP port on 127.0.0.1. @default a free port */
  readonly port?: number;
  /** Clock in ms since epoch for event expiry (24 h), token expiry and the rate limit. @default Date.now */
  readonly now?: () => number;
  /** Leaky bucket per portal; `false` turns it off. @default { drainPerSecond: 2, maxQueued: 50 } */
  readonly rateLimit?: { readonly drainPerSecond: number; readonly maxQueued: number } | false;
  /** Lifetime of OAuth access tokens, seconds. @default 3600 */
  readonly accessTokenTtlSeconds?: number;
  /** Seed of the chat-activity generator (same seed + same calls → same events). @default 1 */
  readonly seed?: number;
  /** UTC offset of the portal's dates, minutes (e.g. 180 → `+03:00`). @default 180 */
  readonly utcOffsetMinutes?: number;
  /**
   * `Event.get` answer format: `'lastEventId'` answers like portals before
   * BOT-BC-0325-1 (change-log.md): `lastEventId` instead of `nextOffset`. @default 'nextOffset'
   */
  readonly eventGetFormat?: 'nextOffset' | 'lastEventId';
}

export type EventTarget = { readonly userId: number } | { readonly botId: number };

export type FaultSpec = { readonly method?: string; readonly times?: number } & (
  | { readonly kind: 'error'; readonly status: number; readonly code: string; readonly description?: string }
  | { readonly kind: 'latency'; readonly ms: number }
  | { readonly kind: 'reset' }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'html' }
  | { readonly kind: 'operation-time-limit'; readonly resetInSeconds?: number }
);

export type FaultKind = FaultSpec['kind'];

export interface CallRecord {
  /** REST method as called (without `.json`), or `oauth.token` for the token endpoint. */
  readonly method: string;
  readonly auth: 'webhook' | 'oauth' | 'none';
  readonly userId?: number;
  readonly botId?: number;
  readonly offset?: number;
  readonly limit?: number;
  readonly withUserEvents?: boolean;
  /** HTTP status sent (for a `reset` fault: the status of the partial answer). */
  readonly status: number;
  readonly errorCode?: string;
  /** Number of events answered by an `Event.get`. */
  readonly eventCount?: number;
  /** Fault applied to this call, if any. */
  readonly fault?: FaultKind;
  /** Simulator clock when the call arrived, ms. */
  readonly at: number;
  /**
   * Arrival order (1, 2, …). `calls` lists calls in the order they were
   * answered, which differs for a call held back by a latency fault.
   */
  readonly arrival: number;
}

/** A message posted through `im.message.add` / `imbot.message.add` / `imbot.v2.Chat.Message.send`. */
export interface SentMessage {
  readonly id: number;
  readonly method: string;
  readonly userId?: number;
  readonly botId?: number;
  readonly dialogId: string;
  readonly text: string;
  readonly at: number;
}

export interface PortalActivity {
  /** Records `count` realistic events for the target now and returns the recorded ones. */
  generate(target: EventTarget, count: number): RawBitrixEvent[];
  /** Steady trickle of `eventsPerSecond` events for the target (real time) until `stop()`. */
  start(target: EventTarget, eventsPerSecond: number): void;
  stop(): void;
  /** Events recorded by the generator so far. */
  readonly generatedCount: number;
}

export interface PortalFaults {
  inject(fault: FaultSpec): void;
  clear(): void;
  /** Faults applied to calls so far. */
  readonly injectedCount: number;
}

export interface PortalSimulator {
  readonly baseUrl: string;
  readonly portalHost: string;
  readonly oauthTokenUrl: string;
  addUser(input?: { name?: string }): { id: number; name: string };
  createWebhook(userId: number): string;
  registerApp(): { clientId: string; clientSecret: string };
  authorizeApp(
    clientId: string,
    userId: number,
  ): { accessToken: string; refreshToken: string; expiresIn: number; clientEndpoint: string };
  /** Makes the access tokens of one app (or all apps) expire now, so the next call answers `expired_token`. */
  expireAccessTokens(clientId?: string): void;
  registerBot(ownerUserId: number, input?: { code?: string; clientId?: string }): { botId: number; botToken: string };
  subscribe(userId: number): void;
  unsubscribe(userId: number): void;
  emit(target: EventTarget, type: string, data: unknown): RawBitrixEvent | undefined;
  readonly activity: PortalActivity;
  readonly faults: PortalFaults;
  readonly calls: readonly CallRecord[];
  clearCalls(): void;
  readonly sentMessages: readonly SentMessage[];
  pendingEvents(target: { userId: number } | { botId: number; withUserEvents?: boolean }): readonly RawBitrixEvent[];
  emittedEvents(target?: EventTarget): readonly RawBitrixEvent[];
  stop(): Promise<void>;
}
