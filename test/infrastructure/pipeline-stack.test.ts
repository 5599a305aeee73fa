// The deployed stack, as `cdk synth` produces it (same createPipelineApp as
// bin/app.ts, cdk-nag plugin included): every resource kind and the settings
// that matter. Synthesizes once, with real esbuild bundling, in beforeAll.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, POLLER_METRICS, POLLER_SERVICE_NAME, SOURCE_DIMENSION } from '../../functions/shared/observability.js';
import { QUEUE_SETTINGS, deadLetterQueueName, idempotencyTableName, queueName, stateTableName } from '../../functions/shared/topology.js';
import { decodeSeedSources } from '../../functions/registry/registry-seed.js';
import { registryTableName } from '../../functions/registry/registry-table.js';
import { createPipelineApp } from '../../lib/app.js';
import { DEFAULT_CONSUMER_ENTRY, HANDLER_EXPORT, POLLER_ENTRY } from '../../lib/b24-event-pipeline.js';
import type { B24EventPipelineStack } from '../../lib/b24-event-pipeline-stack.js';
import { PREFIX, fixtureAppOptions } from './fixtures/stack-fixture.js';

const USER_ROUTES = ['join-chat', 'message-add', 'message-delete', 'message-update', 'reaction-change'];
const BOT_ROUTES = ['bot-command-add', 'bot-context-get', 'bot-delete', 'bot-join-chat', 'bot-message-add', 'bot-message-delete', 'bot-message-update', 'bot-reaction-change'];
const ALL_ROUTES = [...USER_ROUTES, ...BOT_ROUTES, 'unknown'];

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string; Metadata?: Record<string, unknown> };

let stack: B24EventPipelineStack;
let assembly: CloudAssembly;
let template: Template;
let json: { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown; Description?: string }> };
let synthMs = 0;

