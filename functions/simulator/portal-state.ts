// The portal's data: users, inbound webhooks, OAuth apps and tokens, bots,
// subscriptions and the per-reader event logs. No HTTP here; the REST methods
// and the test API both act on this state.
import { randomBytes } from 'node:crypto';
import type { RawBitrixEvent } from '../shared/event-types.js';
import { SimulatorOptionError, UnknownSimulatorEntityError } from './errors.js';
import { EventLog } from './event-log.js';
import { makeBotObject, type BotObject, type BotType } from './payloads.js';
import { formatPortalDate } from './portal-date.js';
import type { EventTarget } from './types.js';

/** At most 100 bots per application (imbot.v2/bots/bot-register.md, BOT_LIMIT_EXCEEDED). */
export const MAX_BOTS_PER_APP = 100;
/** `botToken` is at most 40 characters (imbot.v2/bots/bot-register.md, change-log.md: BOT_TOKEN_INVALID_LENGTH). */
export const MAX_BOT_TOKEN_LENGTH = 40;

/** A slash command of a bot (entities.md, Command). */
export interface PortalCommand {
  readonly id: number;
  readonly botId: number;
  /** With its slash, e.g. `/help`. */
  readonly command: string;
  readonly title: string;
  readonly params: string;
  readonly common: boolean;
  readonly hidden: boolean;
  readonly extranetSupport: boolean;
}

export interface BotRegistration {
  readonly code?: string | undefined;
  readonly clientId?: string | undefined;
  readonly type?: BotType | undefined;
  readonly token?: string | undefined;
  readonly name?: string | undefined;
  readonly lastName?: string | undefined;
  readonly workPosition?: string | undefined;
  readonly color?: string | undefined;
  readonly gender?: 'M' | 'F' | undefined;
  readonly isHidden?: boolean | undefined;
  readonly isReactionsEnabled?: boolean | undefined;
  readonly isSupportOpenline?: boolean | undefined;
  readonly backgroundId?: string | null | undefined;
}

export type BotRegisterOutcome =
  | { readonly ok: true; readonly bot: PortalBot; readonly created: boolean }
  | { readonly ok: false; readonly code: 'BOT_CODE_ALREADY_TAKEN' | 'BOT_LIMIT_EXCEEDED' | 'BOT_TOKEN_INVALID_LENGTH'; readonly description: string };

export const EVENT_TTL_MS = 24 * 60 * 60 * 1000;
export const REFRESH_TOKEN_TTL_MS = 180 * 24 * 60 * 60 * 1000;

export interface PortalUser {
  readonly id: number;
  readonly name: string;
}

export interface PortalBot {
  readonly id: number;
  readonly code: string;
  readonly ownerUserId: number;
  /** App that registered the bot (OAuth); undefined for a bot registered through a webhook. */
  readonly clientId: string | undefined;
  token: string;
  readonly log: EventLog;
  type: BotType;
  name: string;
  lastName: string;
  workPosition: string;
  color: string;
  gender: 'M' | 'F';
  isHidden: boolean;
  isReactionsEnabled: boolean;
  isSupportOpenline: boolean;
  backgroundId: string | null;
  /** Set by unregister: the bot answers BOT_NOT_FOUND, its log stays readable (ONIMBOTV2DELETE is its last event). */
  deleted: boolean;
  readonly commands: Map<number, PortalCommand>;
  countMessage: number;
  readonly chats: Set<number>;
  readonly users: Set<number>;
}

/** The application a bot belongs to: its OAuth app, or for webhook registration the webhook's user. */
export function appKeyOf(clientId: string | undefined, userId: number): string {
  return clientId === undefined ? `webhook:${userId}` : `app:${clientId}`;
}

