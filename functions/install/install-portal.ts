// The Bitrix24 side of an install, as two small ports with their HTTP adapters:
//   - InstallTokenVerifier: proves an ONAPPINSTALL by renewing its refresh
//     token at the (trusted) OAuth server with the app's client secret. Only
//     Bitrix24 can have issued a refresh token for this app, and the answer's
//     `member_id` must be the request's: a request forged with another
//     portal's tokens is refused. The renewed pair starts the stored chain.
//   - InstallPortal: the portal calls of an install — imbot.v2.Bot.list /
//     Bot.register (fetch mode, imbot.v2/bots/bot-register.md) and
//     im.v2.Event.subscribe — through the regular client (client.ts).
import { type Bitrix24Client } from '../bitrix24/client.js';
import { parseEndpoint } from '../bitrix24/endpoint.js';
import { Bitrix24Error, WriteOutcomeUnknownError } from '../bitrix24/errors.js';
import { requestOAuthTokens } from '../bitrix24/oauth-session.js';
import { SecretRedactor } from '../bitrix24/redact.js';
import { type StoredTokens } from '../bitrix24/token-store.js';
import { HttpTransport, type TransportOptions } from '../bitrix24/transport.js';
import { type AppSecret } from './app-credentials.js';
import { InstallPortalError, safeCause } from './errors.js';

export interface VerifiedInstall {
  readonly tokens: StoredTokens;
  /** `member_id` the OAuth server answered. */
  readonly memberId: string | undefined;
  /** `client_endpoint` the OAuth server answered. */
  readonly clientEndpoint: string | undefined;
}

export interface InstallTokenVerifier {
  /** Renews `refreshToken` at `tokenUrl`; rejects with the client's typed errors (InvalidGrantError, InvalidClientError, …). */
  exchange(tokenUrl: string, refreshToken: string): Promise<VerifiedInstall>;
}

export interface OAuthServerVerifierOptions {
  readonly app: AppSecret;
  readonly now?: () => number;
  readonly transport?: TransportOptions;
}

/** The verifier over HTTP: one `grant_type=refresh_token` request (oauth-session.ts, requestOAuthTokens). */
export function oauthServerVerifier(options: OAuthServerVerifierOptions): InstallTokenVerifier & { close(): Promise<void> } {
  const redactor = new SecretRedactor();
  redactor.add(options.app.clientSecret);
  const transport = new HttpTransport(options.transport, (text) => redactor.redact(text));
  return {
    async exchange(tokenUrl, refreshToken) {
      redactor.add(refreshToken);
      const answer = await requestOAuthTokens(
        { clientId: options.app.clientId, clientSecret: options.app.clientSecret, tokenEndpoint: parseEndpoint(tokenUrl, 'oauthTokenUrl'), transport, redactor, now: options.now ?? Date.now },
        refreshToken,
      );
      return { tokens: answer.tokens, memberId: answer.memberId, clientEndpoint: answer.clientEndpoint };
    },
    close: async () => await transport.close(),
  };
}

export type BotType = 'bot' | 'supervisor' | 'personal' | 'openline';

export interface BotSpec {
  readonly code: string;
  readonly name: string;
  readonly type: BotType;
}

export interface InstallPortal {
  /** The app's bot with this code, if registered (imbot.v2.Bot.list, every page). */
  findBot(code: string): Promise<number | undefined>;
  /** imbot.v2.Bot.register in fetch mode; returns bot.id. */
  registerBot(spec: BotSpec): Promise<number>;
  /** im.v2.Event.subscribe (idempotent, result true). */
  subscribeUserEvents(): Promise<void>;
  /**
   * Makes `handlerUrl` the app's ONAPPUNINSTALL handler (event.bind; settings/app-uninstallation.md: a
   * Marketplace app "must add an OnAppUninstall event handler", Bitrix24 sends it nowhere else). Looked up
   * first with event.get, bound only when absent; a lost bind answer is settled by looking again.
   */
  bindUninstallHandler(handlerUrl: string): Promise<void>;
  close(): Promise<void>;
}

/** The app event the endpoint has Bitrix24 send it after the install (on-app-uninstall.md). */
export const UNINSTALL_EVENT = 'ONAPPUNINSTALL';

const LIST_PAGE = 50;
const LIST_MAX_PAGES = 20;

function botIdOf(value: unknown): number | undefined {
  const bot = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const id = typeof bot.id === 'string' ? Number(bot.id) : bot.id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

async function portalCall<T>(client: Bitrix24Client, method: string, params: Record<string, unknown>): Promise<T> {
  try {
    return (await client.call<T>(method, params)).result;
  } catch (error) {
    if (error instanceof WriteOutcomeUnknownError) throw error;
    throw new InstallPortalError(method, error instanceof Bitrix24Error ? error.code : 'unexpected error', safeCause(error));
  }
}

/** The install's portal calls through an OAuth client of the portal (app-credentials.ts). */
export function bitrix24InstallPortal(client: Bitrix24Client): InstallPortal {
  return {
    async findBot(code) {
      for (let page = 0; page < LIST_MAX_PAGES; page++) {
        const result = await portalCall<{ bots?: unknown[]; hasNextPage?: boolean }>(client, 'imbot.v2.Bot.list', { limit: LIST_PAGE, offset: page * LIST_PAGE });
        for (const bot of result.bots ?? []) {
          if (typeof bot === 'object' && bot !== null && (bot as Record<string, unknown>).code === code) return botIdOf(bot);
        }
        if (result.hasNextPage !== true) return undefined;
      }
      return undefined;
    },
    async registerBot(spec) {
      // OAuth app: no botToken, the bot is tied to the app's client_id (bot-register.md).
      const result = await portalCall<{ bot?: unknown }>(client, 'imbot.v2.Bot.register', {
        fields: { code: spec.code, type: spec.type, eventMode: 'fetch', properties: { name: spec.name } },
      });
      const id = botIdOf(result.bot);
      if (id === undefined) throw new InstallPortalError('imbot.v2.Bot.register', 'answered without result.bot.id');
      return id;
    },
    async subscribeUserEvents() {
      await portalCall(client, 'im.v2.Event.subscribe', {});
    },
    async bindUninstallHandler(handlerUrl) {
      // events/event-get.md: [{event, handler, auth_type, offline}]
      const bound = async (): Promise<boolean> => {
        const handlers = await portalCall<unknown>(client, 'event.get', {});
        return (
          Array.isArray(handlers) &&
          handlers.some((h) => typeof h === 'object' && h !== null && String((h as Record<string, unknown>).event).toUpperCase() === UNINSTALL_EVENT && (h as Record<string, unknown>).handler === handlerUrl)
        );
      };
      if (await bound()) return;
      try {
        await portalCall(client, 'event.bind', { event: UNINSTALL_EVENT, handler: handlerUrl });
      } catch (error) {
        if (!(error instanceof WriteOutcomeUnknownError)) throw error;
        if (await bound()) return;
        throw new InstallPortalError('event.bind', 'the answer was lost and the ONAPPUNINSTALL handler is not listed; repeat the install', safeCause(error));
      }
    },
    close: async () => await client.close(),
  };
}
