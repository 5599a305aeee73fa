// The poller Lambda. Two inputs: `{ "source": {…} }` polls that one source
// (pollSource); `{ "shard": i, "shardCount": N }` is a fleet shard: it polls up
// to SOURCES_PER_INVOCATION registry sources at once (shard-loop.ts), every
// Bitrix24 client sharing each portal's budget (functions/budget). Thin: parse
// the input, build the dependencies once per container (per source and version
// of its credentials: its secret, or for a source the install endpoint added,
// the install record and the app secret — functions/install/install-credentials.ts),
// run until shortly before the Lambda's own deadline, return the report.
import { createHash, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { sqsClientConfig } from '../shared/aws-client-config.js';
import {
  createBitrix24Client,
  dynamoDbTokenStoreFactory,
  createSecretReader,
  loadSourceCredentials,
  type Bitrix24Client,
  type Bitrix24Credentials,
  type RequestGate,
  type SecretReader,
} from '../bitrix24/index.js';
import { DynamoDbPortalBudgetStore, PortalBudget, portalRatesFromJson } from '../budget/index.js';
import { dynamoDbInstalledCredentials, explainingUninstall, type InstalledCredentialsFactory } from '../install/install-credentials.js';
import { DynamoDbSourceRegistry, type SourceCredentialsRef, type SourceRegistry } from '../registry/index.js';
import { parseSourceConfig, secretNameOf, type SourceConfig, type SourceConfigInput } from '../shared/config.js';
import { METRICS_NAMESPACE } from '../shared/observability.js';
import { createPollerDependencies } from './dependencies.js';
import { readPollerEnvironment, type PollerEnvironment } from './environment.js';
import type { PayloadWriter } from './payload-writer.js';
import { signedPutPayloadWriter } from './signed-put-payload-writer.js';
import { PollerConfigError } from './errors.js';
import { DynamoDbLeaseViewReader } from './fleet-lease-view.js';
import { powertoolsFleetMetrics } from './fleet-metrics.js';
import { runShard, type ShardOptions, type ShardReport } from './shard-loop.js';
import { POLLER_SERVICE_NAME, powertoolsLogger, powertoolsMetrics } from './observability.js';
import { pollSource, type PollerDependencies, type PollerTuning, type PollReport } from './poll-loop.js';

export interface PollerEvent {
  readonly source: SourceConfigInput;
}

/** A fleet shard's scheduled input (lib/parts/poller-fleet.ts ShardInput). */
export interface ShardEvent {
  readonly shard: number;
  readonly shardCount: number;
}

export type PollerInvocation = PollerEvent | ShardEvent;

function isShardEvent(event: PollerInvocation): event is ShardEvent {
  return 'shard' in event;
}

function checkShardEvent(event: ShardEvent): ShardEvent {
  const { shard, shardCount } = event;
  if (!Number.isInteger(shardCount) || shardCount < 1 || !Number.isInteger(shard) || shard < 0 || shard >= shardCount) {
    throw new PollerConfigError(`Poller input {"shard": ${String(shard)}, "shardCount": ${String(shardCount)}} is invalid: shardCount must be an integer ≥ 1 and 0 ≤ shard < shardCount.`);
  }
  return { shard, shardCount };
}

export interface PollerHandlerOptions {
  /** @default process.env, read on the first invocation */
  readonly env?: () => Readonly<Record<string, string | undefined>>;
  readonly dynamoDb?: DynamoDBClient;
  readonly sqs?: SQSClient;
  /** @default a signed PutObject over the DynamoDB client (signed-put-payload-writer.ts); tests pass s3PayloadWriter(s3Client) */
  readonly payloads?: PayloadWriter;
  /** @default Secrets Manager with a 5-minute cache */
  readonly secrets?: SecretReader;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly tuning?: Partial<PollerTuning>;
  /** Fleet mode: the source registry. @default DynamoDbSourceRegistry on REGISTRY_TABLE_NAME */
  readonly registry?: Pick<SourceRegistry, 'list'>;
  /** Fleet mode: the gate every client asks before a request. @default PortalBudget in the state table, rates from PORTAL_BUDGETS */
  readonly requestGate?: RequestGate;
  /** Fleet mode: shard loop timings (refresh, adoption, cooldown). */
  readonly shard?: Pick<ShardOptions, 'refreshIntervalMs' | 'adoptAfterMs' | 'stopClaimingBeforeMs' | 'failureCooldownMs'>;
}

/** A source's credentials as found now: `key` names their version (a hash, never a value); `build` makes them. */
interface SourceCredentials {
  readonly key: string;
  readonly build: () => { readonly credentials: Bitrix24Credentials; readonly botToken?: string };
  readonly wrap?: (client: Bitrix24Client) => Bitrix24Client;
}

interface Container {
  readonly env: PollerEnvironment;
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly payloads: PayloadWriter;
  readonly secrets: SecretReader;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Per source: the deps built for one version of its credentials (rebuilt when the secret, or an install's endpoints or app secret, change). */
  readonly sources: Map<string, { credentialsKey: string; configKey: string; client: Bitrix24Client; deps: PollerDependencies }>;
  /** Credentials of app-install sources (install record + app secret), built on first use. */
  installed?: InstalledCredentialsFactory;
  /** Fleet mode: built on the first shard invocation. */
  fleet?: { readonly registry: Pick<SourceRegistry, 'list'>; readonly gate: RequestGate; readonly leases: DynamoDbLeaseViewReader };
}

/** Builds a handler; the default export below uses real AWS clients. Tests pass emulator clients and a fake secret reader. */
export function createPollerHandler(
  options: PollerHandlerOptions = {},
): <E extends PollerInvocation>(event: E, context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>) => Promise<E extends ShardEvent ? ShardReport : PollReport> {
  let container: Container | undefined;
  const containerOf = (): Container => {
    const dynamoDb = options.dynamoDb ?? new DynamoDBClient({});
    container ??= {
      env: readPollerEnvironment((options.env ?? (() => process.env))()),
      dynamoDb,
      sqs: options.sqs ?? new SQSClient(sqsClientConfig()),
      payloads: options.payloads ?? signedPutPayloadWriter({ client: dynamoDb }),
      secrets: options.secrets ?? createSecretReader(),
      logger: options.logger ?? new Logger({ serviceName: POLLER_SERVICE_NAME }),
      metrics: options.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: POLLER_SERVICE_NAME }),
      sources: new Map(),
    };
    return container;
  };

  /** The credentials of a source, from its secret or (app-install) its install record and the app secret; `key` changes when they do. */
  const credentialsOf = async (c: Container, source: SourceConfig, ref: SourceCredentialsRef): Promise<SourceCredentials> => {
    if (ref.kind === 'app-install') {
      c.installed ??= dynamoDbInstalledCredentials({ client: c.dynamoDb, stateTableName: c.env.stateTableName, secrets: c.secrets, appSecretName: c.env.appSecretName });
      const factory = c.installed;
      const installed = await factory(ref.memberId);
      return {
        key: `app-install:${ref.memberId}:${installed.version}`,
        // OAuth: an installed bot needs no botToken (imbot.v2: "Required for webhook authorization, not needed for OAuth").
        build: () => ({ credentials: installed.credentials }),
        // A refusal after the uninstall deleted the record stops the run as APP_NOT_INSTALLED, not as an auth failure.
        wrap: (client) => explainingUninstall(client, ref.memberId, factory),
      };
    }
    const secret = await c.secrets.read(ref.secretName);
    return {
      key: `secret:${ref.secretName}:${createHash('sha256').update(secret).digest('hex')}`,
      build: () =>
        loadSourceCredentials({
          source,
          secretJson: secret,
          secretName: ref.secretName,
          tokenStoreFactory: dynamoDbTokenStoreFactory({ client: c.dynamoDb, tableName: c.env.stateTableName }),
        }),
    };
  };

  const depsFor = async (c: Container, source: SourceConfig, ref: SourceCredentialsRef, gate?: RequestGate): Promise<PollerDependencies> => {
    const cached = c.sources.get(source.id);
    let found: SourceCredentials;
    try {
      found = await credentialsOf(c, source, ref);
    } catch (error) {
      // Uninstalled, or the secret is gone: the client built from the old credentials is not kept either.
      if (cached !== undefined) {
        c.sources.delete(source.id);
        await cached.client.close();
      }
      throw error;
    }
    const configKey = JSON.stringify([source, ref, gate !== undefined]);
    if (cached !== undefined && cached.credentialsKey === found.key && cached.configKey === configKey) return cached.deps;
    if (cached !== undefined) await cached.client.close();
    const { credentials, botToken } = found.build();
    const logger = c.logger.createChild({ persistentKeys: { sourceId: source.id } });
    const built = createBitrix24Client({
      credentials,
      ...(gate === undefined ? {} : { requestGate: gate }),
      logger: powertoolsLogger(logger),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
    });
    const client = found.wrap?.(built) ?? built;
    const deps = createPollerDependencies({
      source,
      client,
      ...(botToken === undefined ? {} : { botToken }),
      dynamoDb: c.dynamoDb,
      sqs: c.sqs,
      payloads: c.payloads,
      stateTableName: c.env.stateTableName,
      queueUrls: c.env.queueUrls,
      routes: c.env.routes,
      payloadBucketName: c.env.payloadBucketName,
      logger: powertoolsLogger(logger),
      metrics: powertoolsMetrics(source.id, c.metrics),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
      ...(options.tuning === undefined ? {} : { tuning: options.tuning }),
    });
    c.sources.set(source.id, { credentialsKey: found.key, configKey, client, deps });
    return deps;
  };

  const fleetOf = (c: Container): NonNullable<Container['fleet']> => {
    if (c.fleet !== undefined) return c.fleet;
    const registryTableName = c.env.registryTableName;
    if (options.registry === undefined && registryTableName === undefined) {
      throw new PollerConfigError('A shard invocation needs the source registry: REGISTRY_TABLE_NAME is not set (the CDK construct sets it for the fleet).');
    }
    c.fleet = {
      registry: options.registry ?? new DynamoDbSourceRegistry({ client: c.dynamoDb, tableName: registryTableName ?? '' }),
      gate:
        options.requestGate ??
        new PortalBudget({
          store: new DynamoDbPortalBudgetStore({ client: c.dynamoDb, tableName: c.env.stateTableName }),
          rateOf: portalRatesFromJson(c.env.portalBudgets),
          ...(options.now === undefined ? {} : { now: options.now }),
          ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
        }),
      leases: new DynamoDbLeaseViewReader({ client: c.dynamoDb, tableName: c.env.stateTableName }),
    };
    return c.fleet;
  };

  const runShardInvocation = async (event: ShardEvent, context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>): Promise<ShardReport> => {
    const { shard, shardCount } = checkShardEvent(event);
    const c = containerOf();
    const fleet = fleetOf(c);
    const now = options.now ?? Date.now;
    const logger = c.logger.createChild({ persistentKeys: { shard, shardCount } });
    return await runShard(
      {
        registry: fleet.registry,
        leases: fleet.leases,
        pollerFor: async (registered) => await depsFor(c, registered.config, registered.credentials, fleet.gate),
        logger: powertoolsLogger(logger),
        metrics: powertoolsFleetMetrics(c.metrics),
        now,
        sleep: options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
      },
      {
        shard,
        shardCount,
        sourcesPerInvocation: c.env.sourcesPerInvocation,
        deadline: now() + context.getRemainingTimeInMillis(),
        ownerId: context.awsRequestId,
        ...options.shard,
      },
    );
  };

  const runSourceInvocation = async (event: PollerEvent, context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>): Promise<PollReport> => {
    const source = parseSourceConfig(event.source, 'poller input "source"');
    const c = containerOf();
    const deps = await depsFor(c, source, { kind: 'secret', secretName: secretNameOf(c.env.prefix, source) });
    const now = (options.now ?? Date.now)();
    const report = await pollSource(deps, source, {
      deadline: now + context.getRemainingTimeInMillis(),
      ownerId: `${context.awsRequestId}-${randomUUID().slice(0, 8)}`,
      mode: source.mode,
    });
    return report;
  };

  return async <E extends PollerInvocation>(event: E, context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>) => {
    const report = isShardEvent(event) ? await runShardInvocation(event, context) : await runSourceInvocation(event, context);
    return report as E extends ShardEvent ? ShardReport : PollReport;
  };
}

let defaultHandler: ReturnType<typeof createPollerHandler> | undefined;

/** Lambda entry point (EventBridge schedule input: `{ "source": { …SourceConfig } }` or `{ "shard": i, "shardCount": N }`). */
export async function handler(event: PollerInvocation, context: Context): Promise<PollReport | ShardReport> {
  defaultHandler ??= createPollerHandler();
  return await defaultHandler(event, context);
}
