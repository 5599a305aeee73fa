// Which pipeline the CLI talks to, and how to reach it:
// - local: the rig the demo / dev mode started, described by their state file
//   (.b24-pipeline/local.json), or explicit endpoints + prefix;
// - aws: a deployed stack, found by name with DescribeStacks (standard
//   credential chain, region from --region or the environment), described by
//   its outputs (Prefix, QueueUrls, DeadLetterQueueUrls, Sources); stacks
//   deployed before those outputs fall back to GetQueueUrl by name and a scan
//   of the state table.
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type LocalAwsEndpoints, localDynamoDbClientConfig, localSqsClientConfig } from '../local/aws-emulators.js';
import { localStatePath, readLocalState } from '../local/state-file.js';
import { type SourceConfig, parseSourceConfig } from '../shared/config.js';
import {
  DEFAULT_ROUTES,
  deadLetterQueueName,
  queueName,
  routeKeys,
  stateTableName as stateTableNameOf,
} from '../shared/topology.js';
import { DynamoDbSourceRegistry } from '../registry/dynamodb-source-registry.js';
import { RegistryStoreError } from '../registry/errors.js';
import { registryTableName } from '../registry/registry-table.js';
import type { RegisteredSource } from '../registry/source-registry.js';
import { MissingConfigurationError, StackLookupError, TargetUnreachableError } from './errors.js';

export interface PipelineTarget {
  readonly kind: 'local' | 'aws';
  /** Human description, e.g. "local rig (.b24-pipeline/local.json)" or "stack B24EventPipeline-b24". */
  readonly label: string;
  readonly prefix: string;
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly stateTableName: string;
  /** Route key → queue URL. */
  readonly queueUrls: Readonly<Record<string, string>>;
  /** Route key → DLQ URL. */
  readonly deadLetterQueueUrls: Readonly<Record<string, string>>;
  /** Configured sources when known (state file, stack output); otherwise ids found in the state table. */
  readonly sources: readonly SourceConfig[];
  readonly sourceIds: readonly string[];
  /** Secrets Manager secret per source id (AWS). */
  readonly secretNames: Readonly<Record<string, string>>;
  /** Local endpoints (local targets only). */
  readonly endpoints?: LocalAwsEndpoints;
  close(): void;
}

export interface TargetOptions {
  readonly local?: boolean;
  readonly stateFile?: string;
  readonly dynamoDbEndpoint?: string;
  readonly sqsEndpoint?: string;
  readonly prefix?: string;
  readonly stack?: string;
  readonly region?: string;
}

