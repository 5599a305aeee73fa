// Redaction across every kind of outcome: one run of each scenario (success,
// every fault, renewals, OAuth failures, transport failures) with a logger
// that captures every line at every level; then every line, every error
// (message, stack, JSON, inspect, the whole cause chain) and every text form
// of the clients and stores is scanned for every secret involved. The other
// test files of this folder run the same scan over what they captured.
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Bitrix24Client,
  createBitrix24Client,
  InMemoryTokenStore,
  loadSourceCredentials,
  parseSourceSecret,
} from '../../../functions/bitrix24/index.js';
import { type FaultSpec, type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { Capture } from './harness.js';

const GET = 'im.v2.Event.get';
let sim: PortalSimulator;

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false });
});

afterAll(async () => {
  await sim.stop();
});

describe('the secret scanner', () => {
  it('catches a planted secret in a log line, an error message and a cause', () => {
    for (const plant of [
      (c: Capture) => c.logger.info('x', { url: 'https://p/rest/1/planted-secret/' }),
      (c: Capture) => c.errors.push(new Error('boom planted-secret')),
      (c: Capture) => c.errors.push(new Error('outer', { cause: new Error('inner planted-secret') })),
    ]) {
      const capture = new Capture();
      capture.secret('planted-secret');
      plant(capture);
      expect(() => capture.assertNoSecrets()).toThrow(/leaked/);
    }
  });
});

