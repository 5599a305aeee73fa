// Set-up shared by the poller's integration tests: the portal simulator over
// real HTTP, the real Bitrix24 client, a provisioned local pipeline (DynamoDB
// Local + fauxqs), SDK clients wrapped with counting middleware, a recorder of
// every event SQS acknowledged (with the simulator's call count at that
// moment), and helpers to drain the queues.
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient, type SendMessageBatchCommandInput, type SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBitrix24Client, type Bitrix24Client } from '../../../functions/bitrix24/index.js';
import { provisionLocalPipeline, type ProvisionedPipeline } from '../../../functions/local/provision.js';
import { createPollerDependencies, type PollerDependencies, type PollerTuning } from '../../../functions/poller/index.js';
import type { LogFields, PollerLogger } from '../../../functions/poller/ports.js';
import { parseSourceConfig, type SourceConfig, type SourceConfigInput } from '../../../functions/shared/config.js';
import type { QueueEnvelope } from '../../../functions/shared/envelope.js';
import { startPortalSimulator, type PortalSimulator } from '../../../functions/simulator/index.js';
import { rigClients, uniqueName } from '../../setup/rig.js';
import { RecordingMetrics } from '../../unit/poller/fakes.js';
import { s3PayloadWriter } from '../../../functions/poller/s3-payload-writer.js';

export class FakeTime {
  constructor(public nowMs = 1_750_000_000_000) {}
  readonly now = (): number => this.nowMs;
  readonly sleep = (ms: number): Promise<void> => {
    this.nowMs += Math.max(0, ms);
    return Promise.resolve();
  };
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

/** Counts SDK commands per name on a client (middleware, so every real call is seen). */
export class CommandCounter {
  readonly counts = new Map<string, number>();
  attach(client: SQSClient | DynamoDBClient | S3Client, label: string): void {
    // The three stacks differ only in their input/output types; the counter looks at neither.
    const stack = client.middlewareStack as unknown as SQSClient['middlewareStack'];
    stack.add(
      (next, context) => async (args) => {
        const name = `${label}:${context.commandName ?? 'unknown'}`;
        this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
        return await next(args);
      },
      { step: 'initialize', name: `pollerTestCounter-${label}`, override: true },
    );
  }
  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }
  reset(): void {
    this.counts.clear();
  }
}

export class CapturingLogger implements PollerLogger {
  readonly lines: Array<{ level: string; message: string; fields: LogFields }> = [];
  debug = (message: string, fields: LogFields = {}) => this.lines.push({ level: 'debug', message, fields });
  info = (message: string, fields: LogFields = {}) => this.lines.push({ level: 'info', message, fields });
  warn = (message: string, fields: LogFields = {}) => this.lines.push({ level: 'warn', message, fields });
  error = (message: string, fields: LogFields = {}) => this.lines.push({ level: 'error', message, fields });
  codes(): string[] {
    return this.lines.flatMap((l) => (typeof l.fields.errorCode === 'string' ? [l.fields.errorCode] : []));
  }
}

function eventIdOf(body: string | undefined): number | undefined {
  if (body === undefined) return undefined;
  const envelope = JSON.parse(body) as QueueEnvelope;
  return 'eventRef' in envelope ? envelope.eventRef.eventId : envelope.event.eventId;
}

/** Rewrites the `result` of an Event.get answer on its way from the portal to the client (a portal that answers oddly). */
export type EventGetRewrite = (result: Record<string, unknown>) => unknown;

/**
 * A real HTTP hop between the client and the simulator that rewrites
 * Event.get answers: the client parses and validates exactly the bytes a
 * portal with that quirk would send.
 */
