// The install endpoint's core: from a parsed app event to the actions, with
// every dependency a port (install store, source registry, token verifier,
// portal calls). The Lambda handler (handler.ts) only decodes the request,
// builds these once and maps the outcome or the typed error to HTTP.
//
// ONAPPINSTALL
//   unknown member → verify at the OAuth server (install-portal.ts) → create the
//     record with the renewed pair (conditional: a concurrent install wins
//     once) → finish.
//   known member, application_token matches → finish (a repeat, e.g. the
//     installer of a new version: nothing the first install did is done twice
//     — the bot is looked up by code first, subscribe is not repeated, the
//     uninstall handler is bound again only if the update removed it, sources
//     equal to the registry's are not written, the stored token chain is kept). An install that stopped half
//     way (record `installing`) is completed by the repeat.
//   known member, application_token differs → refused (403), nothing changed.
//   finish = bot (Bot.list by code, else Bot.register), subscribe, this
//     endpoint bound as the ONAPPUNINSTALL handler (event.get, else event.bind:
//     Bitrix24 posts an uninstall nowhere else), sources into the registry
//     (`{kind: 'app-install', memberId}`), record `installed`.
// ONAPPUNINSTALL
//   unknown member → refused (403); token differs → refused (403);
//   else disable the install's sources, then delete the record (tokens gone).
//   Disabling first: if it fails, the record stays and the uninstall can be
//   repeated; a deleted record means everything is done.
import { createHash } from 'node:crypto';
import { Bitrix24Error, InvalidClientError, InvalidGrantError, OAuthRenewalError, WriteOutcomeUnknownError } from '../bitrix24/errors.js';
import { type Bitrix24Logger } from '../bitrix24/logger.js';
import { parseSourceConfig, type SourceConfig } from '../shared/config.js';
import { type RegisteredSource, type SourceCredentialsRef, type SourceRegistry } from '../registry/source-registry.js';
import { type AppEventRequest, type AppInstallRequest, type AppUninstallRequest } from './app-event-request.js';
import { ApplicationTokenMismatchError, InstallPortalError, InstallRequestError, InstallVerificationError, UnknownInstallError, safeCause } from './errors.js';
import { type AppInstallRecord, applicationTokenHash, applicationTokenMatches, type InstallStore } from './install-store.js';
import { type BotType, type InstallPortal, type InstallTokenVerifier } from './install-portal.js';

/** Bitrix24's regional OAuth servers (settings/oauth): `auth.server_endpoint` must name one of them. */
export const DEFAULT_TRUSTED_OAUTH_HOSTS: readonly string[] = ['oauth.bitrix.info', 'oauth.bitrix24.tech'];

export interface InstallSettings {
  /** Register this fetch-mode bot on install (imbot.v2.Bot.register) and add a bot source. @default none */
  readonly botCode?: string;
  /** The bot's `properties.name`. @default botCode */
  readonly botName?: string;
  /** @default 'bot' */
  readonly botType?: BotType;
  /** Call im.v2.Event.subscribe and add a user source (the installing user's events). @default false */
  readonly subscribeUserEvents?: boolean;
  /** Hosts accepted in `auth.server_endpoint` (the token URL is derived from it). @default DEFAULT_TRUSTED_OAUTH_HOSTS */
  readonly trustedOAuthHosts?: readonly string[];
}

export interface InstallFlowDependencies {
  readonly settings: InstallSettings;
  readonly store: InstallStore;
  readonly registry: SourceRegistry;
  readonly verifier: InstallTokenVerifier;
  /** The portal's calls through an OAuth client built from the install record. */
  readonly openPortal: (record: AppInstallRecord) => InstallPortal;
  /**
   * This endpoint's URL, bound as the app's ONAPPUNINSTALL handler on every install (Bitrix24 posts an
   * uninstall only to a handler the app bound with event.bind). @default none: nothing bound
   */
  readonly handlerUrl?: string;
  readonly logger: Bitrix24Logger;
  /** Clock, ms epoch. @default Date.now */
  readonly now?: () => number;
}

export type InstallOutcome =
  | { readonly status: 'installed' | 'already-installed'; readonly memberId: string; readonly portal: string; readonly sourceIds: readonly string[]; readonly botId?: number }
  | { readonly status: 'uninstalled'; readonly memberId: string; readonly disabledSourceIds: readonly string[] };

/** Source ids of an install: `<memberId>-user` / `<memberId>-bot` (≤ 40 characters; a long or odd member id is hashed). */
export function installSourceIds(memberId: string): { readonly user: string; readonly bot: string } {
  const slug = /^[a-z0-9]{1,32}$/.test(memberId.toLowerCase()) ? memberId.toLowerCase() : createHash('sha256').update(memberId).digest('hex').slice(0, 32);
  return { user: `${slug}-user`, bot: `${slug}-bot` };
}

