// A renewal that succeeded has spent the old refresh token; if saving the new
// pair then fails for a reason other than a lost race (throttling, network),
// the new pair is the only live one. Over real HTTP (simulator's OAuth server)
// and DynamoDB Local, with SDK middleware that fails the token save N times.
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Bitrix24Client,
  createBitrix24Client,
  DynamoDbTokenStore,
  type StoredTokens,
  tokenItemKey,
} from '../../../functions/bitrix24/index.js';
import { createLocalDynamoDbClient } from '../../../functions/local/aws-emulators.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { rigEndpoints, uniqueName } from '../../setup/rig.js';
import { Capture, createStateTable, failingTokenSaves } from './harness.js';

const GET = 'im.v2.Event.get';
const TOKEN = 'oauth.token';
const capture = new Capture();
const tableName = uniqueName('b24save');
let sim: PortalSimulator;
let simClock = 1_750_000_000_000;
const waits: number[] = [];
let userId: number;
let app: { clientId: string; clientSecret: string };
const clients: Bitrix24Client[] = [];
const dynamoClients: DynamoDBClient[] = [];

function flakyDynamoDb(): { client: DynamoDBClient; failures: { remaining: number; thrown: number } } {
  const client = createLocalDynamoDbClient(rigEndpoints());
  dynamoClients.push(client);
  return { client, failures: failingTokenSaves(client) };
}

const plainDynamoDb = (): DynamoDBClient => {
  const client = createLocalDynamoDbClient(rigEndpoints());
  dynamoClients.push(client);
  return client;
};

function authorize(): StoredTokens {
  const granted = sim.authorizeApp(app.clientId, userId);
  capture.secret(granted.accessToken, granted.refreshToken);
  return { accessToken: granted.accessToken, refreshToken: granted.refreshToken, expiresAt: simClock + granted.expiresIn * 1000 };
}

function client(store: DynamoDbTokenStore): Bitrix24Client {
  const created = createBitrix24Client({
    credentials: { kind: 'oauth', clientEndpoint: `${sim.baseUrl}/rest/`, clientId: app.clientId, clientSecret: app.clientSecret, oauthTokenUrl: sim.oauthTokenUrl, tokenStore: store },
    logger: capture.logger,
    now: () => simClock,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  });
  clients.push(created);
  return created;
}

async function storedRefreshToken(sourceId: string): Promise<string | undefined> {
  const answer = await plainDynamoDb().send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: tokenItemKey(sourceId) } }, ConsistentRead: true }));
  const refreshToken = answer.Item?.refreshToken?.S;
  capture.secret(refreshToken, answer.Item?.accessToken?.S);
  return refreshToken;
}

/** A source whose stored access token has expired: the next call renews. */
async function expiredSource(): Promise<{ sourceId: string; spent: string }> {
  const sourceId = uniqueName('save');
  const tokens = { ...authorize(), expiresAt: 0 };
  await new DynamoDbTokenStore({ client: plainDynamoDb(), tableName, sourceId }).save(tokens, undefined);
  return { sourceId, spent: tokens.refreshToken };
}

const tokenCalls = () => sim.calls.filter((call) => call.method === TOKEN).map((call) => call.errorCode ?? call.status);
const errorLines = () => capture.lines.filter((line) => line.startsWith('error '));

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false, now: () => simClock });
  userId = sim.addUser({ name: 'Save user' }).id;
  sim.subscribe(userId);
  app = sim.registerApp();
  capture.secret(app.clientSecret);
  await createStateTable(plainDynamoDb(), tableName);
});

afterAll(async () => {
  await sim.stop();
  for (const c of dynamoClients) c.destroy();
  capture.assertNoSecrets(10);
});

beforeEach(() => {
  sim.clearCalls();
  waits.length = 0;
  capture.lines.length = 0;
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('a renewal whose save fails is never thrown away', () => {
  it('the save throttled twice: retried with backoff, the call succeeds, the store holds the live refresh token', async () => {
    const { sourceId, spent } = await expiredSource();
    const flaky = flakyDynamoDb();
    const c = client(new DynamoDbTokenStore({ client: flaky.client, tableName, sourceId }));
    flaky.failures.remaining = 2;

    await c.getEvents({});

    expect(flaky.failures.thrown).toBe(2);
    expect(waits).toEqual([200, 400]);
    expect(tokenCalls()).toEqual([200]);
    const stored = await storedRefreshToken(sourceId);
    expect(stored).not.toBe(spent);
    expect(errorLines()).toEqual([]);
    // Another process renews from the stored token: the chain is intact.
    simClock += 3601_000;
    await client(new DynamoDbTokenStore({ client: plainDynamoDb(), tableName, sourceId })).getEvents({});
    expect(tokenCalls()).toEqual([200, 200]);
  });

  it('the save keeps failing: the process keeps the chain in memory, says so, renews from it, and saves it once the store recovers', async () => {
    const { sourceId, spent } = await expiredSource();
    const flaky = flakyDynamoDb();
    const c = client(new DynamoDbTokenStore({ client: flaky.client, tableName, sourceId }));
    flaky.failures.remaining = Number.POSITIVE_INFINITY;

    // 1. Renewal succeeds, all 5 save attempts fail: the call still succeeds, loudly.
    await c.getEvents({});
    expect(flaky.failures.thrown).toBe(5);
    expect(waits).toEqual([200, 400, 800, 1600]);
    expect(await storedRefreshToken(sourceId)).toBe(spent);
    expect(errorLines()).toEqual([expect.stringContaining('could NOT be saved')]);

    // 2. The next renewal spends the in-memory refresh token (not the spent stored one): no invalid_grant.
    simClock += 3601_000;
    await c.getEvents({});
    expect(tokenCalls()).toEqual([200, 200]);
    expect(sim.calls.filter((call) => call.method === GET).every((call) => call.status === 200)).toBe(true);

    // 3. The store recovers: the next call after the retry interval saves the live chain.
    flaky.failures.remaining = 0;
    simClock += 30_000;
    await c.getEvents({});
    const stored = await storedRefreshToken(sourceId);
    expect(stored).not.toBe(spent);
    expect(capture.lines.some((line) => line.includes('are saved now'))).toBe(true);

    // 4. Another process continues the chain from the store.
    simClock += 3601_000;
    await client(new DynamoDbTokenStore({ client: plainDynamoDb(), tableName, sourceId })).getEvents({});
    expect(tokenCalls()).toEqual([200, 200, 200]);
    expect(await storedRefreshToken(sourceId)).not.toBe(stored);
  });
});