/** The full bot object of fetch-mode events and Bot.get/list (entities.md, Bot, extended format). */
export function botObjectOf(bot: PortalBot): BotObject {
  return makeBotObject({
    id: bot.id,
    code: bot.code,
    type: bot.type,
    isHidden: bot.isHidden,
    isSupportOpenline: bot.isSupportOpenline,
    isReactionsEnabled: bot.isReactionsEnabled,
    backgroundId: bot.backgroundId,
    countMessage: bot.countMessage,
    countCommand: bot.commands.size,
    countChat: bot.chats.size,
    countUser: bot.users.size,
  });
}

interface AccessToken {
  readonly clientId: string;
  readonly userId: number;
  readonly expiresAt: number;
}

interface RefreshToken {
  readonly clientId: string;
  readonly userId: number;
  readonly expiresAt: number;
}

export type AccessTokenCheck =
  | { readonly ok: true; readonly clientId: string; readonly userId: number }
  | { readonly ok: false; readonly reason: 'unknown' | 'expired' };

export type RefreshOutcome =
  | {
      readonly ok: true;
      readonly accessToken: string;
      readonly refreshToken: string;
      readonly userId: number;
      readonly expiresAt: number;
    }
  | { readonly ok: false; readonly error: 'invalid_client' | 'invalid_grant' | 'invalid_request'; readonly description: string };

interface EmittedRecord {
  readonly event: RawBitrixEvent;
  readonly userId: number | undefined;
  readonly botId: number | undefined;
}

