// The whole pipeline in one process, on the local emulators: the same tables
// and queues the CDK construct deploys (provisionLocalPipeline reads the one
// topology definition), the real poller (pollSource) run per source on a
// compressed schedule, and the real consumers driven the way Lambda's SQS
// event source mapping drives them (startSqsEventSource).
//
// Schedule: each poller run is one pollSource call with a deadline, like one
// scheduled Lambda invocation. A `continuous` source starts its next run as
// soon as the previous one ends (EventBridge every minute, with 1-minute runs,
// compressed); a `per-schedule` source waits for the next slot.
//
// Shutdown (stop(), Ctrl-C): no new runs; the running ones see their deadline
// (the injected clock jumps past it and sleeps end early), publish and commit
// what they fetched and release the lease; then the consumers drain the queues
// (bounded), stop, and the emulators this runtime started are stopped.
import { hostname } from 'node:os';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Bitrix24Client } from '../bitrix24/index.js';
import { type PollReport, type PollerLogger, type PollerTuning, createPollerDependencies, pollSource, silentMetrics } from '../poller/index.js';
import { deployedRoutes } from '../../lib/deployed-routes.js';
import type { SourceConfig } from '../shared/config.js';
import { DEFAULT_ROUTES } from '../shared/topology.js';
import {
  type LocalAwsEndpoints,
  createLocalDynamoDbClient,
  createLocalS3Client,
  createLocalSqsClient,
  startLocalAws,
} from './aws-emulators.js';
import { readSourceState } from '../cli/source-state.js';
import { FlowStats, eventDateMs } from './flow-stats.js';
import { startSqsEventSource } from './lambda-sqs-event-source.js';
import { type SqsBatchHandler, observeBitrix24Client, observeConsumerHandler, observeSqsPublishes } from './observers.js';
import { type ProvisionedPipeline, provisionLocalPipeline } from './provision.js';
import { s3PayloadWriter } from '../poller/s3-payload-writer.js';

export interface RuntimeSourceInput {
  readonly source: SourceConfig;
  /** A client for the source's portal; the runtime closes it on stop. */
  readonly client: Bitrix24Client;
  /** Bot sources with webhook auth: the bot's token. */
  readonly botToken?: string;
}

export interface ConsumerSetup {
  readonly route: string;
  readonly pipeline: ProvisionedPipeline;
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly stats: FlowStats;
}

