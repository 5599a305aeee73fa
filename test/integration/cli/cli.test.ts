// The operator CLI against the real rig: state written by a real poll,
// messages moved by redrive, subscriptions made on the portal simulator.
// runCli is called in-process with its own env/cwd/stdout (never process.env).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBitrix24Client } from '../../../functions/bitrix24/client.js';
import { type CliIo, runCli } from '../../../functions/cli/main.js';
import { provisionLocalPipeline, type ProvisionedPipeline } from '../../../functions/local/provision.js';
import { writeLocalState } from '../../../functions/local/state-file.js';
import { DynamoDbQuarantineStore, createPollerDependencies, pollSource, silentLogger, silentMetrics, sourceStateKey } from '../../../functions/poller/index.js';
import { parseSourceConfig, type SourceConfig } from '../../../functions/shared/config.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { rigClients, uniqueName } from '../../setup/rig.js';
import { s3PayloadWriter } from '../../../functions/poller/s3-payload-writer.js';

const { endpoints, dynamoDb, sqs, s3 } = rigClients();
let sim: PortalSimulator;
let pipeline: ProvisionedPipeline;
let source: SourceConfig;
let webhookUrl: string;
let userId: number;
let committedOffset: number | undefined;
let workDir: string;

function io(overrides: Partial<CliIo> = {}) {
  const out = { stdout: '', stderr: '' };
  const value: CliIo = {
    stdout: (text) => {
      out.stdout += text;
    },
    stderr: (text) => {
      out.stderr += text;
    },
    env: {},
    cwd: workDir,
    ...overrides,
  };
  return { io: value, out };
}

const rigFlags = () => ['--dynamodb-endpoint', endpoints.dynamoDbEndpoint, '--sqs-endpoint', endpoints.sqsEndpoint, '--prefix', pipeline.prefix];

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'b24-cli-'));
  sim = await startPortalSimulator({ rateLimit: false });
  const user = sim.addUser({ name: 'Operator test' });
  userId = user.id;
  webhookUrl = sim.createWebhook(user.id);
  sim.subscribe(user.id);
  sim.activity.generate({ userId }, 12);
  pipeline = await provisionLocalPipeline({ prefix: uniqueName('cli'), dynamoDb, sqs, s3 });
  source = parseSourceConfig({ id: 'ops-user', kind: 'user', portal: sim.portalHost, auth: 'webhook', mode: 'per-schedule' });
  const client = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl } });
  const deps = createPollerDependencies({
    source,
    client,
    dynamoDb,
    sqs,
    payloads: s3PayloadWriter(s3),
    stateTableName: pipeline.stateTableName,
    queueUrls: pipeline.queueUrls,
    routes: pipeline.routes,
    payloadBucketName: pipeline.payloadBucketName,
    logger: silentLogger,
    metrics: silentMetrics,
  });
  const report = await pollSource(deps, source, { deadline: Date.now() + 20_000, ownerId: 'cli-test', mode: 'per-schedule' });
  committedOffset = report.committedOffset;
  await client.close();
  await writeLocalState(join(workDir, '.b24-pipeline/local.json'), { pid: process.pid, startedAt: new Date().toISOString(), endpoints, pipeline, sources: [source] });
}, 60_000);

afterAll(async () => {
  await sim.stop();
  await rm(workDir, { recursive: true, force: true });
  for (const client of [dynamoDb, sqs, s3]) client.destroy();
});

