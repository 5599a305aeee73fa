// OAuth over real HTTP: renewal through the simulator's token endpoint with
// rotating single-use refresh tokens, persisted in DynamoDbTokenStore on
// DynamoDB Local; single-flight renewal in a process; the cross-process race
// (two clients, one table); invalid_grant / invalid_client.
import { DeleteItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Bitrix24Client,
  type Bitrix24ClientOptions,
  createBitrix24Client,
  DynamoDbTokenStore,
  InMemoryTokenStore,
  InvalidClientError,
  InvalidGrantError,
  OAuthRenewalError,
  type StoredTokens,
  TokenConflictError,
  type TokenStore,
  tokenItemKey,
} from '../../../functions/bitrix24/index.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { rigClients, uniqueName } from '../../setup/rig.js';
import { Capture, createStateTable } from './harness.js';

const GET = 'im.v2.Event.get';
const TOKEN = 'oauth.token';
const capture = new Capture();
const { dynamoDb } = rigClients();
const tableName = uniqueName('b24tokens');
let sim: PortalSimulator;
let simClock = 1_750_000_000_000;
let userId: number;
let app: { clientId: string; clientSecret: string };
const clients: Bitrix24Client[] = [];

function authorize(): StoredTokens {
  const granted = sim.authorizeApp(app.clientId, userId);
  capture.secret(granted.accessToken, granted.refreshToken);
  return { accessToken: granted.accessToken, refreshToken: granted.refreshToken, expiresAt: simClock + granted.expiresIn * 1000 };
}

function store(sourceId: string, initial?: StoredTokens): DynamoDbTokenStore {
  return new DynamoDbTokenStore({ client: dynamoDb, tableName, sourceId, ...(initial === undefined ? {} : { initial: () => Promise.resolve(initial) }) });
}

function client(tokenStore: TokenStore, extra: Partial<Bitrix24ClientOptions> = {}): Bitrix24Client {
  const created = createBitrix24Client({
    credentials: { kind: 'oauth', clientEndpoint: `${sim.baseUrl}/rest/`, clientId: app.clientId, clientSecret: app.clientSecret, oauthTokenUrl: sim.oauthTokenUrl, tokenStore },
    logger: capture.logger,
    now: () => simClock,
    sleep: () => Promise.resolve(),
    ...extra,
  });
  clients.push(created);
  return created;
}

async function storedItem(sourceId: string) {
  const answer = await dynamoDb.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: tokenItemKey(sourceId) } }, ConsistentRead: true }));
  const item = answer.Item ?? {};
  capture.secret(item.accessToken?.S, item.refreshToken?.S);
  return { accessToken: item.accessToken?.S, refreshToken: item.refreshToken?.S, expiresAt: Number(item.accessTokenExpiresAt?.N) };
}

const callsOf = (method: string) => sim.calls.filter((call) => call.method === method);

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false, now: () => simClock });
  userId = sim.addUser({ name: 'App user' }).id;
  sim.subscribe(userId);
  app = sim.registerApp();
  capture.secret(app.clientSecret);
  await createStateTable(dynamoDb, tableName);
});

afterAll(async () => {
  await sim.stop();
  dynamoDb.destroy();
  capture.assertNoSecrets(10);
});