/** The OAuth token URL of a trusted `server_endpoint` (`https://oauth.bitrix.info/rest/` → `https://oauth.bitrix.info/oauth/token/`). */
export function trustedTokenUrl(serverEndpoint: string, trustedHosts: readonly string[], memberId: string): string {
  const url = new URL(serverEndpoint);
  if (!trustedHosts.some((host) => host.toLowerCase() === url.host.toLowerCase())) {
    throw new InstallVerificationError(memberId, `auth.server_endpoint names OAuth server ${url.host}, which is not a trusted Bitrix24 OAuth server (${trustedHosts.join(', ')})`);
  }
  return `${url.origin}/oauth/token/`;
}

const sameSource = (held: RegisteredSource | undefined, config: SourceConfig, credentials: SourceCredentialsRef): boolean =>
  held !== undefined && JSON.stringify(held.config) === JSON.stringify(config) && JSON.stringify(held.credentials) === JSON.stringify(credentials);

export class InstallFlow {
  readonly #d: InstallFlowDependencies;
  readonly #now: () => number;

  constructor(dependencies: InstallFlowDependencies) {
    this.#d = dependencies;
    this.#now = dependencies.now ?? Date.now;
  }

  async handle(request: AppEventRequest): Promise<InstallOutcome> {
    return request.event === 'ONAPPINSTALL' ? await this.install(request) : await this.uninstall(request);
  }

  async install(request: AppInstallRequest): Promise<InstallOutcome> {
    const { store, logger } = this.#d;
    let record = await store.get(request.memberId);
    if (record === undefined) {
      const created = await this.#createRecord(request);
      record = created ?? (await store.get(request.memberId));
      if (record === undefined) throw new InstallVerificationError(request.memberId, 'the install record vanished during a concurrent uninstall; install again');
    }
    if (!applicationTokenMatches(request.applicationToken, record.applicationTokenHash)) {
      logger.warn('install: refused ONAPPINSTALL, application_token does not match the stored one', { memberId: request.memberId, portal: record.portal });
      throw new ApplicationTokenMismatchError(request.memberId);
    }
    return await this.#finish(record);
  }

  /** A new member: verify its tokens at the OAuth server, then store the record with the renewed pair. Undefined when another request created it first. */
  async #createRecord(request: AppInstallRequest): Promise<AppInstallRecord | undefined> {
    const { settings, store, verifier } = this.#d;
    const tokenUrl = trustedTokenUrl(request.serverEndpoint, settings.trustedOAuthHosts ?? DEFAULT_TRUSTED_OAUTH_HOSTS, request.memberId);
    let verified;
    try {
      verified = await verifier.exchange(tokenUrl, request.refreshToken);
    } catch (error) {
      if (error instanceof InvalidGrantError || error instanceof InvalidClientError || (error instanceof OAuthRenewalError && error.httpStatus !== undefined && error.httpStatus < 500)) {
        this.#d.logger.warn('install: refused ONAPPINSTALL, the OAuth server did not accept its refresh token for this app', { memberId: request.memberId, code: error.code });
        throw new InstallVerificationError(request.memberId, `the OAuth server refused its refresh token for this app (${error.code})`, safeCause(error));
      }
      throw new InstallPortalError('oauth/token', error instanceof Bitrix24Error ? error.code : 'unexpected error', safeCause(error));
    }
    if (verified.memberId !== request.memberId) {
      this.#d.logger.warn('install: refused ONAPPINSTALL, its tokens belong to another portal', { memberId: request.memberId });
      throw new InstallVerificationError(request.memberId, 'its tokens belong to another portal (member_id of the OAuth answer differs)');
    }
    const clientEndpoint = verified.clientEndpoint ?? request.clientEndpoint;
    let portal: string;
    try {
      portal = new URL(clientEndpoint).host;
    } catch {
      throw new InstallRequestError('auth.client_endpoint', 'is not a URL');
    }
    const ids = installSourceIds(request.memberId);
    const at = new Date(this.#now()).toISOString();
    const record: AppInstallRecord = {
      memberId: request.memberId,
      portal,
      clientEndpoint,
      oauthTokenUrl: tokenUrl,
      applicationTokenHash: applicationTokenHash(request.applicationToken),
      state: 'installing',
      sourceIds: [...(settings.subscribeUserEvents === true ? [ids.user] : []), ...(settings.botCode === undefined ? [] : [ids.bot])],
      installedAt: at,
      updatedAt: at,
    };
    return (await store.create(record, verified.tokens)) ? record : undefined;
  }

