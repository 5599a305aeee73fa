// Clients follow their secret. A warm consumer (ctx.bitrix24 through the
// Lambda default factory) and the real poller handler share one source: the
// portal simulator over HTTP, OAuth tokens in DynamoDB Local, the pipeline's
// queues in fauxqs, and a stand-in for Secrets Manager whose value the
// "operator" changes. Both read it through their own 5-minute SecretReader.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Bitrix24Credentials,
  createBitrix24Client,
  createSecretReader,
  InvalidGrantError,
  type SecretReader,
} from '../../../functions/bitrix24/index.js';
import { bitrix24ClientFactory } from '../../../functions/consumers/bitrix24-from-env.js';
import { type Bitrix24Caller, SourceClients } from '../../../functions/consumers/source-clients.js';
import { provisionLocalPipeline, type ProvisionedPipeline } from '../../../functions/local/provision.js';
import { createPollerHandler } from '../../../functions/poller/handler.js';
import type { PollReport } from '../../../functions/poller/poll-loop.js';
import { secretNameOf } from '../../../functions/shared/config.js';
import { ENV } from '../../../functions/shared/observability.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { rigClients, rigEndpoints, uniqueName } from '../../setup/rig.js';
import { createLocalDynamoDbClient } from '../../../functions/local/aws-emulators.js';
import { Capture, captureOutput, failingTokenSaves } from './harness.js';
import { s3PayloadWriter } from '../../../functions/poller/s3-payload-writer.js';

const TOKEN = 'oauth.token';
const SECRET_MAX_AGE_MS = 300_000;
const capture = new Capture();
const aws = rigClients();
let sim: PortalSimulator;
let clock = 1_750_000_000_000;
const now = (): number => clock;
const sleep = (ms: number): Promise<void> => {
  clock += ms;
  return Promise.resolve();
};
let pipeline: ProvisionedPipeline;
let app: { clientId: string; clientSecret: string };
/** The stand-in for Secrets Manager: secret name → current value. */
const secretStore = new Map<string, string>();
const secretFetches: string[] = [];

function secretReader(): SecretReader {
  return createSecretReader({
    maxAgeMs: SECRET_MAX_AGE_MS,
    now,
    fetch: (name) => {
      secretFetches.push(name);
      const value = secretStore.get(name);
      return value === undefined ? Promise.reject(new Error(`no secret ${name}`)) : Promise.resolve(value);
    },
  });
}

function putSecret(name: string, value: Record<string, unknown>): void {
  secretStore.set(name, JSON.stringify(value));
}

/** The operator re-authorises the app as `userId`: a fresh refresh token, as the docs prescribe after invalid_grant. */
function reauthorise(userId: number): string {
  const granted = sim.authorizeApp(app.clientId, userId);
  capture.secret(granted.accessToken, granted.refreshToken);
  return granted.refreshToken;
}

function oauthSecret(refreshToken: string): Record<string, unknown> {
  return { clientId: app.clientId, clientSecret: app.clientSecret, refreshToken, clientEndpoint: `${sim.baseUrl}/rest/`, oauthTokenUrl: sim.oauthTokenUrl };
}

/** A warm consumer container: the Lambda default factory behind ctx.bitrix24, kept across invocations. */
function warmConsumer(source: { id: string; auth: 'webhook' | 'oauth' }, dynamoDb = aws.dynamoDb): Bitrix24Caller {
  const factory = bitrix24ClientFactory({
    sources: [{ id: source.id, kind: 'user', portal: sim.portalHost, auth: source.auth }],
    prefix: pipeline.prefix,
    stateTableName: pipeline.stateTableName,
    dynamoDb: () => dynamoDb,
    secrets: secretReader(),
    logger: capture.logger,
    createClient: (credentials: Bitrix24Credentials) => createBitrix24Client({ credentials, logger: capture.logger, now, sleep }),
  });
  return new SourceClients(factory).callerFor(source.id, sim.portalHost, () => clock + 60_000);
}

/** The real poller Lambda handler, one warm container. */
function pollerContainer(): (sourceId: string) => Promise<PollReport> {
  const handler = createPollerHandler({
    env: () => ({
      [ENV.stateTableName]: pipeline.stateTableName,
      [ENV.queueUrls]: JSON.stringify(pipeline.queueUrls),
      [ENV.routes]: JSON.stringify(pipeline.routes),
      [ENV.payloadBucketName]: pipeline.payloadBucketName,
      [ENV.prefix]: pipeline.prefix,
    }),
    dynamoDb: aws.dynamoDb,
    sqs: aws.sqs,
    payloads: s3PayloadWriter(aws.s3),
    secrets: secretReader(),
    logger: new Logger({ serviceName: 'secret-follow-poller', logLevel: 'INFO' }),
    metrics: new Metrics({ namespace: 'Test', serviceName: 'secret-follow-poller' }),
    now,
    sleep,
  });
  return async (sourceId) => {
    const source = { id: sourceId, kind: 'user', portal: sim.portalHost, auth: 'oauth', mode: 'per-schedule', pageLimit: 10 } as const;
    const { result, lines } = await captureOutput(() => handler({ source }, { getRemainingTimeInMillis: () => 60_000, awsRequestId: uniqueName('req') }));
    capture.lines.push(...lines);
    return result;
  };
}