export interface PipelineRuntimeOptions {
  readonly sources: readonly RuntimeSourceInput[];
  /** Builds the SQS batch handler of one route's consumer (e.g. createConsumerHandler). */
  readonly consumerFor: (context: ConsumerSetup) => SqsBatchHandler;
  /** Resource name prefix. @default "b24-local" */
  readonly prefix?: string;
  /** Event type → route key. @default DEFAULT_ROUTES */
  readonly routes?: Readonly<Record<string, string>>;
  /** Use these running emulators instead of starting new ones (tests). @default start DynamoDB Local + fauxqs */
  readonly endpoints?: LocalAwsEndpoints;
  /** Length of one poller run (its deadline), in seconds: the Lambda timeout, compressed. @default 20 */
  readonly runSeconds?: number;
  /** Seconds between scheduled run starts of `per-schedule` sources and after a failed run. @default 5 */
  readonly scheduleSeconds?: number;
  /**
   * Concurrent consumer invocations per route, like Lambda's maximum
   * concurrency on the event source mapping: FIFO still hands each chat's
   * messages to one invocation at a time. @default 3
   */
  readonly consumerConcurrency?: number;
  /** Records per consumer invocation (1–10). @default 10 */
  readonly batchSize?: number;
  /** Consumers' visibility timeout, seconds: how soon a failed record is retried locally. @default 5 */
  readonly visibilityTimeoutSeconds?: number;
  /** Lease owner id prefix. @default `local-<host>-<pid>` */
  readonly ownerId?: string;
  /** Reports a failed poller run or consumer error (never throws). @default write to stderr */
  readonly onError?: (where: string, error: unknown) => void;
  /** Receives the poller's warnings and errors (already free of secrets). @default discarded */
  readonly onPollerLog?: (level: 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** Poller loop timings. @default LOCAL_POLLER_TUNING */
  readonly pollerTuning?: Partial<PollerTuning>;
  /**
   * Runs after the tables and queues exist and before the first poller run
   * (dev mode: release the lease a killed previous run left behind).
   */
  readonly beforePolling?: (setup: { readonly pipeline: ProvisionedPipeline; readonly dynamoDb: DynamoDBClient }) => Promise<void>;
  /** Receives every poller run's report (dev mode tells fatal errors from transient ones). */
  readonly onPollReport?: (sourceId: string, report: PollReport) => void;
}

/**
 * The poller's timings for short local runs: a shorter lease and end-of-run
 * margin than in Lambda. The Bitrix24-facing pacing (≥ 2 s between calls
 * while draining, back-off on rate limits) stays as in production.
 */
export const LOCAL_POLLER_TUNING: Partial<PollerTuning> = {
  leaseMs: 30_000,
  renewBeforeMs: 15_000,
  safetyMarginMs: 1_500,
  minFetchMs: 500,
};

export interface SourceRunStatus {
  readonly sourceId: string;
  readonly runs: number;
  readonly running: boolean;
  readonly lastReport?: PollReport;
  readonly lastError?: string;
  /** ms epoch of the last run that fetched at least one page without error. */
  readonly lastSuccessAt?: number;
}

export interface QueueDepths {
  /** Messages waiting, summed over every route queue. */
  readonly visible: number;
  /** Messages being processed by a consumer. */
  readonly inFlight: number;
  /** Messages in the dead-letter queues. */
  readonly deadLettered: number;
}

/** What stop() found, read before the clients are closed: the facts a final line may claim. */
export interface StopReport {
  /** Every route queue was empty (nothing waiting, nothing in flight) when the consumers stopped. */
  readonly drained: boolean;
  /** Queue depths when the consumers stopped; undefined when they could not be read. */
  readonly depths?: QueueDepths;
  readonly sources: ReadonlyArray<{
    readonly sourceId: string;
    readonly committedOffset?: number;
    /** No lease of this runtime is left on the source's state item. */
    readonly leaseReleased: boolean;
  }>;
}

export interface PipelineRuntime {
  readonly endpoints: LocalAwsEndpoints;
  readonly pipeline: ProvisionedPipeline;
  readonly stats: FlowStats;
  readonly ownerId: string;
  readonly sources: readonly SourceConfig[];
  readonly aws: { readonly dynamoDb: DynamoDBClient; readonly sqs: SQSClient; readonly s3: S3Client };
  sourceStatus(): readonly SourceRunStatus[];
  queueDepths(): Promise<QueueDepths>;
  /**
   * Waits until `until()` holds and every queue is empty, or `timeoutMs`
   * passes. Returns whether the pipeline drained.
   */
  waitForDrain(options: { timeoutMs: number; until?: () => boolean }): Promise<boolean>;
  /**
   * Stops pollers (commit + lease release), drains consumers (bounded), then
   * stops the consumers and only then the emulators it started. Idempotent.
   */
  stop(options?: { drainTimeoutMs?: number }): Promise<StopReport>;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** An interruptible wait: resolves after `ms` or as soon as `stopping` fires. */
class StopSignal {
  private stopped = false;
  private readonly waiters = new Set<() => void>();

  get isSet(): boolean {
    return this.stopped;
  }