export class RewritingPortalProxy {
  private server: Server | undefined;
  rewrite: EventGetRewrite | undefined;
  constructor(private readonly target: string) {}

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const answer = await fetch(new URL(req.url ?? '/', this.target), {
            method: req.method ?? 'POST',
            headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
            ...(chunks.length === 0 ? {} : { body: Buffer.concat(chunks) }),
          });
          let body = await answer.text();
          const rewrite = this.rewrite;
          if (rewrite !== undefined && answer.status === 200 && /Event\.get(\.json)?$/i.test(req.url ?? '')) {
            const envelope = JSON.parse(body) as { result: Record<string, unknown> };
            body = JSON.stringify({ ...envelope, result: rewrite(envelope.result) });
          }
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(body);
        })().catch(() => {
          res.writeHead(502);
          res.end();
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export interface Rig {
  readonly time: FakeTime;
  readonly sim: PortalSimulator;
  /** A new portal user with its own webhook and client (closed on stop); `via` sends its calls through a proxy origin. */
  reader(options?: { via?: string }): Reader;
  readonly pipeline: ProvisionedPipeline;
  readonly aws: ReturnType<typeof rigClients>;
  readonly counter: CommandCounter;
  /** eventId → simulator call count when SQS first acknowledged it. */
  readonly acked: Map<number, number>;
  readonly logger: CapturingLogger;
  readonly metrics: RecordingMetrics;
  source(overrides?: Partial<SourceConfigInput>): SourceConfig;
  deps(source: SourceConfig, reader: Reader, tuning?: Partial<PollerTuning>): PollerDependencies;
  stop(): Promise<void>;
}

export interface Reader {
  readonly userId: number;
  readonly webhookUrl: string;
  readonly client: Bitrix24Client;
}

export async function startRig(
  options: {
    rateLimit?: { drainPerSecond: number; maxQueued: number } | false;
    headersTimeoutMs?: number;
    clientMaxAttempts?: number;
    eventGetFormat?: 'nextOffset' | 'lastEventId';
  } = {},
): Promise<Rig> {
  const time = new FakeTime();
  const sim = await startPortalSimulator({
    rateLimit: options.rateLimit ?? false,
    now: time.now,
    ...(options.eventGetFormat === undefined ? {} : { eventGetFormat: options.eventGetFormat }),
  });
  const clients: Bitrix24Client[] = [];
  const reader = (readerOptions: { via?: string } = {}): Reader => {
    const userId = sim.addUser({ name: 'Reader' }).id;
    const direct = sim.createWebhook(userId);
    const webhookUrl = readerOptions.via === undefined ? direct : `${readerOptions.via}${new URL(direct).pathname}`;
    const client = createBitrix24Client({
      credentials: { kind: 'webhook', webhookUrl },
      now: time.now,
      sleep: time.sleep,
      ...(options.headersTimeoutMs === undefined ? {} : { transport: { headersTimeoutMs: options.headersTimeoutMs } }),
      ...(options.clientMaxAttempts === undefined ? {} : { retry: { maxAttempts: options.clientMaxAttempts } }),
    });
    clients.push(client);
    return { userId, webhookUrl, client };
  };
  const aws = rigClients();
  const counter = new CommandCounter();
  counter.attach(aws.sqs, 'sqs');
  counter.attach(aws.dynamoDb, 'dynamodb');
  counter.attach(aws.s3, 's3');
  const acked = new Map<number, number>();
  aws.sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'SendMessageBatchCommand') {
        const input = args.input as SendMessageBatchCommandInput;
        const output = result.output as SendMessageBatchCommandOutput;
        const bodies = new Map((input.Entries ?? []).map((e) => [e.Id, e.MessageBody]));
        const callsSoFar = sim.calls.length;
        for (const ok of output.Successful ?? []) {
          const id = eventIdOf(bodies.get(ok.Id));
          if (id !== undefined && !acked.has(id)) acked.set(id, callsSoFar);
        }
      }
      return result;
    },
    { step: 'initialize', name: 'pollerTestAckRecorder', override: true },
  );
  const pipeline = await provisionLocalPipeline({ prefix: uniqueName('pl'), dynamoDb: aws.dynamoDb, sqs: aws.sqs, s3: aws.s3 });
  counter.reset();
  const logger = new CapturingLogger();
  const metrics = new RecordingMetrics();
  const rig: Rig = {
    time,
    sim,
    reader,
    pipeline,
    aws,
    counter,
    acked,
    logger,
    metrics,
    source: (overrides = {}) =>
      parseSourceConfig({ id: uniqueName('src'), kind: 'user', portal: sim.portalHost, auth: 'webhook', idleInterval: { minSeconds: 1, maxSeconds: 2 }, ...overrides }),
    deps: (source, r, tuning = {}) =>
      createPollerDependencies({
        source,
        client: r.client,
        dynamoDb: aws.dynamoDb,
        sqs: aws.sqs,
        payloads: s3PayloadWriter(aws.s3),
        stateTableName: pipeline.stateTableName,
        queueUrls: pipeline.queueUrls,
        routes: pipeline.routes,
        payloadBucketName: pipeline.payloadBucketName,
        logger,
        metrics,
        now: time.now,
        sleep: time.sleep,
        tuning,
      }),
    stop: async () => {
      await Promise.all(clients.map((c) => c.close()));
      await sim.stop();
      aws.dynamoDb.destroy();
      aws.sqs.destroy();
      aws.s3.destroy();
    },
  };
  return rig;
}