beforeEach(() => {
  sim.faults.clear();
  sim.clearCalls();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('renewal and rotation', () => {
  it('seeds from the secret, renews before the first call and persists the rotated refresh token', async () => {
    const seed = authorize();
    const sourceId = uniqueName('seed');
    const c = client(store(sourceId, { accessToken: '', refreshToken: seed.refreshToken, expiresAt: 0 }));

    await c.getEvents({});
    expect(sim.calls.map((call) => call.method)).toEqual([TOKEN, GET]);
    expect(callsOf(GET)[0]).toMatchObject({ auth: 'oauth', status: 200 });
    const item = await storedItem(sourceId);
    expect(item.refreshToken).toBeDefined();
    expect(item.refreshToken).not.toBe(seed.refreshToken);
    expect(item.expiresAt).toBe(simClock + 3600 * 1000);

    // The seed was single-use: only the stored token renews now.
    const stale = await capture.rejection(client(new InMemoryTokenStore({ ...seed, expiresAt: 0 })).getEvents({}));
    expect(stale).toBeInstanceOf(InvalidGrantError);
  });

  it('renews shortly before expiry without waiting for expired_token', async () => {
    const sourceId = uniqueName('early');
    const tokens = authorize();
    const tokenStore = store(sourceId);
    await tokenStore.save(tokens, undefined);
    const c = client(tokenStore, { renewBeforeExpiryMs: 120_000 });
    await c.getEvents({});
    expect(callsOf(TOKEN)).toHaveLength(0);

    simClock += 3600_000 - 119_000; // inside the margin, not yet expired
    await c.getEvents({});
    expect(sim.calls.map((call) => call.method)).toEqual([GET, TOKEN, GET]);
    expect(sim.calls.some((call) => call.errorCode === 'expired_token')).toBe(false);
    expect((await storedItem(sourceId)).refreshToken).not.toBe(tokens.refreshToken);
  });

  it('an expired_token answer renews and retries once', async () => {
    const sourceId = uniqueName('expired');
    const tokens = authorize();
    const tokenStore = store(sourceId);
    await tokenStore.save(tokens, undefined);
    // The client's clock says the token is fresh; the portal's says it expired.
    const frozen = simClock;
    const c = client(tokenStore, { now: () => frozen });
    simClock += 3601_000;
    await c.getEvents({});
    expect(sim.calls.map((call) => [call.method, call.errorCode ?? 'ok'])).toEqual([
      [GET, 'expired_token'],
      [TOKEN, 'ok'],
      [GET, 'ok'],
    ]);
  });

  it('renewal is single-flight within a process', async () => {
    const sourceId = uniqueName('flight');
    const tokenStore = store(sourceId);
    await tokenStore.save({ ...authorize(), expiresAt: 0 }, undefined);
    const c = client(tokenStore);
    await Promise.all(Array.from({ length: 10 }, () => c.getEvents({ limit: 1 })));
    expect(callsOf(TOKEN)).toHaveLength(1);
    expect(callsOf(GET)).toHaveLength(10);
    expect(c.oauthRenewals).toBe(1);
  });
});

describe('concurrent renewal across processes', () => {
  it('two clients on one DynamoDB item: both succeed, the refresh token is used once, the stored one stays valid', async () => {
    const sourceId = uniqueName('race');
    const seedStore = store(sourceId);
    await seedStore.save({ ...authorize(), expiresAt: 0 }, undefined);
    // Two "processes": separate clients, separate store objects, one table item; real time for the race.
    const options = { now: Date.now, sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)), renewalRaceChecks: 20, renewalRaceCheckIntervalMs: 50 };
    const a = client(store(sourceId), options);
    const b = client(store(sourceId), options);

    const [pageA, pageB] = await Promise.all([a.getEvents({}), b.getEvents({})]);
    expect(pageA.events).toBeDefined();
    expect(pageB.events).toBeDefined();
    const renewals = callsOf(TOKEN);
    // Exactly one renewal succeeded; a loser that reached the token endpoint got invalid_grant and adopted the winner's tokens.
    expect(renewals.filter((call) => call.status === 200)).toHaveLength(1);
    expect(renewals.filter((call) => call.status !== 200).every((call) => call.errorCode === 'invalid_grant')).toBe(true);

    // The stored refresh token is the live one: a third process renews from it.
    simClock += 3601_000;
    const stored = await storedItem(sourceId);
    const c = client(store(sourceId), { now: () => simClock + 10 * 3600_000 });
    await c.getEvents({});
    expect(callsOf(TOKEN).filter((call) => call.status === 200)).toHaveLength(2);
    expect((await storedItem(sourceId)).refreshToken).not.toBe(stored.refreshToken);
  });

  it('losing the conditional save: the loser reloads the winner\'s tokens and its call succeeds', async () => {
    const sourceId = uniqueName('conflict');
    const backing = store(sourceId);
    await backing.save({ ...authorize(), expiresAt: 0 }, undefined);
    const winner = authorize();
    let conflicts = 0;
    // Between this process's renewal and its save, another process stores a newer pair (real conditional write).
    const racing: TokenStore = {
      load: () => backing.load(),
      save: async (next, previous) => {
        const current = await backing.load();
        await backing.save(winner, current);
        try {
          await backing.save(next, previous);
        } catch (error) {
          if (error instanceof TokenConflictError) conflicts += 1;
          throw error;
        }
      },
    };
    const c = client(racing);
    await c.getEvents({});
    expect(conflicts).toBe(1);
    expect((await storedItem(sourceId)).refreshToken).toBe(winner.refreshToken);
    // The call went out with the winner's access token, which the portal accepted.
    expect(callsOf(GET)).toEqual([expect.objectContaining({ auth: 'oauth', status: 200 })]);
  });
});