function resourcesOf(type: string): [string, Resource][] {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}
function logicalIdOf(construct: { node: { defaultChild?: unknown } }): string {
  return stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId) as string;
}
function lambdaById(id: string): Resource {
  const r = json.Resources[id];
  if (r === undefined) throw new Error(`no resource ${id}`);
  return r;
}
function policyStatementsOfRole(roleLogicalId: string): { Action: string | string[]; Resource: unknown; Effect: string; Sid?: string }[] {
  return resourcesOf('AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(`"${roleLogicalId}"`))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown; Effect: string }[] }).Statement);
}
const asList = <T,>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
/** The secret ARN patterns a role may read, as their `:secret:<name>` tails. */
function secretResources(statements: { Action: string | string[]; Resource: unknown }[]): string[] {
  return statements
    .filter((s) => asList(s.Action).includes('secretsmanager:GetSecretValue'))
    .flatMap((s) => asList(s.Resource))
    .map((r) => /:secret:[^"]+/.exec(JSON.stringify(r))?.[0] ?? JSON.stringify(r))
    .sort();
}

beforeAll(() => {
  const started = performance.now();
  const built = createPipelineApp(fixtureAppOptions());
  stack = built.stack;
  // Runs the cdk-nag plugin too: synth throws on any unacknowledged finding.
  assembly = built.app.synth();
  synthMs = performance.now() - started;
  json = assembly.getStackArtifact(stack.artifactId).template as typeof json;
  template = Template.fromJSON(json);
}, 120_000);

afterAll(() => {
  if (assembly !== undefined) rmSync(assembly.directory, { recursive: true, force: true });
});

describe('synth', () => {
  it('passes cdk-nag AwsSolutionsChecks with zero unacknowledged findings', () => {
    const report = new AwsSolutionsChecks().validateScope(stack.node.root);
    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(',')}`)).toEqual([]);
    expect(report.success).toBe(true);
    const written = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: { violations?: unknown[] }[] };
    expect(written.pluginReports.flatMap((r) => r.violations ?? [])).toEqual([]);
    console.info(`synth with bundling + cdk-nag: ${Math.round(synthMs)} ms`);
  });
});

describe('storage', () => {
  it('creates the state and idempotency tables: on demand, PITR, TTL, customer-managed KMS, retained', () => {
    for (const [name, key, ttl] of [
      [stateTableName(PREFIX), 'pk', 'expiresAt'],
      [idempotencyTableName(PREFIX), 'id', 'expiration'],
    ] as const) {
      template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          TableName: name,
          KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          TimeToLiveSpecification: { AttributeName: ttl, Enabled: true },
          SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
          DeletionProtectionEnabled: true,
        },
      });
    }
    // The source registry (issue 13): no TTL (a source lives until it is removed), same protection.
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        TableName: registryTableName(PREFIX),
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: Match.absent(),
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
        DeletionProtectionEnabled: true,
      },
    });
    template.resourceCountIs('AWS::DynamoDB::Table', 3);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('creates a FIFO queue + FIFO DLQ per route (bot and user sources → all routes), KMS, 14 days, redrive after maxReceiveCount', () => {
    const dlqIds = new Map<string, string>();
    for (const route of ALL_ROUTES) {
      const dlq = resourcesOf('AWS::SQS::Queue').find(([, r]) => r.Properties.QueueName === deadLetterQueueName(PREFIX, route));
      expect(dlq === undefined ? `no DLQ for ${route}` : 'ok').toBe('ok');
      dlqIds.set(route, dlq?.[0] ?? '');
      expect(dlq?.[1].Properties).toMatchObject({ FifoQueue: true, MessageRetentionPeriod: QUEUE_SETTINGS.retentionSeconds, KmsMasterKeyId: expect.anything() as unknown });
    }
    for (const route of ALL_ROUTES) {
      const consumerTimeout = route === 'message-add' ? 120 : 60;
      template.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: queueName(PREFIX, route),
        FifoQueue: true,
        ContentBasedDeduplication: false,
        MessageRetentionPeriod: QUEUE_SETTINGS.retentionSeconds,
        VisibilityTimeout: Math.max(QUEUE_SETTINGS.visibilityTimeoutSeconds, 6 * consumerTimeout),
        KmsMasterKeyId: Match.anyValue(),
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqIds.get(route), 'Arn'] }, maxReceiveCount: QUEUE_SETTINGS.maxReceiveCount },
      });
    }
    // route queues + DLQs + the scheduler DLQ
    template.resourceCountIs('AWS::SQS::Queue', 2 * ALL_ROUTES.length + 1);
  });

  it('gives every queue a TLS-only policy', () => {
    const queueIds = resourcesOf('AWS::SQS::Queue').map(([id]) => id);
    const covered = new Set<string>();
    for (const [, policy] of resourcesOf('AWS::SQS::QueuePolicy')) {
      const statements = (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
      expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
      for (const q of policy.Properties.Queues as { Ref: string }[]) covered.add(q.Ref);
    }
    expect([...covered].sort()).toEqual([...queueIds].sort());
  });

  it('creates the claim-check bucket: KMS, public access blocked, TLS only, expiring objects', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() }, BucketKeyEnabled: true }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 29, Status: 'Enabled' })]) },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('declares no secret per source: the seed creates the configured sources\' placeholders at deploy, the CLI the others', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const seed = resourcesOf('Custom::B24SourceRegistrySeed');
    expect(seed).toHaveLength(1);
    expect(seed[0]?.[1].Properties).toMatchObject({ Prefix: PREFIX, Secrets: 'create', SourceCount: '3' });
    const sources = decodeSeedSources(String(seed[0]?.[1].Properties.SourcesGzipBase64));
    expect(sources.map((source) => [source.id, source.enabled, source.secretName])).toEqual([
      ['support', true, undefined],
      ['helpdesk-bot', true, undefined],
      ['paused', false, 'custom/paused'],
    ]);
    const seedStatements = policyStatementsOfRole(logicalIdOf(stack.pipeline.parts.registrySeed.function.role as never));
    const creates = seedStatements.filter((st) => asList(st.Action).includes('secretsmanager:CreateSecret')).flatMap((st) => asList(st.Resource));
    expect(JSON.stringify(creates)).toContain(`:secret:${PREFIX}/sources/*`);
    expect(JSON.stringify(creates)).toContain(':secret:custom/paused-??????');
  });
});

describe('poller', () => {
  it('is a Node.js 22 arm64 function with its timeout, reserved concurrency, no async retries and the contract-D environment', () => {
    const poller = lambdaById(logicalIdOf(stack.pipeline.poller));
    expect(poller.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: `index.${HANDLER_EXPORT}`,
      Timeout: 60,
      // 2 × fleet.shards (2 by default)
      ReservedConcurrentExecutions: 4,
    });
    const env = (poller.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(env).sort()).toEqual(
      [
        'NODE_OPTIONS', 'PAYLOAD_BUCKET_NAME', 'PIPELINE_PREFIX', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME', 'QUEUE_URLS', 'ROUTES', 'STATE_TABLE_NAME',
        'REGISTRY_TABLE_NAME', 'SOURCES_PER_INVOCATION',
      ].sort(),
    );
    expect(env.SOURCES_PER_INVOCATION).toBe('50');
    expect(env.REGISTRY_TABLE_NAME).toEqual({ Ref: logicalIdOf(stack.pipeline.registryTable) });
    expect(env.PIPELINE_PREFIX).toBe(PREFIX);
    expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe(METRICS_NAMESPACE);
    expect(JSON.parse(env.ROUTES as string)).toMatchObject({ ONIMV2MESSAGEADD: 'message-add', ONIMBOTV2MESSAGEADD: 'bot-message-add' });
    const queueUrls = JSON.stringify(stack.resolve(env.QUEUE_URLS));
    for (const route of ALL_ROUTES) expect(queueUrls).toContain(`\\"${route}\\":`);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
  });

  it('has one schedule per shard (fleet.shards, 2 by default), every minute, input {"shard": i, "shardCount": N}, retries and a DLQ', () => {
    const schedules = resourcesOf('AWS::Scheduler::Schedule');
    expect(schedules).toHaveLength(2);
    const inputs = schedules.map(([, s]) => {
      const target = s.Properties.Target as { Input: string; Arn: unknown; RetryPolicy: unknown; DeadLetterConfig: { Arn: unknown } };
      expect(s.Properties.ScheduleExpression).toBe('rate(1 minute)');
      expect(target.Arn).toEqual({ 'Fn::GetAtt': [logicalIdOf(stack.pipeline.poller), 'Arn'] });
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 60 });
      expect(target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [logicalIdOf(stack.pipeline.schedulerDeadLetterQueue), 'Arn'] });
      return JSON.parse(target.Input) as unknown;
    });
    expect(inputs).toEqual([
      { shard: 0, shardCount: 2 },
      { shard: 1, shardCount: 2 },
    ]);
  });
});

describe('consumers', () => {
  it('has one consumer per route, default entry unless replaced, with the contract-E environment', () => {
    expect([...stack.pipeline.consumers.keys()].sort()).toEqual([...ALL_ROUTES].sort());
    for (const [route, fn] of stack.pipeline.consumers) {
      const props = lambdaById(logicalIdOf(fn)).Properties;
      expect(props).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Timeout: route === 'message-add' ? 120 : 60 });
      expect(props.Handler).toBe(route === 'message-add' ? 'index.onMessage' : 'index.handler');
      const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.ROUTE).toBe(route);
      expect(Object.keys(env)).toEqual(
        expect.arrayContaining(['IDEMPOTENCY_TABLE_NAME', 'STATE_TABLE_NAME', 'PAYLOAD_BUCKET_NAME', 'ROUTE', 'REGISTRY_TABLE_NAME', 'QUEUE_URL', 'DEAD_LETTER_QUEUE_URL', 'MAX_ATTEMPTS']),
      );
      // Sources come from the registry, not the environment (issue 13: SOURCES passed 4 KB at ~35 sources).
      expect(env.SOURCES).toBeUndefined();
      expect(env.REGISTRY_TABLE_NAME).toEqual({ Ref: logicalIdOf(stack.pipeline.registryTable) });
      // A queue's Ref is its URL.
      expect(env.QUEUE_URL).toEqual({ Ref: logicalIdOf(stack.pipeline.queues.get(route) ?? stack) });
      expect(env.DEAD_LETTER_QUEUE_URL).toEqual({ Ref: logicalIdOf(stack.pipeline.deadLetterQueues.get(route) ?? stack) });
      expect(env.MAX_ATTEMPTS).toBe('5');
    }
  });

  it('reads each route queue with partial batch failures, the configured batch size and maximum concurrency, no batching window', () => {
    const mappings = resourcesOf('AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(ALL_ROUTES.length);
    for (const [route, queue] of stack.pipeline.queues) {
      const fnId = logicalIdOf(stack.pipeline.consumers.get(route) ?? queue);
      const mapping = mappings.find(([, m]) => JSON.stringify(m.Properties.EventSourceArn) === JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(queue), 'Arn'] }));
      expect(mapping?.[1].Properties).toMatchObject({ FunctionName: { Ref: fnId }, BatchSize: 5, FunctionResponseTypes: ['ReportBatchItemFailures'], ScalingConfig: { MaximumConcurrency: 3 } });
      expect(mapping?.[1].Properties.MaximumBatchingWindowInSeconds).toBeUndefined();
    }
  });
});

describe('IAM', () => {
  it('uses no AWS-managed policies', () => {
    const withManaged = resourcesOf('AWS::IAM::Role').filter(([, role]) => role.Properties.ManagedPolicyArns !== undefined).map(([id]) => id);
    expect(withManaged).toEqual([]);
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
  });

  it('has no wildcard actions and no wildcard resources beyond the acknowledged ones', () => {
    const bucketArn = JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(stack.pipeline.payloadBucket), 'Arn'] });
    const pollerArn = JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(stack.pipeline.poller), 'Arn'] });
    for (const [id, policy] of resourcesOf('AWS::IAM::Policy')) {
      for (const statement of (policy.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement) {
        for (const action of asList(statement.Action)) expect(action, `${id} ${action}`).not.toContain('*');
        for (const resource of asList(statement.Resource)) {
          const text = JSON.stringify(resource);
          if (!text.includes('*')) continue;
          // Only claim-check objects (<bucket>/*), the poller's versions (grantInvoke) and the sources' secret name prefix may use a wildcard.
          const allowed =
            text === `{"Fn::Join":["",[${bucketArn},"/*"]]}` ||
            text === `{"Fn::Join":["",[${pollerArn},":*"]]}` ||
            /^\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},":secretsmanager:",\{"Ref":"AWS::Region"\},":",\{"Ref":"AWS::AccountId"\},":secret:itest\/sources\/\*"\]\]\}$/.test(text);
          expect(allowed, `${id}: ${text}`).toBe(true);
        }
      }
    }
  });

  it('lets the poller write state, publish to the route queues, write claim checks and read the secrets — nothing else', () => {
    const statements = policyStatementsOfRole(logicalIdOf(stack.pipeline.poller.role as never));
    // aws-iam:minimizePolicies merges statements: compare the set of actions, then who they reach.
    const actions = [...new Set(statements.flatMap((s) => asList(s.Action)))].sort();
    expect(actions).toEqual(
      [
        'dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Scan',
        'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey',
        'logs:CreateLogStream', 'logs:PutLogEvents',
        's3:PutObject',
        'sqs:SendMessage',
        'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue',
      ].sort(),
    );
    // The registry is read only (Scan to list, GetItem to read), the state table is not scanned.
    const registryArn = JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(stack.pipeline.registryTable), 'Arn'] });
    const onRegistry = statements.filter((s) => JSON.stringify(s.Resource).includes(registryArn)).flatMap((s) => asList(s.Action));
    expect(onRegistry.sort()).toEqual(['dynamodb:GetItem', 'dynamodb:Scan']);
    const stateArn = JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(stack.pipeline.stateTable), 'Arn'] });
    const onState = statements.filter((s) => JSON.stringify(s.Resource).includes(stateArn)).flatMap((s) => asList(s.Action));
    expect(onState).not.toContain('dynamodb:Scan');
    // A shard reads the leases of its candidate sources in batches (fleet-lease-view.ts): without it every shard run fails.
    expect(onState).toContain('dynamodb:BatchGetItem');
    expect(secretResources(statements)).toEqual([':secret:custom/paused-??????', `:secret:${PREFIX}/sources/*`]);
    const send = statements.find((s) => asList(s.Action).includes('sqs:SendMessage'));
    expect(asList(send?.Resource)).toHaveLength(ALL_ROUTES.length);
  });

  it('lets a consumer use only its idempotency items, claim checks, its own queue and DLQ', () => {
    const fn = stack.pipeline.consumers.get('unknown');
    const statements = policyStatementsOfRole(logicalIdOf(fn?.role as never));
    const actions = new Set(statements.flatMap((s) => asList(s.Action)));
    expect(actions).toContain('sqs:ReceiveMessage');
    expect(actions).toContain('s3:GetObject');
    expect(actions).not.toContain('s3:PutObject');
    const receive = statements.find((s) => asList(s.Action).includes('sqs:ReceiveMessage'));
    expect(receive?.Resource).toEqual({ 'Fn::GetAtt': [logicalIdOf(stack.pipeline.queues.get('unknown') ?? fn as never), 'Arn'] });
    // Dead-lettering and backing off: SendMessage on its own DLQ only, ChangeMessageVisibility on its own queue only.
    const arnOf = (q: unknown): unknown => ({ 'Fn::GetAtt': [logicalIdOf(q as never), 'Arn'] });
    const resourcesFor = (action: string): unknown[] => statements.filter((s) => asList(s.Action).includes(action)).flatMap((s) => asList(s.Resource));
    expect(resourcesFor('sqs:SendMessage')).toEqual([arnOf(stack.pipeline.deadLetterQueues.get('unknown'))]);
    expect(new Set(resourcesFor('sqs:ChangeMessageVisibility').map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify(arnOf(stack.pipeline.queues.get('unknown')))]));
  });

  it('lets no consumer Put any state item or touch one that is not an OAuth token or portal budget item, nor write the registry', () => {
    const stateArn = JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(stack.pipeline.stateTable), 'Arn'] });
    const registryArn = JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(stack.pipeline.registryTable), 'Arn'] });
    for (const [route, fn] of stack.pipeline.consumers) {
      const statements = policyStatementsOfRole(logicalIdOf(fn.role as never));
      const onState = statements.filter((s) => JSON.stringify(s.Resource).includes(stateArn));
      const tokenStatement = {
        Sid: 'OAuthTokenItems',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        Resource: JSON.parse(stateArn) as unknown,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['oauth#*'] } },
      };
      // The portal budget shared with the poller shards: one conditional UpdateItem per request on budget#<host>.
      const budgetStatement = {
        Sid: 'PortalBudgetItems',
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: JSON.parse(stateArn) as unknown,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['budget#*'] } },
      };
      expect({ route, onState }).toEqual({ route, onState: [tokenStatement, budgetStatement] });
      const onRegistry = statements.filter((s) => JSON.stringify(s.Resource).includes(registryArn)).flatMap((s) => asList(s.Action));
      expect({ route, onRegistry }).toEqual({ route, onRegistry: ['dynamodb:GetItem'] });
    }
  });

  it('lets a consumer read the secrets under the pipeline\'s name prefix (and configured names outside it), nothing else', () => {
    for (const [route, fn] of stack.pipeline.consumers) {
      const statements = policyStatementsOfRole(logicalIdOf(fn.role as never));
      expect({ route, secrets: secretResources(statements) }).toEqual({ route, secrets: [':secret:custom/paused-??????', `:secret:${PREFIX}/sources/*`] });
    }
  });

  it('keeps credentials out of environment variables', () => {
    for (const [, fn] of resourcesOf('AWS::Lambda::Function')) {
      const text = JSON.stringify(fn.Properties.Environment ?? {});
      expect(text).not.toMatch(/webhookUrl|clientSecret|refreshToken|botToken|\/rest\/\d+\//i);
    }
  });
});

describe('alarms and dashboard', () => {
  const topicRef = (): unknown => ({ Ref: logicalIdOf(stack.pipeline.alarmTopic) });

  it('sends alarms to a KMS-encrypted, TLS-only topic with the configured e-mail', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const alarms = resourcesOf('AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(0);
    expect(alarms.filter(([, a]) => JSON.stringify(a.Properties.AlarmActions) !== JSON.stringify([topicRef()])).map(([id]) => id)).toEqual([]);
  });

  /** The Metrics Insights query of an alarm (its one Metrics entry with an Expression). */
  const queryOf = (alarmName: string): { query: string; props: Record<string, unknown> } => {
    const alarm = resourcesOf('AWS::CloudWatch::Alarm').find(([, a]) => a.Properties.AlarmName === alarmName);
    if (alarm === undefined) throw new Error(`no alarm ${alarmName}`);
    const metrics = alarm[1].Properties.Metrics as { Expression?: string; Period?: number }[];
    return { query: metrics.map((m) => m.Expression ?? '').join(''), props: alarm[1].Properties };
  };

  it('alarms on staleness of every source with one alarm: the stalest sources (grouped by SourceId) and a silent fleet', () => {
    const stale = queryOf(`${PREFIX}-stale-sources`);
    expect(stale.query).toBe(
      `SELECT MAX(${POLLER_METRICS.sourceStalenessSeconds}) FROM SCHEMA("${METRICS_NAMESPACE}", service, ${SOURCE_DIMENSION}) WHERE service = '${POLLER_SERVICE_NAME}' GROUP BY ${SOURCE_DIMENSION} ORDER BY MAX() DESC LIMIT 100`,
    );
    expect(stale.props).toMatchObject({ Threshold: 20 * 60, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${PREFIX}-poller-fleet-silent`,
      Namespace: METRICS_NAMESPACE,
      MetricName: POLLER_METRICS.fleetMaxStalenessSeconds,
      Dimensions: [{ Name: 'service', Value: POLLER_SERVICE_NAME }],
      Statistic: 'SampleCount',
      Period: 60,
      EvaluationPeriods: 20,
      DatapointsToAlarm: 20,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('alarms on every DLQ, the oldest message of every queue, and once for all sources on poller errors, lease conflicts and auth failures', () => {
    const names = resourcesOf('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties.AlarmName as string);
    for (const route of ALL_ROUTES) {
      expect(names).toContain(`${PREFIX}-dlq-not-empty-${route}`);
      expect(names).toContain(`${PREFIX}-oldest-message-${route}`);
    }
    expect(names).toContain(`${PREFIX}-scheduler-dlq-not-empty`);
    expect(names).toContain(`${PREFIX}-poller-function-errors`);
    // No alarm names a source: one alarm per kind covers every registered source.
    expect(names.filter((n) => /support|helpdesk-bot|paused/.test(n))).toEqual([]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: `${PREFIX}-dlq-not-empty-unknown`,
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalIdOf(stack.pipeline.deadLetterQueues.get('unknown') ?? stack), 'QueueName'] } }],
    });
    const perSource = (metricName: string, service = POLLER_SERVICE_NAME): string =>
      `SELECT SUM(${metricName}) FROM SCHEMA("${METRICS_NAMESPACE}", service, ${SOURCE_DIMENSION}) WHERE service = '${service}' GROUP BY ${SOURCE_DIMENSION} ORDER BY SUM() DESC LIMIT 100`;
    expect(queryOf(`${PREFIX}-auth-failures`).query).toBe(perSource(POLLER_METRICS.authFailures));
    // PollerErrors' aggregate series has exactly { service, SourceId }: the per-ErrorCode series are not counted twice.
    const errors = queryOf(`${PREFIX}-poller-errors`);
    expect(errors.query).toBe(perSource(POLLER_METRICS.pollerErrors));
    expect(errors.props).toMatchObject({ EvaluationPeriods: 3, DatapointsToAlarm: 3, Threshold: 1, TreatMissingData: 'notBreaching' });
    const leases = queryOf(`${PREFIX}-lease-conflicts`);
    expect(leases.query).toBe(perSource(POLLER_METRICS.leaseConflicts));
    expect(leases.props).toMatchObject({ Threshold: 3 });
    expect(JSON.stringify(leases.props.Metrics)).toContain('"Period":900');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `${PREFIX}-oldest-message-unknown`, MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 900 });
  });

  it('alarms at the first SchemaMismatch, WriteOutcomeUnknown (consumers) and EventsQuarantined (poller) of any source in 5 minutes, naming it', () => {
    for (const [kind, metricName, service] of [
      ['schema-mismatch', 'SchemaMismatch', 'b24-consumer'],
      ['write-outcome-unknown', 'WriteOutcomeUnknown', 'b24-consumer'],
      ['events-quarantined', 'EventsQuarantined', POLLER_SERVICE_NAME],
    ] as const) {
      const alarm = queryOf(`${PREFIX}-${kind}`);
      expect(alarm.query).toBe(
        `SELECT SUM(${metricName}) FROM SCHEMA("${METRICS_NAMESPACE}", service, ${SOURCE_DIMENSION}) WHERE service = '${service}' GROUP BY ${SOURCE_DIMENSION} ORDER BY SUM() DESC LIMIT 100`,
      );
      expect(alarm.props).toMatchObject({ EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
      expect(alarm.props.AlarmDescription).toContain('named in the alarm\'s state reason');
    }
  });

  it('says what a DLQ message may be without claiming it failed N times', () => {
    const dlqAlarm = resourcesOf('AWS::CloudWatch::Alarm').find(([, a]) => a.Properties.AlarmName === `${PREFIX}-dlq-not-empty-message-add`);
    const text = dlqAlarm?.[1].Properties.AlarmDescription as string;
    expect(text).not.toMatch(/failed \d+ times/);
    expect(text).toContain('b24-dead-letter-reason');
  });

  it('has a dashboard', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `${PREFIX}-event-pipeline` });
    const body = JSON.stringify(resourcesOf('AWS::CloudWatch::Dashboard')[0]?.[1].Properties.DashboardBody);
    expect(body).toContain('Events quarantined by the poller');
    expect(body).toContain('SUM(EventsQuarantined) FROM SCHEMA');
    // One Metrics Insights series per graph, whatever the number of sources; series keep their SourceId as label.
    expect(body).not.toContain('support');
    expect(body).toContain('${LABEL}');
  });

  it('writes logs to a log group per function with a retention', () => {
    const fns = resourcesOf('AWS::Lambda::Function');
    template.resourceCountIs('AWS::Logs::LogGroup', fns.length);
    expect(fns.filter(([, fn]) => (fn.Properties.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup === undefined).map(([id]) => id)).toEqual([]);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});

describe('outputs for the operator CLI', () => {
  /** Evaluates an output's Fn::Join, writing each { Ref: id } as "ref:<id>". */
  const joined = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    if (join === undefined) throw new Error(`not a string or Fn::Join: ${JSON.stringify(value)}`);
    return join[1].map((part) => (typeof part === 'string' ? part : `ref:${(part as { Ref: string }).Ref}`)).join(join[0]);
  };

  it('outputs the prefix', () => {
    template.hasOutput('Prefix', { Value: PREFIX });
  });

  it('outputs route → queue URL and route → DLQ URL as JSON objects of every deployed route', () => {
    for (const [key, queues] of [
      ['QueueUrls', stack.pipeline.queues],
      ['DeadLetterQueueUrls', stack.pipeline.deadLetterQueues],
    ] as const) {
      expect([...queues.keys()].sort()).toEqual([...ALL_ROUTES].sort());
      // A queue's Ref is its URL.
      expect(JSON.parse(joined(json.Outputs[key]?.Value))).toEqual(Object.fromEntries([...queues].map(([route, queue]) => [route, `ref:${logicalIdOf(queue)}`])));
    }
  });

  it('outputs the registry table and the secret name prefix, and nothing per source', () => {
    expect(json.Outputs.RegistryTableName?.Value).toEqual({ Ref: logicalIdOf(stack.pipeline.registryTable) });
    expect(json.Outputs.SecretNamePrefix?.Value).toBe(`${PREFIX}/sources/`);
    expect(Object.keys(json.Outputs).filter((key) => key.startsWith('SecretOf') || key === 'Sources')).toEqual([]);
  });
});

describe('bundled code', () => {
  function bundleOf(fn: { node: { defaultChild?: unknown } }): { dir: string; sources: string[] } {
    const props = lambdaById(logicalIdOf(fn)).Properties as { Code: { S3Key: unknown } };
    const key = JSON.stringify(stack.resolve(props.Code.S3Key));
    const hash = /([0-9a-f]{64})\.zip/.exec(key)?.[1];
    if (hash === undefined) throw new Error(`no asset hash in ${key}`);
    const dir = join(assembly.directory, `asset.${hash}`);
    const map = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as { sources: string[] };
    return { dir, sources: map.sources.map((s) => s.replaceAll('\\', '/')) };
  }
  /**
   * Loads bundles the way Lambda does: a fresh Node.js 22 process, ESM import,
   * none of the pipeline's environment set. Returns typeof of the named export
   * of each bundle.
   */
  const exportTypes = (bundles: readonly { dir: string; exportName: string }[]): string[] => {
    const script = `const out = [];
for (const [url, name] of ${JSON.stringify(bundles.map((b) => [pathToFileURL(join(b.dir, 'index.mjs')).href, b.exportName]))}) out.push(typeof (await import(url))[name]);
console.log(JSON.stringify(out));`;
    const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8', timeout: 30_000 });
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as string[];
  };

  it('bundles the very entry modules the integration tests import: functions/poller/handler.ts and functions/consumers/default-handler.ts', () => {
    expect(POLLER_ENTRY).toBe(resolve('functions/poller/handler.ts'));
    expect(DEFAULT_CONSUMER_ENTRY).toBe(resolve('functions/consumers/default-handler.ts'));
    expect(existsSync(POLLER_ENTRY)).toBe(true);
    expect(existsSync(DEFAULT_CONSUMER_ENTRY)).toBe(true);

    const poller = bundleOf(stack.pipeline.poller);
    expect(poller.sources.some((s) => s.endsWith('functions/poller/handler.ts'))).toBe(true);

    const consumer = bundleOf(stack.pipeline.consumers.get('unknown') ?? stack);
    expect(consumer.sources.some((s) => s.endsWith('functions/consumers/default-handler.ts'))).toBe(true);

    const custom = bundleOf(stack.pipeline.consumers.get('message-add') ?? stack);
    expect(custom.sources.some((s) => s.endsWith('test/infrastructure/fixtures/custom-consumer.ts'))).toBe(true);
    expect(
      exportTypes([
        { dir: poller.dir, exportName: HANDLER_EXPORT },
        { dir: consumer.dir, exportName: HANDLER_EXPORT },
        { dir: custom.dir, exportName: 'onMessage' },
      ]),
    ).toEqual(['function', 'function', 'function']);

    // Every default consumer shares one bundle; the SDK is bundled (pinned), not taken from the runtime.
    const defaults = [...stack.pipeline.consumers].filter(([route]) => route !== 'message-add').map(([, fn]) => bundleOf(fn).dir);
    expect(new Set(defaults).size).toBe(1);
    expect(poller.sources.some((s) => s.includes('node_modules/@aws-sdk/client-sqs/'))).toBe(true);
    console.info(
      `bundle sizes: poller ${statSync(join(poller.dir, 'index.mjs')).size} B (+map ${statSync(join(poller.dir, 'index.mjs.map')).size} B), default consumer ${statSync(join(consumer.dir, 'index.mjs')).size} B`,
    );
  });

  it('the integration-tested modules export a handler function', async () => {
    const pollerModule = (await import(POLLER_ENTRY)) as Record<string, unknown>;
    const consumerModule = (await import(DEFAULT_CONSUMER_ENTRY)) as Record<string, unknown>;
    expect(typeof pollerModule[HANDLER_EXPORT]).toBe('function');
    expect(typeof consumerModule[HANDLER_EXPORT]).toBe('function');
  });
});
