// Benchmark 4 wiring: the poller and default consumer bundles against a local
// rig (simulator + emulators + Secrets Manager stand-in), and the bare handler.
import { existsSync } from 'node:fs';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { join } from 'node:path';
import type { LocalAwsEndpoints } from '../functions/local/aws-emulators.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../functions/local/aws-emulators.js';
import { ENVELOPE_SCHEMA_VERSION, deduplicationId, messageGroupId } from '../functions/shared/envelope.js';
import { ENV } from '../functions/shared/observability.js';
import { STATE_TABLE, routeFor } from '../functions/shared/topology.js';
import { sourceStateKey } from '../functions/poller/index.js';
import { secretNameOf } from '../functions/shared/config.js';
import { BARE_HANDLER_SOURCE, BARE_REQUESTS_HANDLER_SOURCE, measureColdStarts, type ColdStartResult, type ColdStartTarget } from './cold-start.js';
import { startScenario } from './rig.js';
import { startSecretsStandIn } from './secrets-stand-in.js';

export const POLLER_ENTRY = 'functions/poller/handler.ts';
export const CONSUMER_ENTRY = 'functions/consumers/default-handler.ts';

export async function coldStartBench(
  endpoints: LocalAwsEndpoints,
  options: { repetitions: number; repoRoot: string },
): Promise<{ results: ColdStartResult[]; skipped: string[] }> {
  const rig = await startScenario(endpoints, { name: 'cold', rateLimit: false, source: { mode: 'per-schedule' } });
  const secretName = secretNameOf(rig.pipeline.prefix, rig.source);
  const secrets = await startSecretsStandIn({ [secretName]: JSON.stringify({ webhookUrl: rig.webhookUrl }) });
  try {
    const awsEnv = {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamoDbEndpoint,
      AWS_ENDPOINT_URL_SQS: endpoints.sqsEndpoint,
      AWS_ENDPOINT_URL_S3: endpoints.sqsEndpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      POWERTOOLS_LOG_LEVEL: process.env.BENCH_DEBUG === '1' ? 'DEBUG' : 'WARN',
      POWERTOOLS_METRICS_DISABLED: 'true',
    };
    const pipelineEnv = {
      [ENV.stateTableName]: rig.pipeline.stateTableName,
      [ENV.idempotencyTableName]: rig.pipeline.idempotencyTableName,
      [ENV.queueUrls]: JSON.stringify(rig.pipeline.queueUrls),
      [ENV.routes]: JSON.stringify(rig.pipeline.routes),
      [ENV.payloadBucketName]: rig.pipeline.payloadBucketName,
      [ENV.prefix]: rig.pipeline.prefix,
    };
    // Consumer payloads come from another user, so the poller's source stays empty (an idle scheduled run).
    const other = rig.sim.addUser({ name: 'Payload User' });
    rig.sim.subscribe(other.id);
    const events = rig.sim.activity.generate({ userId: other.id }, options.repetitions);
    const event = events[0];
    const route = event === undefined ? 'unknown' : routeFor(rig.pipeline.routes, event.type);
    const targets: ColdStartTarget[] = [
      { name: 'bare SDK handler', contents: BARE_HANDLER_SOURCE, event: {}, env: awsEnv },
      {
        name: 'bare, same requests',
        contents: BARE_REQUESTS_HANDLER_SOURCE,
        event: {},
        env: { ...awsEnv, BENCH_SECRET: secretName, BENCH_TABLE: rig.pipeline.stateTableName },
      },
    ];
    const skipped: string[] = [];
    if (existsSync(join(options.repoRoot, POLLER_ENTRY))) {
      targets.push({
        name: 'poller',
        entry: POLLER_ENTRY,
        // An idle scheduled run: lease, secret, subscribe/Event.get, commit, release.
        event: { source: { id: rig.source.id, kind: 'user', portal: rig.source.portal, auth: 'webhook', mode: 'per-schedule' } },
        env: { ...awsEnv, ...pipelineEnv },
        // The poller paces itself: it fetches no sooner than idleInterval.minSeconds (5 s) after the
        // previous run's fetch. Back-to-back repetitions would measure that wait, so each one starts
        // as a scheduled run does, a minute after the previous fetch.
        beforeRepetition: async (i) => {
          if (i === 0) return;
          await rig.plain.dynamoDb.send(
            new UpdateItemCommand({
              TableName: rig.pipeline.stateTableName,
              Key: { [STATE_TABLE.partitionKey]: { S: sourceStateKey(rig.source.id) } },
              UpdateExpression: 'SET lastFetchAt = :previous',
              ExpressionAttributeValues: { ':previous': { N: String(Date.now() - 60_000) } },
            }),
          );
        },
      });
    } else skipped.push(POLLER_ENTRY);
    if (existsSync(join(options.repoRoot, CONSUMER_ENTRY)) && event !== undefined) {
      const recordFor = (e: NonNullable<typeof event>) => {
        const now = Date.now();
        return {
          messageId: `bench-message-${e.eventId}`,
          receiptHandle: `bench-receipt-${e.eventId}`,
          body: JSON.stringify({
            schemaVersion: ENVELOPE_SCHEMA_VERSION,
            sourceId: rig.source.id,
            portal: rig.source.portal,
            receivedAt: new Date().toISOString(),
            event: e,
          }),
          attributes: {
            ApproximateReceiveCount: '1',
            SentTimestamp: String(now),
            SenderId: 'bench',
            ApproximateFirstReceiveTimestamp: String(now),
            MessageGroupId: messageGroupId(rig.source.id, e),
            MessageDeduplicationId: deduplicationId(rig.source.id, e.eventId),
            SequenceNumber: String(e.eventId),
          },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: `arn:aws:sqs:${LOCAL_REGION}:000000000000:${rig.pipeline.prefix}-${routeFor(rig.pipeline.routes, e.type)}.fifo`,
          awsRegion: LOCAL_REGION,
        };
      };
      targets.push({
        name: 'default consumer',
        entry: CONSUMER_ENTRY,
        // A new event per repetition, so every first call does the full work (no idempotency hit).
        event: { Records: [recordFor(event)] },
        eventFor: (i) => ({ Records: [recordFor(events[i] ?? event)] }),
        env: {
          ...awsEnv,
          ...pipelineEnv,
          [ENV.route]: route,
          [ENV.sources]: JSON.stringify([{ id: rig.source.id, kind: 'user', portal: rig.source.portal, auth: 'webhook', secretName }]),
        },
      });
    } else skipped.push(CONSUMER_ENTRY);
    const results = await measureColdStarts(targets, {
      repetitions: options.repetitions,
      nodeBinary: join(options.repoRoot, 'node_modules/.bin/node'),
      repoRoot: options.repoRoot,
    });
    return { results, skipped };
  } finally {
    await secrets.stop();
    await rig.stop();
  }
}