describe('OAuth errors', () => {
  it("the OAuth server's HTML 502 → retried; the renewal then succeeds", async () => {
    const tokenStore = store(uniqueName('tok502'));
    await tokenStore.save({ ...authorize(), expiresAt: 0 }, undefined);
    sim.faults.inject({ method: TOKEN, kind: 'html' });
    await client(tokenStore).getEvents({});
    expect(sim.calls.map((call) => [call.method, call.status])).toEqual([
      [TOKEN, 502],
      [TOKEN, 200],
      [GET, 200],
    ]);
  });

  it('PAYMENT_REQUIRED from the OAuth server → OAuthRenewalError saying what to do', async () => {
    const tokenStore = store(uniqueName('pay'));
    await tokenStore.save({ ...authorize(), expiresAt: 0 }, undefined);
    sim.faults.inject({ method: TOKEN, kind: 'error', status: 402, code: 'PAYMENT_REQUIRED' });
    const error = await capture.rejection(client(tokenStore).getEvents({}));
    expect(error).toBeInstanceOf(OAuthRenewalError);
    expect(error).toMatchObject({ code: 'PAYMENT_REQUIRED', kind: 'oauth', retryable: false });
    expect((error as Error).message).toContain('marketplace');
  });

  it('a connection reset after the OAuth server rotated the token loses the new one: InvalidGrantError (documented hazard)', async () => {
    const tokenStore = store(uniqueName('lost'));
    await tokenStore.save({ ...authorize(), expiresAt: 0 }, undefined);
    sim.faults.inject({ method: TOKEN, kind: 'reset' });
    const error = await capture.rejection(client(tokenStore).getEvents({}));
    expect(sim.calls.map((call) => [call.method, call.errorCode ?? call.status])).toEqual([
      [TOKEN, 200],
      [TOKEN, 'invalid_grant'],
    ]);
    expect(error).toBeInstanceOf(InvalidGrantError);
  });

  it('invalid_grant → InvalidGrantError: re-authorise the app by hand', async () => {
    capture.secret('dead-refresh-token');
    const c = client(new InMemoryTokenStore({ accessToken: '', refreshToken: 'dead-refresh-token', expiresAt: 0 }));
    const error = await capture.rejection(c.getEvents({}));
    expect(error).toBeInstanceOf(InvalidGrantError);
    expect(error).toMatchObject({ code: 'invalid_grant', kind: 'oauth', retryable: false });
    expect((error as Error).message).toContain('re-authorise the app by hand');
    expect(callsOf(GET)).toHaveLength(0);
  });

  it('invalid_client → InvalidClientError', async () => {
    capture.secret('wrong-client-secret');
    const tokens = authorize();
    const c = createBitrix24Client({
      credentials: { kind: 'oauth', clientEndpoint: `${sim.baseUrl}/rest/`, clientId: app.clientId, clientSecret: 'wrong-client-secret', oauthTokenUrl: sim.oauthTokenUrl, tokenStore: new InMemoryTokenStore({ ...tokens, expiresAt: 0 }) },
      logger: capture.logger,
      now: () => simClock,
    });
    clients.push(c);
    const error = await capture.rejection(c.getEvents({}));
    expect(error).toBeInstanceOf(InvalidClientError);
    expect((error as Error).message).toContain('clientId/clientSecret');
  });
});

