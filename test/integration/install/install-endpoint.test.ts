// The Marketplace install endpoint end to end: the portal simulator's OAuth app
// flow POSTs ONAPPINSTALL / ONAPPUNINSTALL (form-encoded, as Bitrix24 does) to
// the install function served over HTTP; the install record lives in a state
// table on DynamoDB Local, the sources in a registry table there. Two
// simulators are two portals (two member ids) of one app.
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBitrix24Client } from '../../../functions/bitrix24/client.js';
import { type SecretReader } from '../../../functions/bitrix24/secret-reader.js';
import { appInstallCredentials } from '../../../functions/install/app-credentials.js';
import { createInstallHandler, INSTALL_ENV } from '../../../functions/install/handler.js';
import { installSourceIds } from '../../../functions/install/install-flow.js';
import { appInstallItemKey, DynamoDbInstallStore } from '../../../functions/install/install-store.js';
import { DynamoDbSourceRegistry } from '../../../functions/registry/dynamodb-source-registry.js';
import { encodeAppEventForm, type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { rigClients, uniqueName } from '../../setup/rig.js';
import { Capture } from '../bitrix24/harness.js';
import { createTables, type FunctionUrlServer, serveFunctionUrl } from './harness.js';

const BOT_CODE = 'support_bot';
const capture = new Capture();
const { dynamoDb } = rigClients() as { dynamoDb: DynamoDBClient };
const stateTable = uniqueName('install-state');
const registryTable = uniqueName('install-registry');
const store = new DynamoDbInstallStore({ client: dynamoDb, tableName: stateTable });
const registry = new DynamoDbSourceRegistry({ client: dynamoDb, tableName: registryTable });
let portalA: PortalSimulator;
let portalB: PortalSimulator;
let app: { clientId: string; clientSecret: string };
let adminA: number;
let adminB: number;
let endpoint: FunctionUrlServer;
let memberA = '';
let applicationTokenA = '';

const secrets: SecretReader = { read: () => Promise.resolve(JSON.stringify(app)), invalidate: () => undefined };
const calls = (sim: PortalSimulator, method: string): number => sim.calls.filter((call) => call.method === method).length;

async function stateItem(memberId: string) {
  const answer = await dynamoDb.send(new GetItemCommand({ TableName: stateTable, Key: { pk: { S: appInstallItemKey(memberId) } }, ConsistentRead: true }));
  capture.secret(answer.Item?.accessToken?.S, answer.Item?.refreshToken?.S);
  return answer.Item;
}

async function post(body: string, contentType = 'application/x-www-form-urlencoded', method = 'POST'): Promise<{ status: number; body: string }> {
  const response = await fetch(endpoint.url, { method, headers: { 'content-type': contentType }, ...(method === 'POST' ? { body } : {}) });
  const text = await response.text();
  capture.lines.push(text);
  return { status: response.status, body: text };
}

function result(body: string): Record<string, unknown> {
  const parsed = JSON.parse(body) as { result?: Record<string, unknown> };
  return parsed.result ?? {};
}

beforeAll(async () => {
  await createTables(dynamoDb, stateTable, registryTable);
  portalA = await startPortalSimulator({ rateLimit: false });
  portalB = await startPortalSimulator({ rateLimit: false });
  app = portalA.registerApp();
  portalB.registerApp(app); // one Marketplace app, installed on two portals
  capture.secret(app.clientSecret);
  adminA = portalA.addUser({ name: 'Admin A' }).id;
  adminB = portalB.addUser({ name: 'Admin B' }).id;
  const handler = createInstallHandler({
    env: () => ({
      [INSTALL_ENV.stateTableName]: stateTable,
      [INSTALL_ENV.registryTableName]: registryTable,
      [INSTALL_ENV.appSecretName]: 'b24/app',
      [INSTALL_ENV.botCode]: BOT_CODE,
      [INSTALL_ENV.botName]: 'Support',
      [INSTALL_ENV.subscribeUserEvents]: 'true',
      // The simulators' OAuth servers stand in for oauth.bitrix.info.
      [INSTALL_ENV.trustedOAuthHosts]: `${portalA.portalHost},${portalB.portalHost}`,
    }),
    dynamoDb,
    secrets,
    logger: capture.logger,
  });
  endpoint = await serveFunctionUrl(handler);
});

afterAll(async () => {
  await endpoint.stop();
  await portalA.stop();
  await portalB.stop();
});

describe('install endpoint against the simulator\'s OAuth app flow', () => {
  it('ONAPPINSTALL: tokens verified and stored per member_id, the bot registered once, the user events subscribed, the sources added', async () => {
    const delivery = await portalA.installApp({ handlerUrl: endpoint.url, clientId: app.clientId, userId: adminA });
    capture.secret(delivery.accessToken, delivery.refreshToken, delivery.applicationToken);
    memberA = delivery.memberId;
    applicationTokenA = delivery.applicationToken;

    expect(delivery.status).toBe(200);
    const outcome = result(delivery.body);
    expect(outcome).toMatchObject({ status: 'installed', memberId: memberA, portal: portalA.portalHost });
    const item = await stateItem(memberA);
    // The chain starts from a pair renewed at the OAuth server (the verification), not the event's pair.
    expect(item?.refreshToken?.S).toMatch(/^[0-9a-f]{48}$/);
    expect(item?.refreshToken?.S).not.toBe(delivery.refreshToken);
    expect(item?.installState?.S).toBe('installed');
    expect(JSON.stringify(item)).not.toContain(delivery.applicationToken); // only its hash is kept
    expect(calls(portalA, 'oauth.token')).toBe(1);
    expect(calls(portalA, 'imbot.v2.Bot.register')).toBe(1);
    expect(calls(portalA, 'im.v2.Event.subscribe')).toBe(1);

    const ids = installSourceIds(memberA);
    const userSource = await registry.get(ids.user);
    const botSource = await registry.get(ids.bot);
    expect(userSource).toMatchObject({ config: { kind: 'user', portal: portalA.portalHost, auth: 'oauth', enabled: true }, credentials: { kind: 'app-install', memberId: memberA }, origin: 'install', version: 1 });
    expect(botSource).toMatchObject({ config: { kind: 'bot', botId: outcome.botId, enabled: true }, credentials: { kind: 'app-install', memberId: memberA }, version: 1 });
  });

  it('a repeated ONAPPINSTALL is a no-op: no second bot, no second token exchange, the same sources at the same version', async () => {
    const before = { register: calls(portalA, 'imbot.v2.Bot.register'), token: calls(portalA, 'oauth.token'), subscribe: calls(portalA, 'im.v2.Event.subscribe') };
    const refreshBefore = (await stateItem(memberA))?.refreshToken?.S;

    const delivery = await portalA.installApp({ handlerUrl: endpoint.url, clientId: app.clientId, userId: adminA });
    capture.secret(delivery.accessToken, delivery.refreshToken);

    expect(delivery.status).toBe(200);
    expect(result(delivery.body).status).toBe('already-installed');
    expect(delivery.applicationToken).toBe(applicationTokenA);
    expect(calls(portalA, 'imbot.v2.Bot.register')).toBe(before.register);
    expect(calls(portalA, 'oauth.token')).toBe(before.token);
    expect(calls(portalA, 'im.v2.Event.subscribe')).toBe(before.subscribe);
    expect((await stateItem(memberA))?.refreshToken?.S).toBe(refreshBefore);
    const ids = installSourceIds(memberA);
    expect((await registry.get(ids.user))?.version).toBe(1);
    expect((await registry.get(ids.bot))?.version).toBe(1);
  });

  it('an app update drops its event handlers and runs the installer again: the uninstall handler is bound again, nothing else repeated', async () => {
    const binds = calls(portalA, 'event.bind');
    const register = calls(portalA, 'imbot.v2.Bot.register');

    const delivery = await portalA.updateApp({ handlerUrl: endpoint.url, clientId: app.clientId, userId: adminA, version: '2' });
    capture.secret(delivery.accessToken, delivery.refreshToken);

    expect(delivery.status).toBe(200);
    expect(result(delivery.body).status).toBe('already-installed');
    expect(calls(portalA, 'event.bind')).toBe(binds + 1);
    expect(calls(portalA, 'imbot.v2.Bot.register')).toBe(register);
  });

  it('a request whose application_token does not match is refused and changes nothing', async () => {
    const install = await portalA.installApp({ handlerUrl: endpoint.url, clientId: app.clientId, userId: adminA, applicationToken: 'f'.repeat(32) });
    capture.secret(install.accessToken, install.refreshToken);
    const uninstall = await portalA.uninstallApp({ clientId: app.clientId, applicationToken: 'e'.repeat(32) });

    expect(install.status).toBe(403);
    expect(JSON.parse(install.body)).toEqual({ status: 'error', error: 'invalid_application_token' });
    expect(uninstall.status).toBe(403);
    expect((await stateItem(memberA))?.installState?.S).toBe('installed');
    expect((await registry.get(installSourceIds(memberA).user))?.config.enabled).toBe(true);
    expect(capture.lines.filter((line) => line.startsWith('warn install: refused'))).toHaveLength(2);
  });

  it('a first install is refused when its tokens do not prove it: another portal\'s tokens, an untrusted OAuth server, a forged refresh token', async () => {
    const tokens = portalA.authorizeApp(app.clientId, adminA);
    capture.secret(tokens.accessToken, tokens.refreshToken);
    const forged = (auth: Record<string, string>) =>
      encodeAppEventForm({
        event: 'ONAPPINSTALL',
        data: { VERSION: '1', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: 'en' },
        ts: Math.floor(Date.now() / 1000),
        auth: {
          access_token: tokens.accessToken,
          refresh_token: tokens.refreshToken,
          expires_in: 3600,
          scope: 'im,imbot',
          domain: 'victim.bitrix24.com',
          server_endpoint: `${portalA.baseUrl}/oauth/rest/`,
          client_endpoint: 'https://victim.bitrix24.com/rest/',
          member_id: 'b'.repeat(32),
          status: 'F',
          application_token: 'c'.repeat(32),
          ...auth,
        },
      });

    const otherPortal = await post(forged({}));
    const untrusted = await post(forged({ server_endpoint: 'https://oauth.example.net/rest/', member_id: 'd'.repeat(32) }));
    const madeUp = await post(forged({ refresh_token: 'a'.repeat(48), member_id: 'e'.repeat(32) }));

    for (const answer of [otherPortal, untrusted, madeUp]) {
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toEqual({ status: 'error', error: 'install_not_verified' });
    }
    for (const member of ['b', 'd', 'e']) expect(await stateItem(member.repeat(32))).toBeUndefined();
    expect(await registry.get(installSourceIds('b'.repeat(32)).user)).toBeUndefined();
  });

  it('requests not of Bitrix24\'s shape get 400, other methods 405', async () => {
    expect((await post('hello=world')).status).toBe(400);
    expect((await post(JSON.stringify({ event: 'ONAPPINSTALL', ts: 1 }), 'application/json')).status).toBe(400);
    expect((await post(encodeAppEventForm({ event: 'ONCRMDEALADD', ts: 1, auth: { member_id: memberA } }))).status).toBe(400);
    expect((await post('', 'text/plain', 'GET')).status).toBe(405);
  });

  it('a poll through the installed sources: an OAuth client from the install record reads im.v2.Event.get and imbot.v2.Event.get, and renews on the shared chain', async () => {
    const record = await store.get(memberA);
    expect(record?.botId).toBeGreaterThan(0);
    if (record?.botId === undefined) return;
    const client = createBitrix24Client({ credentials: appInstallCredentials(record, app, store.tokenStore(memberA)), logger: capture.logger });
    try {
      portalA.activity.generate({ userId: adminA }, 5);
      portalA.say({ fromUserId: adminA, dialogId: String(record.botId), text: 'Hello, support' });

      const userPage = await client.getEvents({ limit: 100 });
      const botPage = await client.getBotEvents({ botId: record.botId, limit: 100 });
      expect(userPage.events.length).toBeGreaterThanOrEqual(5);
      expect(botPage.events.map((event) => event.type)).toContain('ONIMBOTV2MESSAGEADD');

      const before = (await stateItem(memberA))?.refreshToken?.S;
      portalA.expireAccessTokens(app.clientId);
      await client.getEvents({ offset: userPage.nextOffset, limit: 100 });
      expect((await stateItem(memberA))?.refreshToken?.S).not.toBe(before); // renewed, saved on the install item
    } finally {
      await client.close();
    }
  });

  it('a second portal (member id) installs alongside, with its own record and sources', async () => {
    const delivery = await portalB.installApp({ handlerUrl: endpoint.url, clientId: app.clientId, userId: adminB });
    capture.secret(delivery.accessToken, delivery.refreshToken, delivery.applicationToken);

    expect(delivery.status).toBe(200);
    expect(delivery.memberId).not.toBe(memberA);
    expect(result(delivery.body)).toMatchObject({ status: 'installed', portal: portalB.portalHost });
    expect((await registry.get(installSourceIds(delivery.memberId).bot))?.config.portal).toBe(portalB.portalHost);
    expect(calls(portalB, 'imbot.v2.Bot.register')).toBe(1);
  });

  it('ONAPPUNINSTALL disables the sources and drops the tokens; a later one for the member is refused', async () => {
    // The install (and the update's installer) bound the endpoint as the app's ONAPPUNINSTALL handler: that is where the portal posts it.
    const delivery = await portalA.uninstallApp({ clientId: app.clientId, clean: 1 });
    const ids = installSourceIds(memberA);

    expect(delivery.handlers).toBe(1);
    expect(delivery.status).toBe(200);
    expect(result(delivery.body)).toEqual({ status: 'uninstalled', memberId: memberA, disabledSourceIds: [ids.user, ids.bot] });
    expect(await stateItem(memberA)).toBeUndefined();
    expect((await registry.get(ids.user))?.config.enabled).toBe(false);
    expect((await registry.get(ids.bot))?.config.enabled).toBe(false);
    const other = (await registry.list()).filter((source) => source.credentials.kind === 'app-install' && source.credentials.memberId !== memberA);
    expect(other.map((source) => source.config.enabled)).toEqual([true, true]); // portal B untouched

    const replay = await post(
      encodeAppEventForm({
        event: 'ONAPPUNINSTALL',
        data: { LANGUAGE_ID: 'en', CLEAN: 0 },
        ts: Math.floor(Date.now() / 1000),
        auth: { domain: portalA.portalHost, server_endpoint: `${portalA.baseUrl}/oauth/rest/`, client_endpoint: `${portalA.baseUrl}/rest/`, member_id: memberA, application_token: applicationTokenA },
      }),
    );
    expect(replay.status).toBe(403);
    expect(JSON.parse(replay.body)).toEqual({ status: 'error', error: 'unknown_member' });
  });

  it('no token, refresh token, application token or client secret reached a log line or an answer', () => {
    expect(capture.assertNoSecrets(10)).toBeGreaterThan(10);
  });
});
