// Installed sources are polled and served with no extra step (issue 13 §5):
// the portal simulator's OAuth app flow POSTs ONAPPINSTALL to the install
// function (over HTTP); a poller shard invocation (createPollerHandler, the
// registry and state tables on DynamoDB Local, the route queues on fauxqs)
// polls the sources the install added and publishes the portal's events; a
// consumer wired from its environment with the default resolver answers the
// bot's message through ctx.reply and calls ctx.bitrix24 as the app. Both
// renew through the one token chain of the install item, each seeing the
// other's renewal; after ONAPPUNINSTALL the poller does not poll the portal
// and names the reason. Nothing secret reaches a log line, report or error.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretReader } from '../../../functions/bitrix24/secret-reader.js';
import { bitrix24ClientFactory } from '../../../functions/consumers/bitrix24-from-env.js';
import { createConsumerHandlerFromEnv } from '../../../functions/consumers/lambda-consumer.js';
import { DynamoDbPortalBudgetStore, PortalBudget, portalRatesFromJson } from '../../../functions/budget/index.js';
import { AppNotInstalledError } from '../../../functions/install/errors.js';
import { createInstallHandler, INSTALL_ENV } from '../../../functions/install/handler.js';
import { installSourceIds } from '../../../functions/install/install-flow.js';
import { appInstallItemKey } from '../../../functions/install/install-store.js';
import { startSqsEventSource, type RunningSqsEventSource } from '../../../functions/local/lambda-sqs-event-source.js';
import { provisionLocalPipeline, type ProvisionedPipeline } from '../../../functions/local/provision.js';
import { createPollerHandler, type ShardEvent } from '../../../functions/poller/handler.js';
import type { ShardReport } from '../../../functions/poller/shard-loop.js';
import { s3PayloadWriter } from '../../../functions/poller/s3-payload-writer.js';
import { DynamoDbSourceRegistry } from '../../../functions/registry/dynamodb-source-registry.js';
import { ENV } from '../../../functions/shared/observability.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { rigClients, uniqueName } from '../../setup/rig.js';
import { capturingLogger, countingMetrics } from '../../unit/consumers/factories.js';
import { Capture } from '../bitrix24/harness.js';
import { type FunctionUrlServer, serveFunctionUrl } from './harness.js';

const { dynamoDb, sqs, s3 } = rigClients();
const capture = new Capture();
const consumerLog = capturingLogger();
let pipeline: ProvisionedPipeline;
let portal: PortalSimulator;
let app: { clientId: string; clientSecret: string };
let admin: number;
let endpoint: FunctionUrlServer;
let consumer: RunningSqsEventSource | undefined;
let memberId = '';
let appSecretName = '';
const secretReads: string[] = [];
/** The poller's clock runs ahead between invocations so the idle pacing (≥ 5 s between idle polls) does not hold the test. */
let skewMs = 0;
const answered: { sourceId: string; serverTime: unknown }[] = [];

// The app secret as Secrets Manager would hold it; every process reads it by the same name.
const secrets = () =>
  createSecretReader({
    fetch: (name) => {
      secretReads.push(name);
      return name === appSecretName ? Promise.resolve(JSON.stringify(app)) : Promise.reject(new Error(`no secret ${name}`));
    },
  });

const poller = () =>
  createPollerHandler({
    env: () => ({
      [ENV.stateTableName]: pipeline.stateTableName,
      [ENV.queueUrls]: JSON.stringify(pipeline.queueUrls),
      [ENV.routes]: JSON.stringify(pipeline.routes),
      [ENV.payloadBucketName]: pipeline.payloadBucketName,
      [ENV.prefix]: pipeline.prefix,
      [ENV.registryTableName]: pipeline.registryTableName,
      [ENV.appSecretName]: appSecretName,
    }),
    dynamoDb,
    sqs,
    payloads: s3PayloadWriter(s3),
    secrets: secrets(),
    logger: new Logger({ serviceName: 'installed-poller', logLevel: 'INFO' }),
    metrics: new Metrics({ namespace: 'Test', serviceName: 'installed-poller' }),
    now: () => Date.now() + skewMs,
    tuning: { safetyMarginMs: 400, minFetchMs: 200, leaseMs: 10_000, renewBeforeMs: 5_000 },
    shard: { refreshIntervalMs: 250, stopClaimingBeforeMs: 400 },
    // The portal budget shared with the consumer (budget#<host>, same table) on the real clock: only the poller's pacing runs ahead.
    requestGate: new PortalBudget({ store: new DynamoDbPortalBudgetStore({ client: dynamoDb, tableName: pipeline.stateTableName }), rateOf: portalRatesFromJson(undefined) }),
  });