export interface TargetEnvironment {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Stack outputs the CLI reads (see lib/b24-event-pipeline-stack.ts). */
export const STACK_OUTPUTS = {
  stateTableName: 'StateTableName',
  /** JSON object route → queue URL. Optional (older stacks): found with GetQueueUrl from the prefix when absent. */
  queueUrls: 'QueueUrls',
  /** JSON object route → DLQ URL. Optional (older stacks): found with GetQueueUrl from the prefix when absent. */
  deadLetterQueueUrls: 'DeadLetterQueueUrls',
  /** JSON array of the source configurations (no secrets). Optional: ids come from the state table when absent. */
  sources: 'Sources',
  /** The configuration prefix. Optional: derived from the state table name ("<prefix>-state"). */
  prefix: 'Prefix',
  /** One per source: "SecretOf<id>" (CDK drops the dash of the construct id). */
  secretOfPrefix: 'SecretOf',
} as const;

async function sourceIdsInStateTable(dynamoDb: DynamoDBClient, tableName: string): Promise<string[]> {
  const ids: string[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamoDb.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: 'pk',
        FilterExpression: 'begins_with(pk, :p)',
        ExpressionAttributeValues: { ':p': { S: 'source#' } },
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    for (const item of page.Items ?? []) {
      const pk = item.pk?.S;
      if (pk !== undefined) ids.push(pk.slice('source#'.length));
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return ids.sort();
}

function unreachable(what: string, endpoint: string, error: unknown): TargetUnreachableError {
  return new TargetUnreachableError(
    `${what} at ${endpoint} did not answer. Is the local pipeline running? Start it with \`npm run demo -- --follow\` or \`npm run dev\`, or pass the right --dynamodb-endpoint/--sqs-endpoint.`,
    { cause: error },
  );
}

/**
 * The queue and DLQ URL of every route provisioned under a prefix, found by
 * name. A route without a queue is skipped (only the routes the sources can
 * receive get one); any other error (unreachable endpoint, no permission) is
 * thrown, never taken for "no queues".
 */
async function findRouteQueuesByName(
  sqs: SQSClient,
  prefix: string,
): Promise<{ queueUrls: Record<string, string>; deadLetterQueueUrls: Record<string, string> }> {
  const queueUrls: Record<string, string> = {};
  const deadLetterQueueUrls: Record<string, string> = {};
  for (const route of routeKeys(DEFAULT_ROUTES)) {
    try {
      queueUrls[route] = (await sqs.send(new GetQueueUrlCommand({ QueueName: queueName(prefix, route) }))).QueueUrl ?? '';
      deadLetterQueueUrls[route] = (await sqs.send(new GetQueueUrlCommand({ QueueName: deadLetterQueueName(prefix, route) }))).QueueUrl ?? '';
    } catch (error) {
      if (error instanceof Error && error.name.includes('NonExistentQueue')) continue;
      throw error;
    }
  }
  return { queueUrls, deadLetterQueueUrls };
}

async function localTarget(options: TargetOptions, environment: TargetEnvironment): Promise<PipelineTarget> {
  if (options.dynamoDbEndpoint !== undefined || options.sqsEndpoint !== undefined) {
    if (options.dynamoDbEndpoint === undefined || options.sqsEndpoint === undefined) {
      throw new MissingConfigurationError('Give both --dynamodb-endpoint and --sqs-endpoint (e.g. http://127.0.0.1:8000 and http://127.0.0.1:4566), or neither to use the state file the demo writes.');
    }
    const endpoints = { dynamoDbEndpoint: options.dynamoDbEndpoint, sqsEndpoint: options.sqsEndpoint };
    const prefix = options.prefix ?? 'b24-local';
    const dynamoDb = new DynamoDBClient({ ...localDynamoDbClientConfig(endpoints), maxAttempts: 1 });
    const sqs = new SQSClient({ ...localSqsClientConfig(endpoints), maxAttempts: 1 });
    try {
      const tableName = stateTableNameOf(prefix);
      let ids: string[];
      try {
        ids = await sourceIdsInStateTable(dynamoDb, tableName);
      } catch (error) {
        if (error instanceof Error && error.name === 'ResourceNotFoundException') {
          throw new MissingConfigurationError(`No state table "${tableName}" at ${endpoints.dynamoDbEndpoint}: pass the prefix the pipeline was provisioned with (--prefix).`, { cause: error });
        }
        throw unreachable('DynamoDB', endpoints.dynamoDbEndpoint, error);
      }
      let queueUrls: Record<string, string>;
      let deadLetterQueueUrls: Record<string, string>;
      try {
        ({ queueUrls, deadLetterQueueUrls } = await findRouteQueuesByName(sqs, prefix));
      } catch (error) {
        throw unreachable('The SQS emulator', endpoints.sqsEndpoint, error);
      }
      return {
        kind: 'local',
        label: `local rig (${endpoints.dynamoDbEndpoint}, ${endpoints.sqsEndpoint}, prefix ${prefix})`,
        prefix,
        dynamoDb,
        sqs,
        stateTableName: tableName,
        queueUrls,
        deadLetterQueueUrls,
        sources: [],
        sourceIds: ids,
        secretNames: {},
        endpoints,
        close: () => {
          dynamoDb.destroy();
          sqs.destroy();
        },
      };
    } catch (error) {
      dynamoDb.destroy();
      sqs.destroy();
      throw error;
    }
  }
  const path = localStatePath(environment.cwd, environment.env, options.stateFile);
  let state;
  try {
    state = await readLocalState(path);
  } catch (error) {
    throw new MissingConfigurationError(`The local state file ${path} is unreadable: delete it and restart the demo or dev mode.`, { cause: error });
  }
  if (state === undefined) {
    throw new MissingConfigurationError(
      `No local pipeline found (${path} does not exist). Start one with \`npm run demo -- --follow\` or \`npm run dev\` in this directory, ` +
        'or pass --dynamodb-endpoint, --sqs-endpoint and --prefix, or target AWS with --stack <name>.',
    );
  }
  const dynamoDb = new DynamoDBClient({ ...localDynamoDbClientConfig(state.endpoints), maxAttempts: 1 });
  const sqs = new SQSClient({ ...localSqsClientConfig(state.endpoints), maxAttempts: 1 });
  return {
    kind: 'local',
    label: `local rig (${path})`,
    prefix: state.pipeline.prefix,
    dynamoDb,
    sqs,
    stateTableName: state.pipeline.stateTableName,
    queueUrls: state.pipeline.queueUrls,
    deadLetterQueueUrls: state.pipeline.deadLetterQueueUrls,
    sources: state.sources,
    sourceIds: state.sources.map((s) => s.id),
    secretNames: {},
    endpoints: state.endpoints,
    close: () => {
      dynamoDb.destroy();
      sqs.destroy();
    },
  };
}

function outputValue(outputs: readonly Output[], key: string): string | undefined {
  return outputs.find((o) => o.OutputKey === key)?.OutputValue;
}

function parseJsonOutput(stack: string, key: string, value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new StackLookupError(`Output ${key} of stack ${stack} is not valid JSON; redeploy the stack with this version of the construct.`, { cause: error });
  }
}

/** Reads the pipeline description from a deployed stack's outputs. Exported for tests. */
export async function describeStackOutputs(cloudFormation: CloudFormationClient, stack: string): Promise<readonly Output[]> {
  try {
    const out = await cloudFormation.send(new DescribeStacksCommand({ StackName: stack }));
    const found = out.Stacks?.[0];
    if (found === undefined) throw new StackLookupError(`Stack ${stack} not found.`);
    return found.Outputs ?? [];
  } catch (error) {
    if (error instanceof StackLookupError) throw error;
    const name = error instanceof Error ? error.name : '';
    if (name === 'CredentialsProviderError' || name === 'ExpiredTokenException' || name === 'UnrecognizedClientException') {
      throw new MissingConfigurationError(
        `No usable AWS credentials (${name}). Configure the standard credential chain (AWS_PROFILE, \`aws sso login\`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and set --region or AWS_REGION.`,
        { cause: error },
      );
    }
    throw new StackLookupError(
      `Stack ${stack} not found or not readable (${name || 'error'}). Check the name (\`npx cdk list\`; default "B24EventPipeline-<prefix>") and the region (--region or AWS_REGION).`,
      { cause: error },
    );
  }
}

/** What a stack's outputs say about the pipeline; undefined fields are not in the outputs (older stacks). */
export interface StackDescription {
  readonly stateTableName: string;
  readonly prefix: string;
  readonly queueUrls?: Readonly<Record<string, string>>;
  readonly deadLetterQueueUrls?: Readonly<Record<string, string>>;
  /** Undefined when the stack has no Sources output (ids then come from the state table). */
  readonly sources?: readonly SourceConfig[];
  readonly secretNames: Readonly<Record<string, string>>;
}

function urlMapOutput(stack: string, key: string, outputs: readonly Output[]): Record<string, string> | undefined {
  const text = outputValue(outputs, key);
  if (text === undefined) return undefined;
  const value = parseJsonOutput(stack, key, text);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new StackLookupError(`Output ${key} of stack ${stack} is not a JSON object of route → URL; redeploy the stack with this version of the construct.`);
  }
  return value as Record<string, string>;
}

/**
 * Maps a deployed stack's outputs (lib/b24-event-pipeline-stack.ts) to the
 * pipeline's description, preferring the Prefix / QueueUrls /
 * DeadLetterQueueUrls / Sources outputs; what older stacks lack stays
 * undefined for the caller to derive. Pure: exported for tests.
 */
export function describeStack(stack: string, outputs: readonly Output[]): StackDescription {
  const stateTableName = outputValue(outputs, STACK_OUTPUTS.stateTableName);
  if (stateTableName === undefined) {
    throw new StackLookupError(`Stack ${stack} has no output ${STACK_OUTPUTS.stateTableName}: is it a b24-event-pipeline stack? Deploy it with \`npx cdk deploy\`.`);
  }
  const prefix = outputValue(outputs, STACK_OUTPUTS.prefix) ?? stateTableName.replace(/-state$/, '');
  const queueUrls = urlMapOutput(stack, STACK_OUTPUTS.queueUrls, outputs);
  const deadLetterQueueUrls = urlMapOutput(stack, STACK_OUTPUTS.deadLetterQueueUrls, outputs);
  const sourcesText = outputValue(outputs, STACK_OUTPUTS.sources);
  let sources: SourceConfig[] | undefined;
  if (sourcesText !== undefined) {
    const parsed = parseJsonOutput(stack, STACK_OUTPUTS.sources, sourcesText);
    if (!Array.isArray(parsed)) throw new StackLookupError(`Output ${STACK_OUTPUTS.sources} of stack ${stack} is not a JSON array; redeploy the stack with this version of the construct.`);
    sources = parsed.map((s, i) => parseSourceConfig(s, `stack output ${STACK_OUTPUTS.sources}[${i}]`));
  }
  const secretNames: Record<string, string> = {};
  for (const source of sources ?? []) {
    if (source.secretName !== undefined) secretNames[source.id] = source.secretName;
  }
  for (const output of outputs) {
    const key = output.OutputKey ?? '';
    if (!key.startsWith(STACK_OUTPUTS.secretOfPrefix) || output.OutputValue === undefined) continue;
    const fromDescription = /source "([^"]+)"/.exec(output.Description ?? '')?.[1];
    const id = fromDescription ?? key.slice(STACK_OUTPUTS.secretOfPrefix.length);
    secretNames[id] = output.OutputValue;
  }
  return {
    stateTableName,
    prefix,
    ...(queueUrls === undefined ? {} : { queueUrls }),
    ...(deadLetterQueueUrls === undefined ? {} : { deadLetterQueueUrls }),
    ...(sources === undefined ? {} : { sources }),
    secretNames,
  };
}