  async #finish(start: AppInstallRecord): Promise<InstallOutcome> {
    const { settings, registry, store, logger } = this.#d;
    const ids = installSourceIds(start.memberId);
    const credentials: SourceCredentialsRef = { kind: 'app-install', memberId: start.memberId };
    const repeat = start.state === 'installed';
    let portal: InstallPortal | undefined;
    const portalOf = (): InstallPortal => (portal ??= this.#d.openPortal(start));
    try {
      let botId = start.botId;
      if (settings.botCode !== undefined && botId === undefined) botId = await this.#ensureBot(portalOf(), settings.botCode);
      // A repeat of a finished install does not subscribe again (it ran at the first one). The uninstall handler is
      // looked up every time: an app update removes the app's handlers and runs the installer again (event-bind.md).
      if (settings.subscribeUserEvents === true && !repeat) await portalOf().subscribeUserEvents();
      if (this.#d.handlerUrl !== undefined) await portalOf().bindUninstallHandler(this.#d.handlerUrl);
      const wanted: SourceConfig[] = [];
      if (settings.subscribeUserEvents === true) wanted.push(parseSourceConfig({ id: ids.user, kind: 'user', portal: start.portal, auth: 'oauth' }, `install source ${ids.user}`));
      if (settings.botCode !== undefined && botId !== undefined) wanted.push(parseSourceConfig({ id: ids.bot, kind: 'bot', portal: start.portal, auth: 'oauth', botId }, `install source ${ids.bot}`));
      const written: string[] = [];
      for (const config of wanted) {
        if (sameSource(await registry.get(config.id), config, credentials)) continue;
        await registry.put(config, { credentials, origin: 'install' });
        written.push(config.id);
      }
      const sourceIds = wanted.map((config) => config.id);
      const finished: AppInstallRecord = { ...start, state: 'installed', ...(botId === undefined ? {} : { botId }), sourceIds, updatedAt: new Date(this.#now()).toISOString() };
      const changed = !repeat || finished.botId !== start.botId || JSON.stringify(sourceIds) !== JSON.stringify(start.sourceIds);
      if (changed && !(await store.update(finished))) throw new ApplicationTokenMismatchError(start.memberId);
      const status = repeat && written.length === 0 && !changed ? 'already-installed' : 'installed';
      logger.info(`install: ${status}`, { memberId: start.memberId, portal: start.portal, sourceIds, ...(botId === undefined ? {} : { botId }), sourcesWritten: written.length });
      return { status, memberId: start.memberId, portal: start.portal, sourceIds, ...(botId === undefined ? {} : { botId }) };
    } finally {
      await portal?.close();
    }
  }

  /** The app's bot by code: looked up first; registered only when absent. A lost register answer is settled by looking again, never by a blind repeat. */
  async #ensureBot(portal: InstallPortal, code: string): Promise<number> {
    const found = await portal.findBot(code);
    if (found !== undefined) return found;
    const { settings } = this.#d;
    try {
      return await portal.registerBot({ code, name: settings.botName ?? code, type: settings.botType ?? 'bot' });
    } catch (error) {
      if (!(error instanceof WriteOutcomeUnknownError)) throw error;
      const after = await portal.findBot(code);
      if (after !== undefined) return after;
      throw new InstallPortalError('imbot.v2.Bot.register', 'the answer was lost and the bot is not listed; repeat the install', safeCause(error));
    }
  }

  async uninstall(request: AppUninstallRequest): Promise<InstallOutcome> {
    const { store, registry, logger } = this.#d;
    const record = await store.get(request.memberId);
    if (record === undefined) {
      logger.warn('install: refused ONAPPUNINSTALL of a member with no install record', { memberId: request.memberId });
      throw new UnknownInstallError(request.memberId);
    }
    if (!applicationTokenMatches(request.applicationToken, record.applicationTokenHash)) {
      logger.warn('install: refused ONAPPUNINSTALL, application_token does not match the stored one', { memberId: request.memberId, portal: record.portal });
      throw new ApplicationTokenMismatchError(request.memberId);
    }
    const disabled: string[] = [];
    for (const sourceId of record.sourceIds) {
      const held = await registry.get(sourceId);
      if (held === undefined || held.credentials.kind !== 'app-install' || held.credentials.memberId !== record.memberId) continue;
      if (held.config.enabled) await registry.setEnabled(sourceId, false);
      disabled.push(sourceId);
    }
    if (!(await store.remove(record.memberId, record.applicationTokenHash))) throw new ApplicationTokenMismatchError(request.memberId);
    logger.info('install: uninstalled', { memberId: record.memberId, portal: record.portal, disabledSourceIds: disabled, clean: request.clean });
    return { status: 'uninstalled', memberId: record.memberId, disabledSourceIds: disabled };
  }
}