describe('DynamoDbTokenStore', () => {
  it('loads the seed while empty, saves conditionally, rejects a stale save', async () => {
    const sourceId = uniqueName('store');
    const seed: StoredTokens = { accessToken: '', refreshToken: 'seed-rt', expiresAt: 0 };
    const s = store(sourceId, seed);
    expect(await s.load()).toEqual(seed);
    const first: StoredTokens = { accessToken: 'at-1', refreshToken: 'rt-1', expiresAt: 1 };
    await s.save(first, seed);
    expect(await s.load()).toEqual(first);
    await expect(s.save({ ...first, refreshToken: 'rt-x' }, seed)).rejects.toBeInstanceOf(TokenConflictError);
    await expect(s.save({ ...first, refreshToken: 'rt-x' }, undefined)).rejects.toBeInstanceOf(TokenConflictError);
    const second: StoredTokens = { accessToken: 'at-2', refreshToken: 'rt-2', expiresAt: 2 };
    await s.save(second, first);
    expect(await s.load()).toEqual(second);
    await expect(s.save(first, first)).rejects.toBeInstanceOf(TokenConflictError);
    await dynamoDb.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: tokenItemKey(sourceId) } } }));
    expect(await s.load()).toEqual(seed);
  });

  it('prefers a new seed from the secret (app re-authorised by hand) over the old chain', async () => {
    const sourceId = uniqueName('reseed');
    const oldSeed: StoredTokens = { accessToken: '', refreshToken: 'old-seed', expiresAt: 0 };
    await store(sourceId, oldSeed).save({ accessToken: 'a', refreshToken: 'chain-1', expiresAt: 5 }, oldSeed);
    const newSeed: StoredTokens = { accessToken: '', refreshToken: 'new-seed', expiresAt: 0 };
    const s = store(sourceId, newSeed);
    expect(await s.load()).toEqual(newSeed);
    await s.save({ accessToken: 'b', refreshToken: 'chain-new-1', expiresAt: 6 }, newSeed);
    expect(await s.load()).toMatchObject({ refreshToken: 'chain-new-1' });
    // The old chain's holder can no longer overwrite it.
    await expect(store(sourceId, oldSeed).save({ accessToken: 'c', refreshToken: 'chain-2', expiresAt: 7 }, { accessToken: 'a', refreshToken: 'chain-1', expiresAt: 5 })).rejects.toBeInstanceOf(TokenConflictError);
  });

  it('an old seed still held by a warm process never wins over the chain of a newer seed', async () => {
    const sourceId = uniqueName('oldseed');
    const oldSeed: StoredTokens = { accessToken: '', refreshToken: 'seed-one', expiresAt: 0 };
    const newSeed: StoredTokens = { accessToken: '', refreshToken: 'seed-two', expiresAt: 0 };
    await store(sourceId, oldSeed).save({ accessToken: 'a1', refreshToken: 'chain-one-1', expiresAt: 5 }, oldSeed);
    // The operator re-authorised: a process with the new secret starts a chain from seed two.
    const fresh = store(sourceId, newSeed);
    expect(await fresh.load()).toEqual(newSeed);
    await fresh.save({ accessToken: 'a2', refreshToken: 'chain-two-1', expiresAt: 6 }, newSeed);

    // A warm process still holding seed one (its secret cache, its built client) reads the good chain, not its spent seed.
    const warm = store(sourceId, oldSeed);
    expect(await warm.load()).toMatchObject({ refreshToken: 'chain-two-1' });
    // Nor can it start a chain from seed one over it.
    await expect(warm.save({ accessToken: 'x', refreshToken: 'chain-one-again', expiresAt: 7 }, oldSeed)).rejects.toBeInstanceOf(TokenConflictError);
    // It continues the good chain with an ordinary conditional save, which keeps the chain's lineage.
    await warm.save({ accessToken: 'a3', refreshToken: 'chain-two-2', expiresAt: 8 }, { accessToken: 'a2', refreshToken: 'chain-two-1', expiresAt: 6 });
    expect(await fresh.load()).toMatchObject({ refreshToken: 'chain-two-2' });
    expect(await store(sourceId, oldSeed).load()).toMatchObject({ refreshToken: 'chain-two-2' });
    // A third, never-seen seed still replaces it.
    const thirdSeed: StoredTokens = { accessToken: '', refreshToken: 'seed-three', expiresAt: 0 };
    expect(await store(sourceId, thirdSeed).load()).toEqual(thirdSeed);
  });

  it('never shows token values in toString/JSON', () => {
    const s = store('visible', { accessToken: 'x', refreshToken: 'hidden-seed', expiresAt: 0 });
    expect(`${String(s)} ${JSON.stringify(s)}`).not.toContain('hidden-seed');
  });
});
