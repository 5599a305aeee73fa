// Public types of the portal simulator (contract A).
import type { RawBitrixEvent } from '../shared/event-types.js';
import type { AppEventDelivery, AppEventRecord, InstallAppInput, UninstallAppInput } from './app-install.js';

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
   * Answer every REST call with `400 INVALID_REQUEST` ("HTTPS required", the
   * code's documented meaning), as a portal does for plain-HTTP calls. @default false
   */
  readonly requireHttps?: boolean;
  /**
   * `Event.get` answer format: `'lastEventId'` answers like portals before
   * BOT-BC-0325-1 (change-log.md): `lastEventId` instead of `nextOffset`. @default 'nextOffset'
   */
  readonly eventGetFormat?: 'nextOffset' | 'lastEventId';
}

/** Bot set-up from tests (the REST way is imbot.v2.Bot.register). */
export interface BotInput {
  readonly code?: string;
  /** OAuth app that owns the bot; without it the bot belongs to the owner's webhooks. */
  readonly clientId?: string;
  /** index.md "Bot Types": `bot` (default) and `openline` see group messages only when @mentioned; `supervisor` and `personal` see all. */
  readonly type?: 'bot' | 'supervisor' | 'personal' | 'openline';
  /** ≤ 40 characters; generated when absent. */
  readonly botToken?: string;
  readonly name?: string;
}

/** Where a simulated user speaks: a `dialogId` as that user sees it (`chat5`, or a user/bot id for 1:1), or a group chat id. */
export type SayWhere = { readonly dialogId: string } | { readonly chatId: number };

export type SayInput = SayWhere & {
  readonly fromUserId: number;
  readonly text: string;
  /** For a slash command: how it was given. @default 'textarea' */
  readonly commandContext?: 'textarea' | 'keyboard' | 'menu';
};

export interface SaidMessage {
  readonly messageId: number;
  readonly chatId: number;
  /** The dialog id as the speaker sees it. */
  readonly dialogId: string;
}

export interface BotCallRecord {
  readonly method: string;
  readonly botId: number;
  readonly created?: boolean;
  readonly at: number;
}

/** What bots did through the imbot.v2 methods, for assertions (secrets never recorded). */
export interface SimulatorRecords {
  /** Messages posted by im.message.add / imbot.message.add / imbot.v2.Chat.Message.send / Command.answer (same list as `sentMessages`). */
  readonly messages: SentMessage[];
  readonly edits: { readonly botId: number; readonly messageId: number; readonly text: string; readonly at: number }[];
  readonly deletes: { readonly botId: number; readonly messageId: number; readonly complete: boolean; readonly at: number }[];
  readonly reads: { readonly botId: number; readonly dialogId: string; readonly messageId?: number; readonly at: number }[];
  readonly typing: { readonly botId: number; readonly dialogId: string; readonly statusMessageCode?: string; readonly duration?: number; readonly at: number }[];
  readonly commandAnswers: {
    readonly botId: number;
    readonly commandId: number;
    readonly messageId: number;
    readonly dialogId: string;
    readonly text: string;
    readonly answerId: number;
    readonly at: number;
  }[];
  readonly botCalls: BotCallRecord[];
  /** Reactions set by imbot.v2.Chat.Message.Reaction.add (botId) or im.message.like (userId). */
  readonly reactions: { readonly botId?: number; readonly userId?: number; readonly messageId: number; readonly reaction: string; readonly at: number }[];
  /** What a user source did besides posting (api-reference/chats/messages/): im.message.update, im.dialog.read, im.dialog.writing. */
  readonly userActions: {
    readonly method: 'im.message.update' | 'im.dialog.read' | 'im.dialog.writing';
    readonly userId: number;
    readonly dialogId?: string;
    readonly messageId?: number;
    readonly text?: string;
    readonly at: number;
  }[];
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
  /** The call carried a non-empty `botToken` (its value is never recorded). */
  readonly botTokenSent?: boolean;
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
  /** An OAuth app; `fixed` credentials make one app installable on several simulators (portals, each its own member_id). */
  registerApp(fixed?: { clientId: string; clientSecret: string }): { clientId: string; clientSecret: string };
  /** Installs the app and POSTs ONAPPINSTALL (form-encoded, tokens + application_token) to `handlerUrl` (app-install.ts). */
  installApp(input: InstallAppInput): Promise<AppEventDelivery>;
  /** Revokes the app's tokens and POSTs ONAPPUNINSTALL (no tokens) to the handlers the app bound for it (event.bind). */
  uninstallApp(input: UninstallAppInput): Promise<AppEventDelivery>;
  /**
   * A new version of an installed app: its event handlers are removed (event-bind.md: "When an application
   * is deleted or updated, its actions will be removed … set from scratch in the installer of each
   * version") and the installer runs again — ONAPPINSTALL of `version` to `handlerUrl`, same application_token.
   */
  updateApp(input: InstallAppInput & { readonly version: string }): Promise<AppEventDelivery>;
  /** ONAPPINSTALL / ONAPPUNINSTALL deliveries so far (no secrets). */
  readonly appEvents: readonly AppEventRecord[];
  authorizeApp(
    clientId: string,
    userId: number,
  ): { accessToken: string; refreshToken: string; expiresIn: number; clientEndpoint: string };
  /** Makes the access tokens of one app (or all apps) expire now, so the next call answers `expired_token`. */
  expireAccessTokens(clientId?: string): void;
  /** Registers a fetch-mode bot (idempotent per code and app, as imbot.v2.Bot.register). */
  registerBot(ownerUserId: number, input?: BotInput): { botId: number; botToken: string };
  /** imbot.v2.Bot.unregister: the bot gets ONIMBOTV2DELETE (its last event) and leaves every chat. */
  unregisterBot(botId: number): RawBitrixEvent | undefined;
  /** A group chat; members may include bots (no join events for the initial members). */
  createChat(input: { ownerId: number; name?: string; memberIds?: readonly number[] }): { chatId: number; dialogId: string };
  /** A user writes a message; every reader that would see it gets its event (bots by the rules of their type, commands as ONIMBOTV2COMMANDADD). */
  say(input: SayInput): SaidMessage;
  edit(input: { fromUserId: number; messageId: number; text: string }): void;
  deleteMessage(input: { fromUserId: number; messageId: number }): void;
  react(input: { fromUserId: number; messageId: number; reaction?: string; action?: 'add' | 'delete' }): void;
  /** Adds a user or a bot to a group chat; an added bot gets ONIMBOTV2JOINCHAT with `user` = who added it. */
  addToChat(input: { chatId: number; memberId: number; byUserId: number }): void;
  /** Presses a keyboard button that runs a command (ONIMBOTV2COMMANDADD with context "keyboard"). */
  pressButton(input: SayWhere & { fromUserId: number; command: string; params?: string }): SaidMessage;
  /** A user opens the bot's dialog with a context (ONIMBOTV2CONTEXTGET, imbot.v2/bot-context.md). */
  sendContext(input: { botId: number; fromUserId: number; context: Readonly<Record<string, unknown>> }): RawBitrixEvent | undefined;
  readonly records: SimulatorRecords;
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
