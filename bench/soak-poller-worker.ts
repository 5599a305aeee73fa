// The soak's poller process: runs the real poller (pollSource) in a loop of
// short "invocations", like the scheduled Lambda, until it is killed. The soak
// SIGKILLs it at random points and starts a new one; a killed run never
// releases its lease, so the next process waits for it to expire and takes it
// over (fencing token + 1). Endpoints and names come from the environment.
// Prints one JSON line per finished run on stdout; never prints the webhook URL.
import { createBitrix24Client } from '../functions/bitrix24/index.js';
import { createLocalDynamoDbClient, createLocalS3Client, createLocalSqsClient } from '../functions/local/aws-emulators.js';
import { createPollerDependencies, pollSource, silentLogger, silentMetrics, type PollerTuning } from '../functions/poller/index.js';
import { parseSourceConfig } from '../functions/shared/config.js';
import { BenchError } from './errors.js';
import { s3PayloadWriter } from '../functions/poller/s3-payload-writer.js';

/** Short lease and back-offs so takeovers and recoveries happen within a few-minute soak. */
export const SOAK_TUNING: Partial<PollerTuning> = {
  leaseMs: 6000,
  renewBeforeMs: 3000,
  safetyMarginMs: 1500,
  minFetchMs: 500,
  drainIntervalMs: 500,
  rateLimitBackoffMs: 1000,
  maxRateLimitBackoffMs: 4000,
  operationLimitPauseMs: 2000,
  retryDelayMs: 300,
  maxConsecutiveFailures: 8,
};

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new BenchError(`soak worker: environment variable ${name} is not set (the soak sets it)`);
  return value;
}

async function main(): Promise<void> {
  // Die with the parent: no orphan if the soak itself is killed.
  process.on('disconnect', () => process.exit(0));
  const endpoints = { dynamoDbEndpoint: required('SOAK_DYNAMODB_ENDPOINT'), sqsEndpoint: required('SOAK_SQS_ENDPOINT') };
  const source = parseSourceConfig(JSON.parse(required('SOAK_SOURCE')) as unknown, 'SOAK_SOURCE');
  const runSeconds = Number(process.env.SOAK_RUN_SECONDS ?? '8');
  const client = createBitrix24Client({
    credentials: { kind: 'webhook', webhookUrl: required('SOAK_WEBHOOK_URL') },
    retry: { maxAttempts: 2 },
  });
  const deps = createPollerDependencies({
    source,
    client,
    dynamoDb: createLocalDynamoDbClient(endpoints),
    sqs: createLocalSqsClient(endpoints),
    payloads: s3PayloadWriter(createLocalS3Client(endpoints)),
    stateTableName: required('SOAK_STATE_TABLE'),
    queueUrls: JSON.parse(required('SOAK_QUEUE_URLS')) as Record<string, string>,
    routes: JSON.parse(required('SOAK_ROUTES')) as Record<string, string>,
    payloadBucketName: required('SOAK_BUCKET'),
    logger: silentLogger,
    metrics: silentMetrics,
    tuning: SOAK_TUNING,
  });
  const ownerId = `soak-${process.pid}`;
  for (;;) {
    const report = await pollSource(deps, source, { deadline: Date.now() + runSeconds * 1000, ownerId, mode: 'continuous' });
    process.stdout.write(
      JSON.stringify({ pid: process.pid, stoppedBecause: report.stoppedBecause, pages: report.pages, published: report.eventsPublished, errors: report.errors }) + '\n',
    );
    if (report.stoppedBecause === 'lease-busy') await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`soak worker failed: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error'}\n`);
  process.exit(2);
});