describe('redaction over every scenario', () => {
  it('no secret appears in any log line, error, cause chain, JSON or inspect output', async () => {
    const capture = new Capture();
    const userId = sim.addUser({ name: 'Secretive' }).id;
    sim.subscribe(userId);
    const webhookUrl = sim.createWebhook(userId);
    const code = new URL(webhookUrl).pathname.split('/')[3] ?? '';
    capture.secret(webhookUrl, code, new URL(webhookUrl).pathname);
    const bot = sim.registerBot(userId, { code: 'secretive' });
    capture.secret(bot.botToken);
    const app = sim.registerApp();
    capture.secret(app.clientSecret);
    const granted = sim.authorizeApp(app.clientId, userId);
    capture.secret(granted.accessToken, granted.refreshToken);
    const oauthStore = new InMemoryTokenStore({ accessToken: granted.accessToken, refreshToken: granted.refreshToken, expiresAt: 0 });

    const clients: Bitrix24Client[] = [];
    const make = (kind: 'webhook' | 'oauth', extra: { maxResponseBytes?: number; headersTimeoutMs?: number } = {}) => {
      const created = createBitrix24Client({
        credentials:
          kind === 'webhook'
            ? { kind: 'webhook', webhookUrl }
            : { kind: 'oauth', clientEndpoint: `${sim.baseUrl}/rest/`, clientId: app.clientId, clientSecret: app.clientSecret, oauthTokenUrl: sim.oauthTokenUrl, tokenStore: oauthStore },
        logger: capture.logger,
        sleep: () => Promise.resolve(),
        random: () => 0,
        retry: { maxAttempts: 3 },
        transport: { headersTimeoutMs: extra.headersTimeoutMs ?? 5000, ...(extra.maxResponseBytes === undefined ? {} : { maxResponseBytes: extra.maxResponseBytes }) },
      });
      clients.push(created);
      return created;
    };

    const faults: FaultSpec[] = [
      { kind: 'error', status: 503, code: 'QUERY_LIMIT_EXCEEDED', times: 5 },
      { kind: 'error', status: 500, code: 'INTERNAL_SERVER_ERROR' },
      { kind: 'error', status: 401, code: 'NO_AUTH_FOUND', description: `echo ${code}` },
      { kind: 'error', status: 403, code: 'ACCESS_DENIED' },
      { kind: 'error', status: 500, code: 'PORTAL_DELETED' },
      { kind: 'error', status: 503, code: 'OVERLOAD_LIMIT' },
      { kind: 'operation-time-limit', resetInSeconds: 5, times: 5 },
      { kind: 'reset', times: 5 },
      { kind: 'malformed' },
      { kind: 'html', times: 5 },
      { kind: 'latency', ms: 400 },
    ];
    for (const kind of ['webhook', 'oauth'] as const) {
      const c = make(kind, { headersTimeoutMs: 200 });
      await c.subscribe();
      sim.activity.generate({ userId }, 5);
      await c.getEvents({ limit: 5 });
      for (const fault of faults) {
        sim.faults.clear();
        sim.faults.inject({ method: GET, ...fault });
        await c.getEvents({}, { deadline: Date.now() + 1000 }).catch((error: unknown) => capture.errors.push(error));
      }
      sim.faults.clear();
      await capture.rejection(make(kind, { maxResponseBytes: 100 }).getEvents({}));
      await c.getBotEvents({ botId: bot.botId, botToken: bot.botToken });
      await capture.rejection(c.getBotEvents({ botId: bot.botId, botToken: `${bot.botToken}x` }));
      await capture.rejection(c.getBotEvents({ botId: 424242, botToken: bot.botToken }));
      await capture.rejection(c.call('no.such.method', { secret: bot.botToken }));
      capture.lines.push(String(c), JSON.stringify(c), inspect(c, { showHidden: true, depth: 10 }));
    }

    // OAuth failures: a used-up refresh token, a wrong client secret, the token endpoint resetting.
    const renewed = await oauthStore.load();
    capture.secret(renewed?.accessToken, renewed?.refreshToken);
    await capture.rejection(
      createBitrix24Client({
        credentials: { kind: 'oauth', clientEndpoint: `${sim.baseUrl}/rest/`, clientId: app.clientId, clientSecret: app.clientSecret, oauthTokenUrl: sim.oauthTokenUrl, tokenStore: new InMemoryTokenStore({ accessToken: '', refreshToken: granted.refreshToken, expiresAt: 0 }) },
        logger: capture.logger,
      }).getEvents({}),
    );
    capture.secret('wrong-secret-value');
    await capture.rejection(
      createBitrix24Client({
        credentials: { kind: 'oauth', clientEndpoint: `${sim.baseUrl}/rest/`, clientId: app.clientId, clientSecret: 'wrong-secret-value', oauthTokenUrl: sim.oauthTokenUrl, tokenStore: oauthStore },
        logger: capture.logger,
        now: () => Date.now() + 10 * 3600_000,
      }).getEvents({}),
    );
    sim.faults.inject({ method: 'oauth.token', kind: 'reset', times: 3 });
    await capture.rejection(make('oauth').call('im.v2.Event.get', {}, { maxAttempts: 1 }).then(async () => {
      // Force a renewal through the resetting endpoint.
      const again = createBitrix24Client({
        credentials: { kind: 'oauth', clientEndpoint: `${sim.baseUrl}/rest/`, clientId: app.clientId, clientSecret: app.clientSecret, oauthTokenUrl: sim.oauthTokenUrl, tokenStore: oauthStore },
        logger: capture.logger,
        now: () => Date.now() + 20 * 3600_000,
        retry: { maxAttempts: 1 },
      });
      clients.push(again);
      return await again.getEvents({});
    }));
    sim.faults.clear();
    const last = await oauthStore.load();
    capture.secret(last?.accessToken, last?.refreshToken);

    // Secret-parsing and credential errors.
    capture.errors.push(
      ...[
        () => parseSourceSecret({ webhookUrl: webhookUrl.replace('http://', 'ftp://') }, 'webhook'),
        () => parseSourceSecret({ clientId: app.clientId, clientSecret: app.clientSecret }, 'oauth'),
        () => loadSourceCredentials({ source: { id: 's', portal: 'elsewhere.bitrix24.com', auth: 'webhook' }, secretJson: { webhookUrl }, tokenStoreFactory: () => oauthStore }),
        () => createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl: webhookUrl.replace('127.0.0.1', 'portal.example.com') } }),
      ].map((fn) => {
        try {
          fn();
          return new Error('no error');
        } catch (error) {
          return error;
        }
      }),
    );
    capture.lines.push(inspect(oauthStore, { showHidden: true }), JSON.stringify(oauthStore), String(oauthStore));

    await Promise.all(clients.map((c) => c.close()));
    // Sanity: the scenarios produced plenty to scan, including retries, renewals and many error classes.
    expect(capture.lines.some((line) => line.includes('retrying'))).toBe(true);
    expect(capture.lines.some((line) => line.includes('renewed'))).toBe(true);
    const names = new Set(capture.errors.map((error) => (error instanceof Error ? error.name : typeof error)));
    expect(names.size).toBeGreaterThanOrEqual(12);
    expect(capture.secrets.size).toBeGreaterThanOrEqual(8);
    expect(capture.assertNoSecrets()).toBeGreaterThan(150);
  });
});