  set(): void {
    this.stopped = true;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  async sleep(ms: number): Promise<void> {
    if (this.stopped || ms <= 0) return;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

export async function startPipelineRuntime(options: PipelineRuntimeOptions): Promise<PipelineRuntime> {
  const prefix = options.prefix ?? 'b24-local';
  const runMs = (options.runSeconds ?? 20) * 1000;
  const scheduleMs = (options.scheduleSeconds ?? 5) * 1000;
  const ownerId = options.ownerId ?? `local-${hostname()}-${process.pid}`;
  const onError = options.onError ?? ((where: string, error: unknown) => process.stderr.write(`[${where}] ${describeError(error)}\n`));

  const started = options.endpoints === undefined ? await startLocalAws() : undefined;
  const endpoints: LocalAwsEndpoints = options.endpoints ?? {
    dynamoDbEndpoint: started?.dynamoDbEndpoint ?? '',
    sqsEndpoint: started?.sqsEndpoint ?? '',
  };
  const dynamoDb = createLocalDynamoDbClient(endpoints);
  const sqs = createLocalSqsClient(endpoints);
  const s3 = createLocalS3Client(endpoints);
  // The poller publishes through its own client so the observer sees only its sends.
  const pollerSqs = createLocalSqsClient(endpoints);
  const stats = new FlowStats();
  observeSqsPublishes(pollerSqs, (facts) => stats.recordPublished(facts.type));

  const consumerStops: Array<() => Promise<void>> = [];
  const stopSignal = new StopSignal();
  const status = new Map<string, { runs: number; running: boolean; lastReport?: PollReport; lastError?: string; lastSuccessAt?: number }>();
  const loops: Promise<void>[] = [];

  const destroyClients = () => {
    for (const client of [dynamoDb, sqs, s3, pollerSqs]) client.destroy();
  };

  let pipeline: ProvisionedPipeline;
  try {
    // Only the routes the sources can produce, plus the catch-all: what the CDK construct deploys.
    const { routes } = deployedRoutes({ routes: options.routes ?? DEFAULT_ROUTES, sources: options.sources.map((s) => s.source) });
    pipeline = await provisionLocalPipeline({ prefix, dynamoDb, sqs, s3, routes });

    for (const [route, queueUrl] of Object.entries(pipeline.queueUrls)) {
      const handler = observeConsumerHandler(options.consumerFor({ route, pipeline, dynamoDb, sqs, s3, stats }), {
        consumed: (record) => {
          const dateMs = record.date === undefined ? undefined : eventDateMs(record.date);
          stats.recordConsumed(record.sourceId, record.eventId, record.type, dateMs === undefined ? undefined : Math.max(0, Date.now() - dateMs));
        },
        failed: () => stats.recordConsumerFailure(),
      });
      for (let worker = 0; worker < (options.consumerConcurrency ?? 3); worker += 1) {
        const source = await startSqsEventSource({
          sqs,
          queueUrl,
          handler,
          batchSize: options.batchSize ?? 10,
          visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 5,
          waitTimeSeconds: 1,
          functionName: `local-consumer-${route}`,
          onError: (error, stage) => onError(`consumer ${route} (${stage})`, error),
        });
        consumerStops.push(() => source.stop());
      }
    }
    await options.beforePolling?.({ pipeline, dynamoDb });
  } catch (error) {
    await Promise.allSettled(consumerStops.map((stop) => stop()));
    destroyClients();
    await started?.stop();
    throw error;
  }

  // The poller's clock: real time, pushed past any deadline once stopping so
  // a run in progress ends at its next check (after publishing and committing
  // what it already fetched).
  const now = () => Date.now() + (stopSignal.isSet ? runMs + 1000 : 0);
  const onPollerLog = options.onPollerLog;
  const pollerLogger: PollerLogger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (message, fields) => onPollerLog?.('warn', message, fields),
    error: (message, fields) => onPollerLog?.('error', message, fields),
  };
  const sleep = (ms: number) => stopSignal.sleep(ms);

  for (const input of options.sources) {
    const { source } = input;
    const entry: { runs: number; running: boolean; lastReport?: PollReport; lastError?: string; lastSuccessAt?: number } = { runs: 0, running: false };
    status.set(source.id, entry);
    const client = observeBitrix24Client(input.client, { onEvents: (events) => stats.recordPolled(events.map((e) => e.type)) });
    const deps = createPollerDependencies({
      source,
      client,
      ...(input.botToken === undefined ? {} : { botToken: input.botToken }),
      dynamoDb,
      sqs: pollerSqs,
      payloads: s3PayloadWriter(s3),
      stateTableName: pipeline.stateTableName,
      queueUrls: { ...pipeline.queueUrls },
      routes: { ...pipeline.routes },
      payloadBucketName: pipeline.payloadBucketName,
      now,
      sleep,
      logger: pollerLogger,
      metrics: silentMetrics,
      tuning: { ...LOCAL_POLLER_TUNING, ...options.pollerTuning },
    });
    const loop = async () => {
      while (!stopSignal.isSet) {
        const runStart = Date.now();
        entry.running = true;
        entry.runs += 1;
        let waitMs = source.mode === 'continuous' ? 0 : scheduleMs;
        try {
          const report = await pollSource(deps, source, { deadline: runStart + runMs, ownerId: `${ownerId}-${source.id}`, mode: source.mode });
          entry.lastReport = report;
          options.onPollReport?.(source.id, report);
          if (report.stoppedBecause === 'fatal-error') {
            entry.lastError = report.errorCode ?? 'fatal-error';
            onError(`poller ${source.id}`, new Error(`run stopped: ${entry.lastError}`));
            waitMs = scheduleMs;
          } else {
            if (report.pages > 0) entry.lastSuccessAt = Date.now();
            if (report.stoppedBecause === 'lease-busy' || report.stoppedBecause === 'lease-lost') waitMs = scheduleMs;
          }
        } catch (error) {
          entry.lastError = describeError(error);
          onError(`poller ${source.id}`, error);
          waitMs = scheduleMs;
        } finally {
          entry.running = false;
        }
        await stopSignal.sleep(Math.max(0, runStart + waitMs - Date.now()));
      }
    };
    loops.push(loop());
  }

  const queueDepths = async (): Promise<QueueDepths> => {
    const read = async (url: string) => {
      const out = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
      );
      return {
        visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
      };
    };
    const [queues, dlqs] = await Promise.all([
      Promise.all(Object.values(pipeline.queueUrls).map(read)),
      Promise.all(Object.values(pipeline.deadLetterQueueUrls).map(read)),
    ]);
    return {
      visible: queues.reduce((sum, q) => sum + q.visible, 0),
      inFlight: queues.reduce((sum, q) => sum + q.inFlight, 0),
      deadLettered: dlqs.reduce((sum, q) => sum + q.visible + q.inFlight, 0),
    };
  };

  const waitForDrain = async ({ timeoutMs, until }: { timeoutMs: number; until?: () => boolean }): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (until === undefined || until()) {
        const depths = await queueDepths();
        if (depths.visible === 0 && depths.inFlight === 0) return true;
      }
      if (Date.now() >= deadline) return false;
      await sleepFor(200);
    }
  };