async function awsTarget(stack: string, options: TargetOptions, environment: TargetEnvironment): Promise<PipelineTarget> {
  const region = options.region ?? environment.env.AWS_REGION ?? environment.env.AWS_DEFAULT_REGION;
  const clientConfig = region === undefined ? {} : { region };
  const cloudFormation = new CloudFormationClient(clientConfig);
  let outputs: readonly Output[];
  try {
    outputs = await describeStackOutputs(cloudFormation, stack);
  } finally {
    cloudFormation.destroy();
  }
  const description = describeStack(stack, outputs);
  const { prefix, stateTableName } = description;
  const dynamoDb = new DynamoDBClient(clientConfig);
  const sqs = new SQSClient(clientConfig);
  try {
    let queueUrls = description.queueUrls;
    let deadLetterQueueUrls = description.deadLetterQueueUrls;
    if (queueUrls === undefined || deadLetterQueueUrls === undefined) {
      // Stack deployed before the QueueUrls/DeadLetterQueueUrls outputs: find the queues by name.
      const found = await findRouteQueuesByName(sqs, prefix);
      queueUrls ??= found.queueUrls;
      deadLetterQueueUrls ??= found.deadLetterQueueUrls;
    }
    const sources = description.sources ?? [];
    // Stack deployed before the Sources output: the ids of the sources that have polled.
    const sourceIds = description.sources === undefined ? await sourceIdsInStateTable(dynamoDb, stateTableName) : sources.map((s) => s.id);
    return {
      kind: 'aws',
      label: `stack ${stack}${region === undefined ? '' : ` (${region})`}`,
      prefix,
      dynamoDb,
      sqs,
      stateTableName,
      queueUrls,
      deadLetterQueueUrls,
      sources,
      sourceIds,
      secretNames: description.secretNames,
      close: () => {
        dynamoDb.destroy();
        sqs.destroy();
      },
    };
  } catch (error) {
    dynamoDb.destroy();
    sqs.destroy();
    throw error;
  }
}