let pollerHandler: ReturnType<typeof poller>;

/** stdout and stderr (Powertools writes warnings and errors there) while `run` runs. */
async function captureOutput<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const originals = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  const into = (chunk: string | Uint8Array): boolean => {
    lines.push(...(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')).split('\n').filter((line) => line !== ''));
    return true;
  };
  process.stdout.write = into;
  process.stderr.write = into;
  try {
    return { result: await run(), lines };
  } finally {
    process.stdout.write = originals.out;
    process.stderr.write = originals.err;
  }
}

async function shardInvocation(): Promise<ShardReport> {
  skewMs += 10_000;
  const event: ShardEvent = { shard: 0, shardCount: 1 };
  const { result, lines } = await captureOutput(() => pollerHandler(event, { getRemainingTimeInMillis: () => 2_500, awsRequestId: uniqueName('shard') }));
  capture.lines.push(...lines, JSON.stringify(result));
  return result;
}

async function chain(): Promise<{ refreshToken?: string; accessToken?: string } | undefined> {
  const answer = await dynamoDb.send(new GetItemCommand({ TableName: pipeline.stateTableName, Key: { pk: { S: appInstallItemKey(memberId) } }, ConsistentRead: true }));
  const item = answer.Item;
  if (item === undefined) return undefined;
  capture.secret(item.accessToken?.S, item.refreshToken?.S);
  return { ...(item.refreshToken?.S === undefined ? {} : { refreshToken: item.refreshToken.S }), ...(item.accessToken?.S === undefined ? {} : { accessToken: item.accessToken.S }) };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Events a shard invocation published for a source over all its runs (a run ends at its idle wait; the shard starts the next). */
const published = (report: ShardReport, sourceId: string, type?: string): number =>
  report.runs.filter((run) => run.sourceId === sourceId).reduce((sum, run) => sum + (type === undefined ? run.eventsPublished : (run.byType[type] ?? 0)), 0);
/** Poller lines of a renewal lost to another client of the same chain (it adopted the winner's tokens). */
const adoptedByPoller = (): number => capture.lines.filter((line) => line.includes('refresh token already used by another process; using its renewed tokens')).length;

/** ctx.bitrix24's default factory (the registry lookup, the install record, the app secret), outside a handler. */
const consumerClients = () =>
  bitrix24ClientFactory({
    sources: [],
    prefix: pipeline.prefix,
    registryTableName: pipeline.registryTableName,
    stateTableName: pipeline.stateTableName,
    dynamoDb: () => dynamoDb,
    secrets: secrets(),
    appSecretName,
    logger: capture.logger,
  });
const botReplies = (botId: number) => portal.sentMessages.filter((message) => message.method === 'imbot.v2.Chat.Message.send' && message.botId === botId);

beforeAll(async () => {
  pipeline = await provisionLocalPipeline({ prefix: uniqueName('installed'), dynamoDb, sqs, s3 });
  appSecretName = `${pipeline.prefix}/app`;
  portal = await startPortalSimulator({ rateLimit: false });
  app = portal.registerApp();
  capture.secret(app.clientSecret);
  admin = portal.addUser({ name: 'Admin' }).id;
  endpoint = await serveFunctionUrl(
    createInstallHandler({
      env: () => ({
        [INSTALL_ENV.stateTableName]: pipeline.stateTableName,
        [INSTALL_ENV.registryTableName]: pipeline.registryTableName,
        [INSTALL_ENV.appSecretName]: appSecretName,
        [INSTALL_ENV.botCode]: 'support_bot',
        [INSTALL_ENV.subscribeUserEvents]: 'true',
        [INSTALL_ENV.trustedOAuthHosts]: portal.portalHost,
      }),
      dynamoDb,
      secrets: secrets(),
      logger: capture.logger,
    }),
  );
  pollerHandler = poller();
  // The consumer of the bot's messages, wired the way the Lambda is: environment, default resolver (the registry), default clients.
  const handler = createConsumerHandlerFromEnv(
    {
      ONIMBOTV2MESSAGEADD: async (event, ctx) => {
        const time = await ctx.bitrix24.call<string>('server.time');
        answered.push({ sourceId: ctx.sourceId, serverTime: time.result });
        await ctx.reply(`Hello from the app (${String(event.eventId)})`);
      },
    },
    {
      env: {
        [ENV.stateTableName]: pipeline.stateTableName,
        [ENV.registryTableName]: pipeline.registryTableName,
        [ENV.idempotencyTableName]: pipeline.idempotencyTableName,
        [ENV.prefix]: pipeline.prefix,
        [ENV.appSecretName]: appSecretName,
      },
      dynamoDb,
      sqs,
      s3,
      secrets: secrets(),
      logger: consumerLog.logger,
      metrics: countingMetrics().metrics,
    },
  );
  consumer = await startSqsEventSource({
    sqs,
    queueUrl: pipeline.queueUrls[pipeline.routes.ONIMBOTV2MESSAGEADD ?? ''] ?? '',
    handler,
    visibilityTimeoutSeconds: 5,
    waitTimeSeconds: 1,
    functionTimeoutMs: 10_000,
  });
});

afterAll(async () => {
  await consumer?.stop();
  await endpoint.stop();
  await portal.stop();
});

describe('sources added by ONAPPINSTALL are polled and served with no extra step', () => {
  let botId = 0;

  it('install → the registry has the sources → a shard polls them and publishes the portal\'s events → the consumer answers as the app\'s bot', async () => {
    const delivery = await portal.installApp({ handlerUrl: endpoint.url, clientId: app.clientId, userId: admin });
    capture.secret(delivery.accessToken, delivery.refreshToken, delivery.applicationToken);
    expect(delivery.status).toBe(200);
    memberId = delivery.memberId;
    const ids = installSourceIds(memberId);
    const registry = new DynamoDbSourceRegistry({ client: dynamoDb, tableName: pipeline.registryTableName });
    const bot = await registry.get(ids.bot);
    expect(bot?.credentials).toEqual({ kind: 'app-install', memberId });
    botId = bot?.config.botId ?? 0;
    expect(botId).toBeGreaterThan(0);

    portal.activity.generate({ userId: admin }, 4);
    portal.say({ fromUserId: admin, dialogId: String(botId), text: 'Hello, support' });
    const report = await shardInvocation();

    // Before: no runs (the poller refused app-install sources: "reads secret-backed sources only").
    expect(report.notPolled).toEqual([]);
    expect([...new Set(report.runs.map((run) => run.sourceId))].sort()).toEqual([ids.bot, ids.user].sort());
    expect(published(report, ids.user)).toBeGreaterThanOrEqual(4);
    expect(published(report, ids.bot, 'ONIMBOTV2MESSAGEADD')).toBe(1);
    for (const run of report.runs) expect(run.errorCode).toBeUndefined();
    // The bot is read as the app (OAuth): no botToken is sent.
    expect(portal.calls.filter((call) => call.method === 'imbot.v2.Event.get').every((call) => call.auth === 'oauth' && call.botTokenSent !== true)).toBe(true);

    await waitFor('the bot\'s answer', () => botReplies(botId).length === 1);
    expect(answered).toEqual([{ sourceId: ids.bot, serverTime: expect.any(String) as unknown }]);
    expect(botReplies(botId)[0]?.text).toMatch(/^Hello from the app/);
    expect(portal.calls.filter((call) => call.method === 'imbot.v2.Chat.Message.send').map((call) => [call.auth, call.botTokenSent === true])).toEqual([['oauth', false]]);
    expect(secretReads.every((name) => name === appSecretName)).toBe(true);
  }, 30_000);

  it('a renewal by the consumer is the chain the poller uses, and the other way round: no invalid_grant between them', async () => {
    const ids = installSourceIds(memberId);
    const consumerSide = await consumerClients()(ids.bot);
    const renewed = () => portal.calls.filter((call) => call.method === 'oauth.token' && call.status === 200).length;
    const refused = () => portal.calls.filter((call) => call.method === 'oauth.token' && call.errorCode === 'invalid_grant').length;
    const first = await chain();

    // A: the consumer's access token expired; it renews (one step of the chain, saved on the install item).
    portal.expireAccessTokens(app.clientId);
    const beforeA = renewed();
    await consumerSide.call('server.time');
    expect(renewed()).toBe(beforeA + 1);
    const second = await chain();
    expect(second?.refreshToken).not.toBe(first?.refreshToken);

    // B: the poller's clients hold the expired token too: they reload the consumer's renewal instead of renewing.
    portal.say({ fromUserId: admin, dialogId: String(botId), text: 'second' });
    const refusedBefore = refused();
    const b = await shardInvocation();
    await waitFor('the second answer', () => botReplies(botId).length === 2);
    expect(published(b, ids.bot, 'ONIMBOTV2MESSAGEADD')).toBe(1);
    expect(renewed()).toBe(beforeA + 1);
    expect(refused()).toBe(refusedBefore);
    expect((await chain())?.refreshToken).toBe(second?.refreshToken);

    // C: the poller renews; the consumers (the Lambda one answering, the warm one) reload it.
    portal.expireAccessTokens(app.clientId);
    portal.say({ fromUserId: admin, dialogId: String(botId), text: 'third' });
    const beforeC = { renewed: renewed(), refused: refused(), adopted: adoptedByPoller() };
    const c = await shardInvocation();
    await waitFor('the third answer', () => botReplies(botId).length === 3);
    await consumerSide.call('server.time');
    expect(published(c, ids.bot, 'ONIMBOTV2MESSAGEADD')).toBe(1);
    expect(renewed()).toBe(beforeC.renewed + 1);
    expect((await chain())?.refreshToken).not.toBe(second?.refreshToken);
    // The poller's two sources of this portal may renew at once: the loser's invalid_grant is absorbed in-process
    // (oauth-session.ts: it reloads the winner's tokens), never a failed run or call.
    expect(refused() - beforeC.refused).toBe(adoptedByPoller() - beforeC.adopted);

    for (const run of [...b.runs, ...c.runs]) expect(run.errorCode).toBeUndefined();
    expect(consumerLog.lines.filter((line) => line.level === 'error')).toEqual([]);
  }, 40_000);

  it('after ONAPPUNINSTALL the poller stops polling the portal and says why; ctx.bitrix24 fails with the same reason', async () => {
    const ids = installSourceIds(memberId);
    // A consumer client warm from before the uninstall (tokens in memory).
    const warm = await consumerClients()(ids.user);
    await warm.call('server.time');

    const delivery = await portal.uninstallApp({ clientId: app.clientId, clean: 1 });
    expect(delivery.status).toBe(200);
    expect(await chain()).toBeUndefined();

    // The uninstall disabled the sources: nothing is claimed.
    const afterUninstall = await shardInvocation();
    expect(afterUninstall.runs).toEqual([]);
    expect(afterUninstall.notPolled).toEqual([]);

    // A registry that still lists the source (re-enabled by hand): refused with the reason, cooled down, no crash loop.
    await new DynamoDbSourceRegistry({ client: dynamoDb, tableName: pipeline.registryTableName }).setEnabled(ids.bot, true);
    const callsBefore = portal.calls.length;
    const stale = await shardInvocation();
    expect(stale.runs).toEqual([]);
    expect(stale.notPolled).toEqual([{ sourceId: ids.bot, errorCode: 'APP_NOT_INSTALLED' }]);
    expect(portal.calls.length).toBe(callsBefore); // not one request to the portal
    expect(capture.lines.some((line) => line.includes('source cannot be polled') && line.includes('not installed on the portal of member'))).toBe(true);

    const error = await capture.rejection(warm.call('server.time'));
    expect(error).toBeInstanceOf(AppNotInstalledError);
  }, 30_000);

  it('no token, refresh token, application token or client secret reached a log line, a report or an error', () => {
    capture.lines.push(...consumerLog.lines.map((line) => JSON.stringify(line)));
    expect(capture.assertNoSecrets(5)).toBeGreaterThan(5);
  });
});