  const leaseFacts = async (): Promise<StopReport['sources']> =>
    await Promise.all(
      options.sources.map(async ({ source }) => {
        try {
          const state = await readSourceState(dynamoDb, pipeline.stateTableName, source.id, Date.now());
          return {
            sourceId: source.id,
            ...(state.committedOffset === undefined ? {} : { committedOffset: state.committedOffset }),
            leaseReleased: state.lease === undefined || state.lease.holder !== `${ownerId}-${source.id}`,
          };
        } catch {
          return { sourceId: source.id, leaseReleased: false };
        }
      }),
    );

  let stopping: Promise<StopReport> | undefined;
  const stop = (stopOptions: { drainTimeoutMs?: number } = {}): Promise<StopReport> => {
    stopping ??= (async () => {
      stopSignal.set();
      await Promise.allSettled(loops);
      let depths: QueueDepths | undefined;
      try {
        await waitForDrain({ timeoutMs: stopOptions.drainTimeoutMs ?? 10_000 });
      } catch (error) {
        onError('drain', error);
      }
      // Consumers stop only after the drain, and the emulators only after the consumers.
      await Promise.allSettled(consumerStops.map((stopConsumer) => stopConsumer()));
      try {
        depths = await queueDepths();
      } catch (error) {
        onError('drain', error);
      }
      const sources = await leaseFacts();
      await Promise.allSettled(options.sources.map((s) => s.client.close()));
      destroyClients();
      await started?.stop();
      return {
        drained: depths !== undefined && depths.visible === 0 && depths.inFlight === 0,
        ...(depths === undefined ? {} : { depths }),
        sources,
      };
    })();
    return stopping;
  };

  return {
    endpoints,
    pipeline,
    stats,
    ownerId,
    sources: options.sources.map((s) => s.source),
    aws: { dynamoDb, sqs, s3 },
    sourceStatus: () =>
      [...status.entries()].map(([sourceId, entry]) => ({
        sourceId,
        runs: entry.runs,
        running: entry.running,
        ...(entry.lastReport === undefined ? {} : { lastReport: entry.lastReport }),
        ...(entry.lastError === undefined ? {} : { lastError: entry.lastError }),
        ...(entry.lastSuccessAt === undefined ? {} : { lastSuccessAt: entry.lastSuccessAt }),
      })),
    queueDepths,
    waitForDrain,
    stop,
  };
}