describe('status', () => {
  it('reports the committed offset a real poll wrote, a free lease and the queue depths (--json)', async () => {
    const { io: cli, out } = io();

    const code = await runCli(['status', '--json', ...rigFlags()], cli);

    expect(code).toBe(0);
    const parsed = JSON.parse(out.stdout) as {
      target: { kind: string; prefix: string };
      sources: Array<{ sourceId: string; committedOffset?: number; lease?: unknown; subscribed: boolean; lastPollAt?: number; oldestEventAgeMs?: number }>;
      queues: Array<{ route: string; waiting: number; inFlight: number; deadLettered: number }>;
    };
    expect(committedOffset).toBeGreaterThan(0);
    expect(parsed.target).toMatchObject({ kind: 'local', prefix: pipeline.prefix });
    expect(parsed.sources).toEqual([expect.objectContaining({ sourceId: 'ops-user', committedOffset, subscribed: true })]);
    expect(parsed.sources[0]?.lease).toBeUndefined();
    expect(parsed.sources[0]?.lastPollAt).toBeTypeOf('number');
    expect(parsed.sources[0]?.oldestEventAgeMs).toBeGreaterThanOrEqual(0);
    const waiting = parsed.queues.reduce((sum, q) => sum + q.waiting, 0);
    expect(waiting).toBe(12);
    expect(parsed.queues.map((q) => q.route)).toContain('message-add');
  });

  it('finds the local pipeline through the state file the demo writes', async () => {
    const { io: cli, out } = io();

    const code = await runCli(['status'], cli);

    expect(code).toBe(0);
    expect(out.stdout).toContain(`source ops-user · offset ${committedOffset}`);
    expect(out.stdout).toContain('lease free');
  });

  it('says how to start a pipeline when there is none', async () => {
    const { io: cli, out } = io({ cwd: join(workDir, 'nowhere') });

    const code = await runCli(['status', '--json'], cli);

    expect(code).toBe(1);
    const parsed = JSON.parse(out.stdout) as { error: { name: string; message: string } };
    expect(parsed.error.name).toBe('MissingConfigurationError');
    expect(parsed.error.message).toContain('npm run demo -- --follow');
  });
});

describe('errors', () => {
  it('names the configured sources for an unknown one', async () => {
    const { io: cli, out } = io();

    const code = await runCli(['reset-offset', '--source', 'nope', '--to', '1', '--yes-i-understand'], cli);

    expect(code).toBe(1);
    expect(out.stderr).toContain('UnknownSourceError: Unknown source "nope". Configured sources: ops-user');
  });

  it('rejects an unknown command with usage exit code 2', async () => {
    const { io: cli, out } = io();

    const code = await runCli(['frobnicate'], cli);

    expect(code).toBe(2);
    expect(out.stderr).toContain('Unknown command "frobnicate"');
  });
});

describe('reset-offset', () => {
  it('refuses without confirmation and leaves the offset alone', async () => {
    const { io: cli, out } = io();

    const code = await runCli(['reset-offset', '--source', 'ops-user', '--to', '1'], cli);

    expect(code).toBe(1);
    expect(out.stderr).toContain('ConfirmationRequiredError');
    expect(out.stderr).toContain('cannot bring back events Bitrix24 already deleted');
    const status = io();
    await runCli(['status', '--json'], status.io);
    expect((JSON.parse(status.out.stdout) as { sources: Array<{ committedOffset: number }> }).sources[0]?.committedOffset).toBe(committedOffset);
  });

  it('refuses when the interactive confirmation does not match', async () => {
    const { io: cli, out } = io({ prompt: () => Promise.resolve('something else') });

    const code = await runCli(['reset-offset', '--source', 'ops-user', '--to', '1'], cli);

    expect(code).toBe(1);
    expect(out.stderr).toContain('Not confirmed');
  });

  it('moves the offset with --yes-i-understand and reports the previous one', async () => {
    const { io: cli, out } = io();

    const code = await runCli(['reset-offset', '--source', 'ops-user', '--to', '3', '--yes-i-understand', '--json'], cli);

    expect(code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ sourceId: 'ops-user', previousOffset: committedOffset, committedOffset: 3 });
    const status = io();
    await runCli(['status', '--json'], status.io);
    expect((JSON.parse(status.out.stdout) as { sources: Array<{ committedOffset: number }> }).sources[0]?.committedOffset).toBe(3);
  });
});