/**
 * Resolves the target: --stack (or B24_PIPELINE_STACK) → AWS; otherwise the
 * local rig (explicit endpoints, or the state file the demo writes).
 */
export async function resolveTarget(options: TargetOptions, environment: TargetEnvironment): Promise<PipelineTarget> {
  const stack = options.stack ?? (options.local === true ? undefined : environment.env.B24_PIPELINE_STACK);
  const target = stack !== undefined && stack !== '' ? await awsTarget(stack, options, environment) : await localTarget(options, environment);
  try {
    return await withRegistrySources(target);
  } catch (error) {
    target.close();
    throw error;
  }
}

/**
 * Adds the sources of the run-time registry (`<prefix>-sources`: added with `sources add` or by the
 * install endpoint) to those the stack output or state file names, so `status`, `subscribe` and
 * `reset-offset` know them without a deploy. A pipeline without a registry table (older stacks)
 * keeps its list. Pure merge in mergeRegistrySources.
 */
async function withRegistrySources(target: PipelineTarget): Promise<PipelineTarget> {
  let registered: readonly RegisteredSource[];
  try {
    registered = await new DynamoDbSourceRegistry({ client: target.dynamoDb, tableName: registryTableName(target.prefix) }).list();
  } catch (error) {
    if (error instanceof RegistryStoreError && (error.cause as { name?: unknown } | undefined)?.name === 'ResourceNotFoundException') return target;
    throw new TargetUnreachableError(`Reading the source registry ${registryTableName(target.prefix)} of ${target.label} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return { ...target, ...mergeRegistrySources(target, registered) };
}

/** The target's sources plus the registry's (the registry's config wins for an id in both: it is what the pollers read). */
export function mergeRegistrySources(
  target: Pick<PipelineTarget, 'sources' | 'sourceIds' | 'secretNames'>,
  registered: readonly RegisteredSource[],
): Pick<PipelineTarget, 'sources' | 'sourceIds' | 'secretNames'> {
  if (registered.length === 0) return target;
  const byId = new Map(target.sources.map((source) => [source.id, source]));
  const secretNames: Record<string, string> = { ...target.secretNames };
  for (const { config, credentials } of registered) {
    byId.set(config.id, config);
    if (credentials.kind === 'secret') secretNames[config.id] = credentials.secretName;
  }
  const sourceIds = [...new Set([...target.sourceIds, ...registered.map((r) => r.config.id)])];
  return { sources: [...byId.values()], sourceIds, secretNames };
}