const tokenAnswers = () => sim.calls.filter((call) => call.method === TOKEN).map((call) => call.errorCode ?? String(call.status));
const send = (caller: Bitrix24Caller, text: string) => caller.call<number>('im.message.add', { DIALOG_ID: 'chat1', MESSAGE: text });
const sentTexts = () => sim.sentMessages.map((message) => message.text);

/**
 * An OAuth source used by a warm poller and a warm consumer, whose chain then
 * broke the documented way (the answer of a renewal that rotated the token
 * was lost): both get invalid_grant.
 */
async function brokenOAuthSource(prefix: string) {
  const userId = sim.addUser({ name: prefix }).id;
  sim.subscribe(userId);
  const sourceId = uniqueName(prefix);
  const secretName = secretNameOf(pipeline.prefix, { id: sourceId, secretName: undefined });
  putSecret(secretName, oauthSecret(reauthorise(userId)));
  const poll = pollerContainer();
  const consumer = warmConsumer({ id: sourceId, auth: 'oauth' });
  expect((await poll(sourceId)).errorCode).toBeUndefined();
  await send(consumer, 'before');

  clock += 3_601_000;
  sim.faults.inject({ method: TOKEN, kind: 'reset' });
  // The renewal is a write: its answer lost, it is not retried blindly (the
  // run fails); the next run renews with the spent token.
  expect((await poll(sourceId)).errorCode).toBeDefined();
  const broken = await poll(sourceId);
  expect(broken.errorCode).toBe('invalid_grant');
  expect(tokenAnswers().slice(-2)).toEqual(['200', 'invalid_grant']);
  await expect(send(consumer, 'while broken')).rejects.toBeInstanceOf(InvalidGrantError);
  return { userId, sourceId, secretName, poll, consumer };
}

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false, now });
  app = sim.registerApp();
  capture.secret(app.clientSecret);
  pipeline = await provisionLocalPipeline({ prefix: uniqueName('sf'), dynamoDb: aws.dynamoDb, sqs: aws.sqs, s3: aws.s3 });
});

afterAll(async () => {
  await sim.stop();
  aws.dynamoDb.destroy();
  aws.sqs.destroy();
  aws.s3.destroy();
  capture.assertNoSecrets(20);
});

beforeEach(() => {
  sim.faults.clear();
  sim.clearCalls();
  clock += 24 * 3_600_000;
});

describe('after invalid_grant the operator puts a new refresh token in the secret', () => {
  it('the poller takes it first: the warm consumer follows the new chain instead of its old seed, and the poller keeps renewing', async () => {
    const { userId, sourceId, secretName, poll, consumer } = await brokenOAuthSource('replay-a');

    putSecret(secretName, oauthSecret(reauthorise(userId)));
    clock += SECRET_MAX_AGE_MS; // the poller's cached secret expires; it rebuilds from the new one
    expect((await poll(sourceId)).errorCode).toBeUndefined();
    sim.clearCalls();

    // The replay: three calls of the warm consumer. Each posts its message exactly once.
    const outcomes: string[] = [];
    for (const text of ['one', 'two', 'three']) {
      outcomes.push(await send(consumer, text).then(() => 'posted', (error: unknown) => (error instanceof Error ? error.name : 'failed')));
    }
    expect(outcomes).toEqual(['posted', 'posted', 'posted']);
    expect(sentTexts().filter((text) => ['one', 'two', 'three'].includes(text))).toEqual(['one', 'two', 'three']);
    expect(tokenAnswers()).not.toContain('invalid_grant');

    // The poller's chain is intact: an hour later it renews from the stored token.
    clock += 3_601_000;
    expect((await poll(sourceId)).errorCode).toBeUndefined();
    expect(tokenAnswers()).toEqual(['200']);
  });

  it('the warm consumer calls first, with the old secret still cached: it re-reads the secret, starts the new chain, and the poller follows it', async () => {
    const { userId, sourceId, secretName, poll, consumer } = await brokenOAuthSource('replay-b');

    putSecret(secretName, oauthSecret(reauthorise(userId)));
    sim.clearCalls();
    secretFetches.length = 0;
    // Seconds later, well within the readers' 5 minutes: both still hold the old secret.
    await send(consumer, 'first after the fix');
    expect(sentTexts().filter((text) => text === 'first after the fix')).toHaveLength(1);
    expect(secretFetches).toEqual([secretName]); // one forced re-read, after invalid_grant
    expect(tokenAnswers()).toEqual(['invalid_grant', '200']);

    // The poller still holds the old seed (cached secret, built client): the store's lineage says that seed is older,
    // so it takes the consumer's new chain instead of spending its dead refresh token.
    const report = await poll(sourceId);
    expect(report.errorCode).toBeUndefined();
    expect(secretFetches).toEqual([secretName]);
    expect(tokenAnswers()).toEqual(['invalid_grant', '200']);
    await send(consumer, 'after the poller ran');
    expect(sentTexts().filter((text) => text === 'after the poller ran')).toHaveLength(1);
  });
});