describe('redrive', () => {
  it('counts with --dry-run, then moves DLQ messages back keeping their group', async () => {
    const route = 'reaction-change';
    const dlqUrl = pipeline.deadLetterQueueUrls[route] ?? '';
    for (const n of [1, 2, 3]) {
      await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify({ n }), MessageGroupId: 'ops-user:chat7', MessageDeduplicationId: `ops-user:${900 + n}` }));
    }

    const dry = io();
    const dryCode = await runCli(['redrive', '--route', route, '--dry-run', '--json'], dry.io);
    const real = io();
    const realCode = await runCli(['redrive', '--route', route, '--json'], real.io);

    expect(dryCode).toBe(0);
    expect(JSON.parse(dry.out.stdout)).toMatchObject({ dryRun: true, found: 3, moved: 0 });
    expect(realCode).toBe(0);
    expect(JSON.parse(real.out.stdout)).toMatchObject({ dryRun: false, found: 3, moved: 3 });
    const dlq = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(dlq.Attributes?.ApproximateNumberOfMessages).toBe('0');
    const moved: Array<{ body?: string; group?: string }> = [];
    for (let round = 0; round < 6 && moved.length < 3; round += 1) {
      const received = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: pipeline.queueUrls[route], MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['MessageGroupId'] }),
      );
      for (const m of received.Messages ?? []) {
        moved.push({ body: m.Body, group: m.Attributes?.MessageGroupId });
        await sqs.send(new DeleteMessageCommand({ QueueUrl: pipeline.queueUrls[route], ReceiptHandle: m.ReceiptHandle }));
      }
    }
    expect(moved).toEqual([1, 2, 3].map((n) => ({ body: `{"n":${n}}`, group: 'ops-user:chat7' })));
  });

  it('rejects an unknown route, listing the known ones', async () => {
    const { io: cli, out } = io();

    const code = await runCli(['redrive', '--route', 'nope'], cli);

    expect(code).toBe(1);
    expect(out.stderr).toContain('UnknownRouteError');
    expect(out.stderr).toContain('message-add');
  });
});

describe('subscribe / unsubscribe', () => {
  it('calls the portal with the credentials from the environment, never printing them', async () => {
    const before = sim.calls.length;
    const unsub = io({ env: { B24_WEBHOOK_URL: webhookUrl } });
    const unsubCode = await runCli(['unsubscribe', '--source', 'ops-user'], unsub.io);
    const ignored = sim.emit({ userId }, 'ONIMV2JOINCHAT', { dialogId: 'chat1' });
    const sub = io({ env: { B24_WEBHOOK_URL: webhookUrl } });
    const subCode = await runCli(['subscribe', '--source', 'ops-user', '--json'], sub.io);
    const recorded = sim.emit({ userId }, 'ONIMV2JOINCHAT', { dialogId: 'chat1' });

    expect(unsubCode).toBe(0);
    expect(subCode).toBe(0);
    expect(ignored).toBeUndefined();
    expect(recorded).toBeDefined();
    expect(sim.calls.slice(before).map((c) => c.method)).toEqual(['im.v2.Event.unsubscribe', 'im.v2.Event.subscribe']);
    expect(JSON.parse(sub.out.stdout)).toEqual({ sourceId: 'ops-user', portal: sim.portalHost, action: 'subscribed' });
    const code = new URL(webhookUrl).pathname.split('/')[3] ?? 'missing';
    expect(unsub.out.stdout + unsub.out.stderr + sub.out.stdout + sub.out.stderr).not.toContain(code);
  });

  it('explains which variables to set when the source has no credentials', async () => {
    const { io: cli, out } = io();

    const code = await runCli(['subscribe', '--source', 'ops-user'], cli);

    expect(code).toBe(1);
    expect(out.stderr).toContain('MissingCredentialsError');
    expect(out.stderr).toContain('B24_WEBHOOK_URL');
  });
});

