// The install core with fakes: request parsing (form as Bitrix24 sends it),
// the decisions of ONAPPINSTALL / ONAPPUNINSTALL, a lost Bot.register answer,
// a half-done install finished by the repeat, the trusted OAuth servers.
import { describe, expect, it } from 'vitest';
import { InvalidGrantError, WriteOutcomeUnknownError } from '../../../functions/bitrix24/errors.js';
import { silentLogger } from '../../../functions/bitrix24/logger.js';
import { type AppInstallRequest, parseAppEventRequest, parseNestedForm } from '../../../functions/install/app-event-request.js';
import { ApplicationTokenMismatchError, InstallPortalError, InstallRequestError, InstallVerificationError, UnknownInstallError } from '../../../functions/install/errors.js';
import { InstallFlow, type InstallSettings, installSourceIds, trustedTokenUrl } from '../../../functions/install/install-flow.js';
import { type BotSpec, type InstallPortal, type InstallTokenVerifier } from '../../../functions/install/install-portal.js';
import { InMemoryInstallStore, applicationTokenHash } from '../../../functions/install/install-store.js';
import { InMemorySourceRegistry } from '../../../functions/registry/in-memory-source-registry.js';
import { encodeAppEventForm } from '../../../functions/simulator/app-install.js';

const MEMBER = 'a223c6b3710f85df22e9377d6c4f7553';
const APP_TOKEN = '51856fefc120afa4b628cc82d3935cce';

/** The on-app-install.md example, form-encoded. */
function installForm(auth: Record<string, string | number> = {}): string {
  return encodeAppEventForm({
    event: 'ONAPPINSTALL',
    data: { VERSION: '1.0.0', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: 'de' },
    ts: '1696527000',
    auth: {
      domain: 'some-domain.bitrix24.com',
      scope: 'imbot',
      access_token: 's6p6eclrvim6da22ft9ch94ekreb52lv',
      refresh_token: '4s386p3q0tr8dy89xvmt96234v3dljg8',
      expires_in: 3600,
      server_endpoint: 'https://oauth.bitrix.info/rest/',
      status: 'F',
      client_endpoint: 'https://some-domain.bitrix24.com/rest/',
      member_id: MEMBER,
      application_token: APP_TOKEN,
      ...auth,
    },
  });
}

function installRequest(auth: Record<string, string | number> = {}): AppInstallRequest {
  const request = parseAppEventRequest(installForm(auth), 'application/x-www-form-urlencoded');
  if (request.event !== 'ONAPPINSTALL') throw new Error('expected an install');
  return request;
}

function uninstallRequest(applicationToken = APP_TOKEN, event = 'ONAPPUNINSTALL') {
  return parseAppEventRequest(
    encodeAppEventForm({
      event,
      data: { LANGUAGE_ID: 'de', CLEAN: 1 },
      ts: '1466439714',
      auth: { domain: 'some-domain.bitrix24.com', server_endpoint: 'https://oauth.bitrix.info/rest/', client_endpoint: 'https://some-domain.bitrix24.com/rest/', member_id: MEMBER, application_token: applicationToken },
    }),
    undefined,
  );
}

const HANDLER_URL = 'https://abc123.lambda-url.eu-central-1.on.aws/';

