// The drain benchmark's poller process. The real poller runs here, alone, as
// it would in its Lambda: the portal simulator stays in the bench process and
// fauxqs in its own, so the poller's CPU is not shared with the services it
// talks to on one event loop. The parent forks this file, sends one
// DrainWorkerInput over IPC, and gets one DrainWorkerOutput back.
import { createBitrix24Client, type Bitrix24Client } from '../functions/bitrix24/index.js';
import { createLocalDynamoDbClient, createLocalS3Client, createLocalSqsClient, type LocalAwsEndpoints } from '../functions/local/aws-emulators.js';
import type { ProvisionedPipeline } from '../functions/local/provision.js';
import { pollSource, type PollReport, type PollerTuning } from '../functions/poller/index.js';
import { parseSourceConfig } from '../functions/shared/config.js';
import { buildTimedPoller, type PhaseTimes } from './poller-harness.js';
import { emptyCounts, instrumentDynamoDb, instrumentS3, instrumentSqs, snapshotCounts, type RequestCounts } from './request-counter.js';

export interface DrainWorkerInput {
  readonly endpoints: LocalAwsEndpoints;
  readonly webhookUrl: string;
  /** The source's config input (parsed again here). */
  readonly source: unknown;
  readonly pipeline: ProvisionedPipeline;
  readonly tuning: Partial<PollerTuning>;
  readonly runMs: number;
}

export type DrainWorkerOutput =
  | {
      readonly ok: true;
      readonly report: PollReport;
      readonly phases: PhaseTimes;
      readonly counts: RequestCounts;
      readonly drainIntervalMs: number;
      readonly wallMs: number;
      /** CPU this process used during the run (user + system), ms. */
      readonly cpuMs: number;
    }
  | { readonly ok: false; readonly error: string };

async function drain(input: DrainWorkerInput): Promise<DrainWorkerOutput> {
  const counts = emptyCounts();
  const clients: Bitrix24Client[] = [];
  const counted = {
    dynamoDb: instrumentDynamoDb(createLocalDynamoDbClient(input.endpoints), counts),
    sqs: instrumentSqs(createLocalSqsClient(input.endpoints), counts),
    s3: instrumentS3(createLocalS3Client(input.endpoints), counts),
  };
  const source = parseSourceConfig(input.source, 'drain worker source');
  try {
    const timed = buildTimedPoller(
      {
        source,
        pipeline: input.pipeline,
        counted,
        newClient: () => {
          const client = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl: input.webhookUrl } });
          clients.push(client);
          return client;
        },
      },
      input.tuning,
    );
    const started = Date.now();
    const cpuBefore = process.cpuUsage();
    const report = await pollSource(timed.deps, source, { deadline: started + input.runMs, mode: 'per-schedule' });
    const wallMs = Date.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      ok: true,
      report,
      phases: timed.phases,
      counts: snapshotCounts(counts),
      drainIntervalMs: timed.deps.tuning.drainIntervalMs,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    for (const client of Object.values(counted)) client.destroy();
  }
}

// Die with the parent: no orphan if the bench is killed.
process.on('disconnect', () => process.exit(0));
process.once('message', (message: DrainWorkerInput) => {
  void drain(message)
    .catch((error: unknown): DrainWorkerOutput => ({ ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error' }))
    .then((output) => process.send?.(output, () => process.exit(0)));
});