function secret(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export class PortalState {
  readonly memberId = secret(16);
  private readonly users = new Map<number, PortalUser>();
  private readonly webhooks = new Map<string, number>(); // `${userId}/${code}` → userId
  private readonly apps = new Map<string, string>(); // clientId → clientSecret
  private readonly installs = new Map<string, { readonly applicationToken: string; readonly userId: number }>(); // clientId → install
  private readonly eventBindings = new Map<string, Array<{ readonly event: string; readonly handler: string; readonly authType: number }>>(); // clientId → event.bind handlers
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly refreshTokens = new Map<string, RefreshToken>();
  private readonly bots = new Map<number, PortalBot>();
  private readonly subscribed = new Set<number>();
  private readonly userLogs = new Map<number, EventLog>();
  private readonly emitted: EmittedRecord[] = [];
  private nextUserId = 1;
  private nextBotId = 1001;
  private nextEventId = 1;
  private lastDateSecond = Number.NaN;
  private lastDate = '';

  constructor(
    private readonly now: () => number,
    private readonly accessTokenTtlMs: number,
    readonly utcOffsetMinutes: number,
  ) {}

  // ---- users, webhooks -------------------------------------------------------

  addUser(name?: string): PortalUser {
    const id = this.nextUserId++;
    const user = { id, name: name ?? `User ${id}` };
    this.users.set(id, user);
    return user;
  }

  user(id: number): PortalUser | undefined {
    return this.users.get(id);
  }

  requireUser(id: number): PortalUser {
    const user = this.users.get(id);
    if (user === undefined) throw new UnknownSimulatorEntityError('user', id);
    return user;
  }

  createWebhookCode(userId: number): string {
    this.requireUser(userId);
    const code = secret(8);
    this.webhooks.set(`${userId}/${code}`, userId);
    return code;
  }

  webhookUser(userId: number, code: string): number | undefined {
    return this.webhooks.get(`${userId}/${code}`);
  }

  // ---- OAuth -----------------------------------------------------------------

  /** An app on this portal; `fixed` gives it known credentials (one Marketplace app installed on several simulated portals). */
  registerApp(fixed?: { readonly clientId: string; readonly clientSecret: string }): { clientId: string; clientSecret: string } {
    const clientId = fixed?.clientId ?? `local.${secret(7)}`;
    const clientSecret = fixed?.clientSecret ?? secret(24);
    this.apps.set(clientId, clientSecret);
    return { clientId, clientSecret };
  }

  /**
   * The app is installed on this portal (app-install.ts posts ONAPPINSTALL):
   * one `application_token` per install, the same while it stays installed;
   * a new one after an uninstall.
   */
  installApp(clientId: string, userId: number): { applicationToken: string; created: boolean } {
    if (!this.apps.has(clientId)) throw new UnknownSimulatorEntityError('app', clientId);
    this.requireUser(userId);
    const existing = this.installs.get(clientId);
    if (existing !== undefined) return { applicationToken: existing.applicationToken, created: false };
    const applicationToken = secret(16);
    this.installs.set(clientId, { applicationToken, userId });
    return { applicationToken, created: true };
  }

  /**
   * event.bind (api-reference/events/event-bind.md): an app's handler for an event. Only within
   * application (OAuth) authorization; the same event and handler with the same auth_type once.
   * Returns false for a handler already bound (real portals answer an error; its code is not documented).
   */
  bindEvent(clientId: string, event: string, handler: string, authType = 0): boolean {
    const bindings = this.eventBindings.get(clientId) ?? [];
    const key = event.toUpperCase();
    if (bindings.some((b) => b.event === key && b.handler === handler && b.authType === authType)) return false;
    bindings.push({ event: key, handler, authType });
    this.eventBindings.set(clientId, bindings);
    return true;
  }

  /** event.unbind: removes the app's handlers of `event` (one handler, or all of the event's); returns how many. */
  unbindEvent(clientId: string, event: string, handler?: string): number {
    const bindings = this.eventBindings.get(clientId) ?? [];
    const key = event.toUpperCase();
    const kept = bindings.filter((b) => !(b.event === key && (handler === undefined || b.handler === handler)));
    this.eventBindings.set(clientId, kept);
    return bindings.length - kept.length;
  }

  /** An update or an uninstall removes the app's handlers (event-bind.md, settings/app-uninstallation.md). */
  dropEventBindings(clientId: string): void {
    this.eventBindings.delete(clientId);
  }

  /** event.get: the app's bound handlers. */
  eventBindingsOf(clientId: string): readonly { event: string; handler: string; authType: number }[] {
    return this.eventBindings.get(clientId) ?? [];
  }

  /** The `application_token` of the app's install on this portal, if installed. */
  installOf(clientId: string): { applicationToken: string; userId: number } | undefined {
    return this.installs.get(clientId);
  }

  /**
   * The app is removed: every token it holds is revoked (on-app-uninstall.md: "all access permissions
   * for the application to the API are revoked"). Returns the install's `application_token`.
   */
  uninstallApp(clientId: string): string | undefined {
    const install = this.installs.get(clientId);
    if (install === undefined) return undefined;
    this.installs.delete(clientId);
    // settings/app-uninstallation.md: "event handlers registered by the application" are deleted with it.
    this.dropEventBindings(clientId);
    for (const [token, entry] of this.accessTokens) if (entry.clientId === clientId) this.accessTokens.delete(token);
    for (const [token, entry] of this.refreshTokens) if (entry.clientId === clientId) this.refreshTokens.delete(token);
    return install.applicationToken;
  }

  authorizeApp(clientId: string, userId: number): { accessToken: string; refreshToken: string; expiresAt: number } {
    if (!this.apps.has(clientId)) throw new UnknownSimulatorEntityError('app', clientId);
    this.requireUser(userId);
    return this.issueTokens(clientId, userId);
  }

  checkAccessToken(token: string): AccessTokenCheck {
    const entry = this.accessTokens.get(token);
    if (entry === undefined) return { ok: false, reason: 'unknown' };
    if (entry.expiresAt <= this.now()) return { ok: false, reason: 'expired' };
    return { ok: true, clientId: entry.clientId, userId: entry.userId };
  }

  /** `grant_type=refresh_token`: single-use refresh tokens, rotated on every renewal. */
  refresh(clientId: string, clientSecret: string, refreshToken: string): RefreshOutcome {
    const expected = this.apps.get(clientId);
    if (expected === undefined || expected !== clientSecret) {
      return { ok: false, error: 'invalid_client', description: 'Invalid client id or secret' };
    }
    const entry = this.refreshTokens.get(refreshToken);
    if (entry === undefined || entry.clientId !== clientId || entry.expiresAt <= this.now()) {
      return { ok: false, error: 'invalid_grant', description: 'Invalid grant' };
    }
    this.refreshTokens.delete(refreshToken);
    const issued = this.issueTokens(clientId, entry.userId);
    return { ok: true, ...issued, userId: entry.userId };
  }

  /** Makes every access token of the app expire now (tests of `expired_token`). */
  expireAccessTokens(clientId?: string): void {
    const at = this.now();
    for (const [token, entry] of this.accessTokens) {
      if (clientId === undefined || entry.clientId === clientId) this.accessTokens.set(token, { ...entry, expiresAt: at });
    }
  }

  private issueTokens(clientId: string, userId: number): { accessToken: string; refreshToken: string; expiresAt: number } {
    const at = this.now();
    const accessToken = secret(24);
    const refreshToken = secret(24);
    const expiresAt = at + this.accessTokenTtlMs;
    this.accessTokens.set(accessToken, { clientId, userId, expiresAt });
    this.refreshTokens.set(refreshToken, { clientId, userId, expiresAt: at + REFRESH_TOKEN_TTL_MS });
    return { accessToken, refreshToken, expiresAt };
  }

  // ---- bots ------------------------------------------------------------------

  /**
   * imbot.v2.Bot.register: idempotent per `code` and application (a repeated
   * call returns the existing bot unchanged); a code of another application →
   * BOT_CODE_ALREADY_TAKEN; 100 bots per application; token ≤ 40 characters.
   */
  registerBot(ownerUserId: number, input: BotRegistration = {}): BotRegisterOutcome {
    this.requireUser(ownerUserId);
    const { clientId } = input;
    if (clientId !== undefined && !this.apps.has(clientId)) throw new UnknownSimulatorEntityError('app', clientId);
    const appKey = appKeyOf(clientId, ownerUserId);
    if (input.code !== undefined) {
      const existing = [...this.bots.values()].find((b) => !b.deleted && b.code === input.code);
      if (existing !== undefined) {
        if (appKeyOf(existing.clientId, existing.ownerUserId) === appKey) return { ok: true, bot: existing, created: false };
        return { ok: false, code: 'BOT_CODE_ALREADY_TAKEN', description: 'Bot code is already taken by another application' };
      }
    }
    if (input.token !== undefined && input.token.length > MAX_BOT_TOKEN_LENGTH) {
      return { ok: false, code: 'BOT_TOKEN_INVALID_LENGTH', description: `botToken must be at most ${MAX_BOT_TOKEN_LENGTH} characters` };
    }
    if ([...this.bots.values()].filter((b) => !b.deleted && appKeyOf(b.clientId, b.ownerUserId) === appKey).length >= MAX_BOTS_PER_APP) {
      return { ok: false, code: 'BOT_LIMIT_EXCEEDED', description: `Application bot limit exceeded (${MAX_BOTS_PER_APP} bots)` };
    }
    const id = this.nextBotId++;
    const bot: PortalBot = {
      id,
      code: input.code ?? `bot_${id}`,
      ownerUserId,
      clientId,
      token: input.token ?? secret(16),
      log: new EventLog(),
      type: input.type ?? 'bot',
      name: input.name ?? `Bot ${id}`,
      lastName: input.lastName ?? '',
      workPosition: input.workPosition ?? '',
      color: input.color ?? 'AQUA',
      gender: input.gender ?? 'M',
      isHidden: input.isHidden ?? false,
      isReactionsEnabled: input.isReactionsEnabled ?? true,
      isSupportOpenline: input.isSupportOpenline ?? false,
      backgroundId: input.backgroundId ?? null,
      deleted: false,
      commands: new Map(),
      countMessage: 0,
      chats: new Set(),
      users: new Set(),
    };
    this.bots.set(id, bot);
    return { ok: true, bot, created: true };
  }

  /** Test set-up: registers or throws (with a message naming the code). */
  requireRegisteredBot(ownerUserId: number, input: BotRegistration = {}): PortalBot {
    const outcome = this.registerBot(ownerUserId, input);
    if (!outcome.ok) throw new SimulatorOptionError(`registerBot: ${outcome.code}: ${outcome.description}.`);
    return outcome.bot;
  }

  allBots(): PortalBot[] {
    return [...this.bots.values()];
  }

  private nextCommandId = 1;

  addCommand(bot: PortalBot, command: Omit<PortalCommand, 'id' | 'botId'>): PortalCommand {
    const existing = [...bot.commands.values()].find((c) => c.command === command.command);
    if (existing !== undefined) return existing;
    const registered: PortalCommand = { id: this.nextCommandId++, botId: bot.id, ...command };
    bot.commands.set(registered.id, registered);
    return registered;
  }

  /** The bot with the given id, also when it was unregistered (its log stays readable). */
  bot(id: number): PortalBot | undefined {
    return this.bots.get(id);
  }

  requireBot(id: number): PortalBot {
    const bot = this.bots.get(id);
    if (bot === undefined) throw new UnknownSimulatorEntityError('bot', id);
    return bot;
  }

  // ---- subscriptions and events ---------------------------------------------

  subscribe(userId: number): void {
    this.subscribed.add(userId);
  }

  unsubscribe(userId: number): void {
    this.subscribed.delete(userId);
  }

  isSubscribed(userId: number): boolean {
    return this.subscribed.has(userId);
  }

  userLog(userId: number): EventLog {
    let log = this.userLogs.get(userId);
    if (log === undefined) {
      log = new EventLog();
      this.userLogs.set(userId, log);
    }
    return log;
  }

  /** Records an event for a subscribed user or a bot; undefined when a user is not subscribed. */
  emit(target: EventTarget, type: string, data: unknown): RawBitrixEvent | undefined {
    let log: EventLog;
    let userId: number | undefined;
    let botId: number | undefined;
    if ('botId' in target) {
      log = this.requireBot(target.botId).log;
      botId = target.botId;
    } else {
      this.requireUser(target.userId);
      if (!this.subscribed.has(target.userId)) return undefined;
      log = this.userLog(target.userId);
      userId = target.userId;
    }
    const at = this.now();
    const event: RawBitrixEvent = { eventId: this.nextEventId++, type, date: this.dateOf(at), data };
    log.append(event, at);
    this.emitted.push({ event, userId, botId });
    return event;
  }

  /** Event dates have second precision: format once per second (hot path of the benchmarks). */
  private dateOf(at: number): string {
    const second = Math.floor(at / 1000);
    if (second !== this.lastDateSecond) {
      this.lastDateSecond = second;
      this.lastDate = formatPortalDate(at, this.utcOffsetMinutes);
    }
    return this.lastDate;
  }

  pending(target: { userId: number } | { botId: number; withUserEvents?: boolean }): RawBitrixEvent[] {
    const logs: EventLog[] = [];
    if ('botId' in target) {
      const bot = this.requireBot(target.botId);
      logs.push(bot.log);
      if (target.withUserEvents === true) logs.push(this.userLog(bot.ownerUserId));
    } else {
      logs.push(this.userLog(target.userId));
    }
    const at = this.now();
    for (const log of logs) log.expire(at, EVENT_TTL_MS);
    return logs.flatMap((log) => log.pending()).sort((a, b) => a.eventId - b.eventId);
  }

  emittedEvents(target?: EventTarget): RawBitrixEvent[] {
    if (target === undefined) return this.emitted.map((r) => r.event);
    if ('botId' in target) return this.emitted.filter((r) => r.botId === target.botId).map((r) => r.event);
    return this.emitted.filter((r) => r.userId === target.userId).map((r) => r.event);
  }
}