class FakePortal implements InstallPortal {
  readonly bots = new Map<string, number>();
  registerCalls = 0;
  subscribeCalls = 0;
  loseNextRegisterAnswer = false;
  failSubscribe = false;
  findBot(code: string): Promise<number | undefined> {
    return Promise.resolve(this.bots.get(code));
  }
  registerBot(spec: BotSpec): Promise<number> {
    this.registerCalls += 1;
    const id = this.bots.get(spec.code) ?? 1000 + this.registerCalls;
    this.bots.set(spec.code, id);
    if (this.loseNextRegisterAnswer) {
      this.loseNextRegisterAnswer = false;
      return Promise.reject(new WriteOutcomeUnknownError({ method: 'imbot.v2.Bot.register', code: 'NETWORK_ERROR' }));
    }
    return Promise.resolve(id);
  }
  readonly uninstallHandlers: string[] = [];
  bindUninstallHandler(handlerUrl: string): Promise<void> {
    this.#binds += 1;
    if (!this.uninstallHandlers.includes(handlerUrl)) this.uninstallHandlers.push(handlerUrl);
    return Promise.resolve();
  }
  #binds = 0;
  bindCalls(): number {
    return this.#binds;
  }
  subscribeUserEvents(): Promise<void> {
    this.subscribeCalls += 1;
    return this.failSubscribe ? Promise.reject(new InstallPortalError('im.v2.Event.subscribe', 'INTERNAL_SERVER_ERROR')) : Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function rig(settings: InstallSettings = { botCode: 'support_bot', subscribeUserEvents: true }, answerMember = MEMBER) {
  const store = new InMemoryInstallStore();
  const registry = new InMemorySourceRegistry({ now: () => 0 });
  const portal = new FakePortal();
  const exchanges: string[] = [];
  const verifier: InstallTokenVerifier = {
    exchange: (tokenUrl, refreshToken) => {
      exchanges.push(tokenUrl);
      if (refreshToken === 'spent') return Promise.reject(new InvalidGrantError({ httpStatus: 400 }));
      return Promise.resolve({ tokens: { accessToken: 'renewed-access', refreshToken: 'renewed-refresh', expiresAt: 3_600_000 }, memberId: answerMember, clientEndpoint: 'https://some-domain.bitrix24.com/rest/' });
    },
  };
  const flow = new InstallFlow({ settings, store, registry, verifier, openPortal: () => portal, logger: silentLogger, now: () => 0, handlerUrl: HANDLER_URL });
  return { store, registry, portal, exchanges, flow };
}

describe('parseAppEventRequest', () => {
  it('reads the documented ONAPPINSTALL form (nested auth[…] keys, every scalar a string)', () => {
    const request = installRequest();
    expect(request).toMatchObject({ event: 'ONAPPINSTALL', memberId: MEMBER, applicationToken: APP_TOKEN, domain: 'some-domain.bitrix24.com', expiresInSeconds: 3600, version: '1.0.0', ts: 1696527000 });
    expect(parseNestedForm('a[b][c]=1&a[b][d]=2&e=3')).toEqual({ a: { b: { c: '1', d: '2' } }, e: '3' });
  });

  it('reads ONAPPUNINSTALL without tokens (on-app-uninstall.md), also spelled ONAPPSUNINSTALL as that page\'s example does', () => {
    expect(uninstallRequest()).toMatchObject({ event: 'ONAPPUNINSTALL', memberId: MEMBER, clean: true });
    expect(uninstallRequest(APP_TOKEN, 'ONAPPSUNINSTALL')).toMatchObject({ event: 'ONAPPUNINSTALL', memberId: MEMBER, clean: true });
  });

  it.each([
    ['hello=world', 'event'],
    [installForm({ member_id: '' }), 'auth.member_id'],
    [installForm({ application_token: '' }), 'auth.application_token'],
    [installForm({ refresh_token: '' }), 'auth.refresh_token'],
    [installForm({ client_endpoint: 'ftp://x/' }), 'auth.client_endpoint'],
    [installForm({ member_id: '../etc' }), 'auth.member_id'],
    [installForm().replace('ONAPPINSTALL', 'ONCRMDEALADD'), 'event'],
  ])('refuses a request not of Bitrix24\'s shape (%#) naming %s', (body, field) => {
    const error = (() => {
      try {
        parseAppEventRequest(body, undefined);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InstallRequestError);
    expect((error as InstallRequestError).field).toBe(field);
    expect((error as InstallRequestError).httpStatus).toBe(400);
  });
});

describe('InstallFlow', () => {
  it('installs: verified tokens stored per member, bot registered, subscribed, two sources with app-install credentials', async () => {
    const { flow, store, registry, portal, exchanges } = rig();
    const outcome = await flow.handle(installRequest());
    const ids = installSourceIds(MEMBER);
    expect(outcome).toEqual({ status: 'installed', memberId: MEMBER, portal: 'some-domain.bitrix24.com', sourceIds: [ids.user, ids.bot], botId: 1001 });
    expect(exchanges).toEqual(['https://oauth.bitrix.info/oauth/token/']);
    expect(await store.tokensOf(MEMBER)).toEqual({ accessToken: 'renewed-access', refreshToken: 'renewed-refresh', expiresAt: 3_600_000 });
    expect((await store.get(MEMBER))?.applicationTokenHash).toBe(applicationTokenHash(APP_TOKEN));
    expect(portal.registerCalls).toBe(1);
    expect(portal.subscribeCalls).toBe(1);
    // Bitrix24 posts ONAPPUNINSTALL only to a handler the app bound (settings/app-uninstallation.md).
    expect(portal.uninstallHandlers).toEqual([HANDLER_URL]);
    expect((await registry.get(ids.bot))?.config).toMatchObject({ kind: 'bot', botId: 1001, auth: 'oauth', enabled: true });
    expect((await registry.get(ids.user))?.credentials).toEqual({ kind: 'app-install', memberId: MEMBER });
  });

  it('a repeat is a no-op; a repeat with another application_token is refused', async () => {
    const { flow, registry, portal, exchanges } = rig();
    await flow.handle(installRequest());
    const again = await flow.handle(installRequest());
    expect(again.status).toBe('already-installed');
    expect(portal.bindCalls()).toBe(2); // looked up again (an update drops the app's handlers), bound once
    expect(portal.uninstallHandlers).toEqual([HANDLER_URL]);
    expect(portal.registerCalls).toBe(1);
    expect(portal.subscribeCalls).toBe(1);
    expect(exchanges).toHaveLength(1);
    expect((await registry.get(installSourceIds(MEMBER).bot))?.version).toBe(1);
    await expect(flow.handle(installRequest({ application_token: 'x'.repeat(32) }))).rejects.toBeInstanceOf(ApplicationTokenMismatchError);
  });

  it('a half-done install (subscribe failed) is finished by the repeat, without a second bot', async () => {
    const { flow, registry, portal } = rig();
    portal.failSubscribe = true;
    await expect(flow.handle(installRequest())).rejects.toBeInstanceOf(InstallPortalError);
    expect(await registry.list()).toHaveLength(0);
    portal.failSubscribe = false;
    const outcome = await flow.handle(installRequest());
    expect(outcome.status).toBe('installed');
    expect(portal.registerCalls).toBe(1); // the bot found by code, not registered again
    expect(await registry.list()).toHaveLength(2);
  });

  it('a lost Bot.register answer is settled by looking the bot up, not by registering again', async () => {
    const { flow, portal } = rig();
    portal.loseNextRegisterAnswer = true;
    const outcome = await flow.handle(installRequest());
    expect(outcome).toMatchObject({ status: 'installed', botId: 1001 });
    expect(portal.registerCalls).toBe(1);
  });

  it('refuses a first install whose tokens do not prove it, and stores nothing', async () => {
    const spent = rig();
    await expect(spent.flow.handle(installRequest({ refresh_token: 'spent' }))).rejects.toBeInstanceOf(InstallVerificationError);
    const otherPortal = rig(undefined, 'f'.repeat(32));
    await expect(otherPortal.flow.handle(installRequest())).rejects.toThrow(/another portal/);
    const untrusted = rig();
    await expect(untrusted.flow.handle(installRequest({ server_endpoint: 'https://oauth.evil.example/rest/' }))).rejects.toThrow(/not a trusted/);
    expect(untrusted.exchanges).toHaveLength(0);
    for (const r of [spent, otherPortal, untrusted]) expect(await r.store.get(MEMBER)).toBeUndefined();
  });

  it('uninstall disables the sources, then drops the record; unknown member and wrong token are refused', async () => {
    const { flow, store, registry } = rig();
    await expect(flow.handle(uninstallRequest())).rejects.toBeInstanceOf(UnknownInstallError);
    await flow.handle(installRequest());
    await expect(flow.handle(uninstallRequest('y'.repeat(32)))).rejects.toBeInstanceOf(ApplicationTokenMismatchError);
    expect(await store.get(MEMBER)).toBeDefined();
    const outcome = await flow.handle(uninstallRequest());
    expect(outcome).toEqual({ status: 'uninstalled', memberId: MEMBER, disabledSourceIds: [installSourceIds(MEMBER).user, installSourceIds(MEMBER).bot] });
    expect(await store.get(MEMBER)).toBeUndefined();
    expect(await store.tokensOf(MEMBER)).toBeUndefined();
    expect((await registry.list()).map((source) => source.config.enabled)).toEqual([false, false]);
  });

  it('source ids fit the 40-character id rule; the token URL comes from a trusted server_endpoint', () => {
    expect(installSourceIds(MEMBER)).toEqual({ user: `${MEMBER}-user`, bot: `${MEMBER}-bot` });
    expect(installSourceIds('X'.repeat(64)).user).toMatch(/^[0-9a-f]{32}-user$/);
    expect(trustedTokenUrl('https://oauth.bitrix24.tech/rest/', ['oauth.bitrix24.tech'], MEMBER)).toBe('https://oauth.bitrix24.tech/oauth/token/');
  });
});