export interface QueuedMessage {
  readonly route: string;
  readonly groupId: string;
  readonly eventId: number;
  readonly body: QueueEnvelope;
}

/** Receives and deletes every message of every route queue, in the order SQS hands them out. */
export async function drainQueues(rig: Rig): Promise<QueuedMessage[]> {
  const out: QueuedMessage[] = [];
  for (const [route, queueUrl] of Object.entries(rig.pipeline.queueUrls)) {
    for (;;) {
      const answer = await rig.aws.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['MessageGroupId'] }),
      );
      const messages = answer.Messages ?? [];
      if (messages.length === 0) break;
      for (const message of messages) {
        const body = JSON.parse(message.Body ?? '{}') as QueueEnvelope;
        const eventId = 'eventRef' in body ? body.eventRef.eventId : body.event.eventId;
        out.push({ route, groupId: message.Attributes?.MessageGroupId ?? '', eventId, body });
      }
      await rig.aws.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
    }
  }
  return out;
}

/**
 * The protocol's invariant over the simulator's call record: every Event.get
 * that carried offset N came after SQS had acknowledged every emitted event
 * with id < N. Returns the violations (empty when it holds).
 */
export function offsetViolations(rig: Rig, userId: number): string[] {
  const emitted = rig.sim.emittedEvents({ userId }).map((e) => e.eventId);
  const violations: string[] = [];
  rig.sim.calls.forEach((call, index) => {
    if (!call.method.endsWith('Event.get') || call.offset === undefined || call.userId !== userId) return;
    const offset = call.offset;
    for (const id of emitted) {
      if (id >= offset) continue;
      const ackedAt = rig.acked.get(id);
      if (ackedAt === undefined || ackedAt > index) violations.push(`call #${index} sent offset ${offset} before event ${id} was in SQS`);
    }
  });
  return violations;
}

/**
 * Runs `run` with process.stdout captured: Powertools Metrics writes its EMF
 * lines there (not through console), so a handler test can check them instead
 * of printing them into the test output.
 */
export async function captureStdout<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    lines.push(...text.split('\n').filter((line) => line !== ''));
    return true;
  });
  try {
    return { result: await run(), lines };
  } finally {
    process.stdout.write = original;
  }
}

/** The EMF documents among captured stdout lines. */
export function emfDocuments(lines: readonly string[]): Array<Record<string, unknown>> {
  return lines.flatMap((line) => {
    if (!line.startsWith('{"_aws"')) return [];
    return [JSON.parse(line) as Record<string, unknown>];
  });
}