describe('renewed tokens the store could not save', () => {
  it('a credential refusal does not make the consumer rebuild over them: it would reload the spent refresh token', async () => {
    const userId = sim.addUser({ name: 'Unsaved' }).id;
    const sourceId = uniqueName('unsaved');
    const secretName = secretNameOf(pipeline.prefix, { id: sourceId, secretName: undefined });
    putSecret(secretName, oauthSecret(reauthorise(userId)));
    const flakyDynamoDb = createLocalDynamoDbClient(rigEndpoints());
    const failures = failingTokenSaves(flakyDynamoDb);
    const consumer = warmConsumer({ id: sourceId, auth: 'oauth' }, flakyDynamoDb);
    failures.remaining = Number.POSITIVE_INFINITY;
    // The seed is spent by the first renewal; every save of its successor fails.
    await send(consumer, 'renewed, unsaved');
    expect(capture.lines.some((line) => line.includes('could NOT be saved'))).toBe(true);

    // A refusal that a new secret could cure, with the secret unchanged: rebuilding would load the spent seed.
    sim.faults.inject({ method: 'im.message.add', kind: 'error', status: 401, code: 'NO_AUTH_FOUND', times: 1 });
    await expect(send(consumer, 'refused once')).rejects.toMatchObject({ code: 'NO_AUTH_FOUND' });
    expect(capture.lines.some((line) => line.includes('not rebuilding the source client'))).toBe(true);

    // The in-memory chain still works, and is saved once the store recovers.
    failures.remaining = 0;
    clock += 3_601_000;
    await send(consumer, 'still on the live chain');
    expect(sentTexts().filter((text) => text === 'still on the live chain')).toHaveLength(1);
    expect(tokenAnswers()).toEqual(['200', '200']);
    flakyDynamoDb.destroy();
  });
});

describe('webhook secrets', () => {
  it('a fixed webhook URL is picked up by a warm consumer at the next call: the refused call re-reads the secret and posts once', async () => {
    const userId = sim.addUser({ name: 'Webhook fix' }).id;
    const sourceId = uniqueName('hookfix');
    const secretName = secretNameOf(pipeline.prefix, { id: sourceId, secretName: undefined });
    const good = sim.createWebhook(userId);
    const broken = good.replace(/\/rest\/(\d+)\/[^/]+\//, '/rest/$1/deletedcode/');
    capture.secret(good, new URL(good).pathname.split('/')[3], 'deletedcode');
    putSecret(secretName, { webhookUrl: broken });
    const consumer = warmConsumer({ id: sourceId, auth: 'webhook' });
    await expect(send(consumer, 'refused')).rejects.toMatchObject({ code: 'NO_AUTH_FOUND' });

    putSecret(secretName, { webhookUrl: good });
    await send(consumer, 'fixed');
    expect(sim.sentMessages.filter((message) => message.text === 'fixed')).toEqual([expect.objectContaining({ userId })]);
  });

  it('a changed secret is used once the reader cache expires, without any failure', async () => {
    const first = sim.addUser({ name: 'Hook one' }).id;
    const second = sim.addUser({ name: 'Hook two' }).id;
    const sourceId = uniqueName('hookswap');
    const secretName = secretNameOf(pipeline.prefix, { id: sourceId, secretName: undefined });
    const one = sim.createWebhook(first);
    const two = sim.createWebhook(second);
    capture.secret(new URL(one).pathname.split('/')[3], new URL(two).pathname.split('/')[3]);
    putSecret(secretName, { webhookUrl: one });
    const consumer = warmConsumer({ id: sourceId, auth: 'webhook' });
    await send(consumer, 'as one');

    putSecret(secretName, { webhookUrl: two });
    await send(consumer, 'still one (cached)');
    clock += SECRET_MAX_AGE_MS;
    await send(consumer, 'as two');
    const byText = new Map(sim.sentMessages.map((message) => [message.text, message.userId]));
    expect([byText.get('as one'), byText.get('still one (cached)'), byText.get('as two')]).toEqual([first, first, second]);
  });
});