describe('subscription kept truthfully', () => {
  const pollOnce = async () => {
    const client = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl } });
    try {
      const deps = createPollerDependencies({
        source,
        client,
        dynamoDb,
        sqs,
        payloads: s3PayloadWriter(s3),
        stateTableName: pipeline.stateTableName,
        queueUrls: pipeline.queueUrls,
        routes: pipeline.routes,
        payloadBucketName: pipeline.payloadBucketName,
        logger: silentLogger,
        metrics: silentMetrics,
      });
      return await pollSource(deps, source, { deadline: Date.now() + 20_000, mode: 'per-schedule' });
    } finally {
      await client.close();
    }
  };
  const statusText = async () => {
    const { io: cli, out } = io();
    expect(await runCli(['status'], cli)).toBe(0);
    return out.stdout;
  };

  // Before: unsubscribe left `subscribed yes`, and nothing ever subscribed again.
  it('after `unsubscribe` status says no and a new poller (cold start) does not re-subscribe; after `subscribe` it says yes', async () => {
    const env = { B24_WEBHOOK_URL: webhookUrl };
    expect(await runCli(['unsubscribe', '--source', 'ops-user'], io({ env }).io)).toBe(0);
    expect(await statusText()).toContain('subscribed no (unsubscribed by an operator');

    const before = sim.calls.length;
    await pollOnce();
    expect(sim.calls.slice(before).map((c) => c.method)).not.toContain('im.v2.Event.subscribe');
    expect(await statusText()).toContain('subscribed no');

    expect(await runCli(['subscribe', '--source', 'ops-user'], io({ env }).io)).toBe(0);
    expect(await statusText()).toContain('subscribed yes');
    const after = sim.calls.length;
    await pollOnce(); // a cold start subscribes again (idempotent): a dropped subscription comes back
    expect(sim.calls.slice(after).map((c) => c.method)).toContain('im.v2.Event.subscribe');
  });

  it('prints no negative times when the writer\'s clock is a little ahead', async () => {
    const { io: cli, out } = io({ now: () => 1 });
    expect(await runCli(['status', ...rigFlags()], cli)).toBe(0);
    expect(out.stdout).toMatch(/last poll 0 ms ago/);
    expect(out.stdout).not.toMatch(/-\d[\d.]* (ms|s|min)\b/);
    const json = io({ now: () => 1 });
    await runCli(['status', '--json', ...rigFlags()], json.io);
    expect((JSON.parse(json.out.stdout) as { sources: Array<{ lastPollAgeMs: number }> }).sources[0]?.lastPollAgeMs).toBe(0);
  });
});

describe('quarantine', () => {
  it('status shows the count and last reason; `quarantine` lists each event with its raw JSON', async () => {
    const store = new DynamoDbQuarantineStore({ dynamoDb, payloads: s3PayloadWriter(s3), tableName: pipeline.stateTableName, payloadBucketName: pipeline.payloadBucketName, sourceId: 'ops-user' });
    const raw = { eventId: 4242, type: 'ONIMV2MESSAGEADD', date: '', data: {} };
    const reason = 'result.events[0].date is not an ISO 8601 date ("")';
    await store.put({ fromOffset: 4240, events: [{ position: 2, eventId: 4242, reason, raw }], now: Date.now() });
    await dynamoDb.send(
      new UpdateItemCommand({
        TableName: pipeline.stateTableName,
        Key: { pk: { S: sourceStateKey('ops-user') } },
        UpdateExpression: 'SET lastQuarantineReason = :r ADD quarantinedTotal :one',
        ExpressionAttributeValues: { ':r': { S: reason }, ':one': { N: '1' } },
      }),
    );

    const status = io();
    expect(await runCli(['status'], status.io)).toBe(0);
    expect(status.out.stdout).toContain(`quarantined 1 (last: ${reason}`);

    const list = io();
    expect(await runCli(['quarantine', '--source', 'ops-user', '--json'], list.io)).toBe(0);
    const parsed = JSON.parse(list.out.stdout) as { events: Array<{ eventId: number; reason: string; raw: string; fromOffset: number }> };
    expect(parsed.events).toEqual([expect.objectContaining({ eventId: 4242, reason, fromOffset: 4240 })]);
    expect(JSON.parse(parsed.events[0]?.raw ?? '{}')).toEqual(raw);
    const text = io();
    expect(await runCli(['quarantine', '--source', 'ops-user'], text.io)).toBe(0);
    expect(text.out.stdout).toContain('event 4242');
  });
});

