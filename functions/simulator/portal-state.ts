// The portal's data: users, inbound webhooks, OAuth apps and tokens, bots,
// subscriptions and the per-reader event logs. No HTTP here; the REST methods
// and the test API both act on this state.
import { randomBytes } from 'node:crypto';
import type { RawBitrixEvent } from '../shared/event-types.js';
import { UnknownSimulatorEntityError } from './errors.js';
import { EventLog } from './event-log.js';
import { formatPortalDate } from './portal-date.js';
import type { EventTarget } from './types.js';

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
  readonly token: string;
  readonly log: EventLog;
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

  registerApp(): { clientId: string; clientSecret: string } {
    const clientId = `local.${secret(7)}`;
    const clientSecret = secret(24);
    this.apps.set(clientId, clientSecret);
    return { clientId, clientSecret };
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

  registerBot(ownerUserId: number, code: string | undefined, clientId: string | undefined): PortalBot {
    this.requireUser(ownerUserId);
    if (clientId !== undefined && !this.apps.has(clientId)) throw new UnknownSimulatorEntityError('app', clientId);
    const id = this.nextBotId++;
    const bot: PortalBot = { id, code: code ?? `bot_${id}`, ownerUserId, clientId, token: secret(16), log: new EventLog() };
    this.bots.set(id, bot);
    return bot;
  }

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
