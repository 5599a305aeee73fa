// Configuration and prop validation at synth, and which routes get queues.
// No bundling here: invalid props fail before any function is built, and the
// route-selection template check skips bundling (context aws:cdk:bundling-stacks).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../functions/shared/config.js';
import { DEFAULT_ROUTES, queueName } from '../../functions/shared/topology.js';
import { B24EventPipeline, type B24EventPipelineProps } from '../../lib/b24-event-pipeline.js';
import { createPipelineApp } from '../../lib/app.js';
import { deployedRoutes } from '../../lib/deployed-routes.js';
import { InvalidPipelinePropsError, PipelineConfigurationError } from '../../lib/errors.js';
import { loadPipelineConfig } from '../../lib/pipeline-config-source.js';

const userSource = { id: 'support', kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook' } as const;
const botSource = { id: 'helpdesk-bot', kind: 'bot', portal: 'example.bitrix24.com', auth: 'oauth', botId: 7 } as const;

function captureError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error('threw a non-Error');
  }
  throw new Error('expected an error, none was thrown');
}

describe('loadPipelineConfig', () => {
  it('validates the context object and applies the defaults', () => {
    const config = loadPipelineConfig({ pipeline: { sources: [userSource] } });
    expect(config.prefix).toBe('b24');
    expect(config.scheduleMinutes).toBe(1);
    expect(config.staleAfterMinutes).toBe(15);
    expect(config.routes).toEqual(DEFAULT_ROUTES);
  });

  it('accepts the context as a JSON string (cdk synth -c pipeline=...)', () => {
    const config = loadPipelineConfig({ pipeline: JSON.stringify({ prefix: 'acme', sources: [userSource] }) });
    expect(config.prefix).toBe('acme');
  });

  it('reads a config file named by the configFile context and prefers it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'b24-config-'));
    writeFileSync(join(dir, 'pipeline.config.json'), JSON.stringify({ prefix: 'fromfile', sources: [botSource] }));
    const config = loadPipelineConfig({ configFile: 'pipeline.config.json', baseDir: dir, pipeline: { prefix: 'ctx', sources: [userSource] } });
    expect(config.prefix).toBe('fromfile');
    expect(config.sources[0]?.kind).toBe('bot');
  });

  it('names every bad field and the fix', () => {
    const error = captureError(() =>
      loadPipelineConfig({ pipeline: { sources: [{ ...userSource, portal: 'https://example.bitrix24.com/' }, { ...botSource, botId: undefined }] } }),
    );
    expect(error).toBeInstanceOf(PipelineConfigurationError);
    expect(error.message).toContain('sources[0].portal');
    expect(error.message).toContain('portal host only');
    expect(error.message).toContain('sources[1].botId');
  });

  it('rejects unknown keys with a "did you mean" (a typo is never accepted silently)', () => {
    const error = captureError(() => loadPipelineConfig({ pipeline: { sheduleMinutes: 2, sources: [{ ...botSource, botid: 1 }], consumer: { batchsize: 3, colour: 'red' } } }));
    expect(error).toBeInstanceOf(PipelineConfigurationError);
    expect(error.message).toContain('sheduleMinutes: unknown key; did you mean "scheduleMinutes"?');
    expect(error.message).toContain('sources[0].botid: unknown key; did you mean "botId"?');
    expect(error.message).toContain('consumer.batchsize: unknown key; did you mean "batchSize"?');
    expect(error.message).toMatch(/consumer\.colour: unknown key; remove it \(known keys: batchSize, maxConcurrency/);
  });

  it('rejects a staleness window no longer than the schedule period, naming both fields and the fix', () => {
    const error = captureError(() => loadPipelineConfig({ pipeline: { scheduleMinutes: 20, sources: [userSource] } }));
    expect(error.message).toContain('staleAfterMinutes: 15 must exceed scheduleMinutes (20)');
    expect(error.message).toContain('set staleAfterMinutes to at least 21');
    expect(loadPipelineConfig({ pipeline: { scheduleMinutes: 20, staleAfterMinutes: 40, sources: [userSource] } }).staleAfterMinutes).toBe(40);
  });

  it('says what a missing portal is, with an example', () => {
    const { portal: _portal, ...withoutPortal } = userSource;
    const error = captureError(() => loadPipelineConfig({ pipeline: { sources: [withoutPortal] } }));
    expect(error.message).toContain('sources[0].portal: missing: the host of the Bitrix24 portal this source reads, e.g. "example.bitrix24.com"');
  });

  it('cdk synth prints a configuration error as its message alone: no stack, not twice', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'b24-synth-'));
    try {
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
        env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ pipeline: { sheduleMinutes: 2, sources: [userSource] } }) },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.status).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual(['Invalid context "pipeline":', '  - sheduleMinutes: unknown key; did you mean "scheduleMinutes"?']);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 60_000);

  it('rejects duplicate source ids', () => {
    const error = captureError(() => loadPipelineConfig({ pipeline: { sources: [userSource, userSource] } }));
    expect(error.message).toMatch(/sources\[1\]\.id: duplicate source id "support"/);
  });

  it('explains a missing configuration, an unreadable file and bad JSON', () => {
    expect(captureError(() => loadPipelineConfig({})).message).toMatch(/no pipeline configuration: set the context key "pipeline"/);
    const missing = captureError(() => loadPipelineConfig({ configFile: 'nope.json', baseDir: tmpdir() }));
    expect(missing).toBeInstanceOf(PipelineConfigurationError);
    expect(missing.message).toMatch(/cannot read the configuration file .*nope\.json/);
    expect(captureError(() => loadPipelineConfig({ pipeline: '{not json' })).message).toMatch(/context "pipeline" is not valid JSON/);
  });

  it('fails the app at synth when the context configuration is invalid', () => {
    const error = captureError(() => createPipelineApp({ appProps: { context: { pipeline: { sources: [], fleet: { shards: 0 } } } } }));
    expect(error).toBeInstanceOf(PipelineConfigurationError);
    expect(error.message).toContain('fleet.shards');
  });
});

describe('deployedRoutes', () => {
  it('gives user sources the ONIMV2* routes and the catch-all only', () => {
    const { routes, routeKeys } = deployedRoutes(loadPipelineConfig({ pipeline: { sources: [userSource] } }));
    expect(Object.keys(routes).every((type) => type.startsWith('ONIMV2'))).toBe(true);
    expect(routeKeys).toEqual(['join-chat', 'message-add', 'message-delete', 'message-update', 'reaction-change', 'unknown']);
  });

  it('gives bot sources the ONIMBOTV2* routes, plus ONIMV2* with withUserEvents', () => {
    const botOnly = deployedRoutes(loadPipelineConfig({ pipeline: { sources: [botSource] } }));
    expect(botOnly.routeKeys).not.toContain('message-add');
    expect(botOnly.routeKeys).toContain('bot-message-add');
    expect(botOnly.routeKeys).toContain('unknown');
    const withUser = deployedRoutes(loadPipelineConfig({ pipeline: { sources: [{ ...botSource, withUserEvents: true }] } }));
    expect(withUser.routeKeys).toContain('message-add');
    expect(withUser.routeKeys).toContain('bot-message-add');
  });

  it('keeps custom event types and shared route keys', () => {
    const config = loadPipelineConfig({ pipeline: { sources: [userSource], routes: { ONIMV2MESSAGEADD: 'messages', ONIMV2MESSAGEUPDATE: 'messages', ONFUTUREEVENT: 'future' } } });
    expect(deployedRoutes(config).routeKeys).toEqual(['future', 'messages', 'unknown']);
  });
});

describe('B24EventPipeline props', () => {
  const build = (props: Partial<B24EventPipelineProps>): B24EventPipeline =>
    new B24EventPipeline(new Stack(new App()), 'Pipeline', { config: { sources: [userSource] }, ...props });

  it('rejects a consumer for a route without a queue, naming the deployed routes', () => {
    const error = captureError(() => build({ consumers: { 'bot-message-add': { entry: 'x.ts' } } }));
    expect(error).toBeInstanceOf(InvalidPipelinePropsError);
    expect(error.message).toContain('consumers["bot-message-add"]');
    expect(error.message).toContain('message-add, message-delete');
  });

  it('rejects a reserved concurrency below the number of shards (one invocation each), whatever the number of sources', () => {
    const error = captureError(() => build({ config: { sources: [userSource], fleet: { shards: 3 } }, pollerReservedConcurrency: 2 }));
    expect(error).toBeInstanceOf(InvalidPipelinePropsError);
    expect(error.message).toMatch(/pollerReservedConcurrency \(2\).*fleet\.shards \(3\)/);
    const many = Array.from({ length: 50 }, (_, i) => ({ ...userSource, id: `s${i}` }));
    expect(() => build({ config: { sources: many }, pollerReservedConcurrency: 2 })).not.toThrow();
  });

  it('accepts an empty config (every source added at run time) and checks sourceKinds against the configured sources', () => {
    expect(() => build({ config: {} })).not.toThrow();
    const error = captureError(() => build({ config: { sources: [{ ...userSource, kind: 'bot', botId: 1, withUserEvents: true }], sourceKinds: ['bot'] } }));
    expect(error).toBeInstanceOf(PipelineConfigurationError);
    expect(error.message).toMatch(/sourceKinds: source "support" needs the "user" routes/);
  });

  it('rejects timeouts Lambda cannot run', () => {
    expect(captureError(() => build({ pollerTimeout: Duration.minutes(16) })).message).toMatch(/pollerTimeout must be .* between 10 and 900/);
    expect(captureError(() => build({ consumers: { unknown: { entry: 'x.ts', timeout: Duration.minutes(20) } } })).message).toMatch(/consumers\["unknown"\]\.timeout/);
  });

  it('revalidates a config passed straight to the construct', () => {
    const error = captureError(() => build({ config: { sources: [{ ...userSource, id: 'Bad Id' }] } }));
    expect(error).toBeInstanceOf(PipelineConfigurationError);
    expect(error.message).toContain('sources[0].id');
  });

  it('uses your own tables and topic instead of creating them, and rejects an alarm e-mail for your topic', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'BringYourOwn');
    const stateTable = dynamodb.Table.fromTableName(stack, 'KeptState', 'kept-state');
    const idempotencyTable = dynamodb.Table.fromTableName(stack, 'KeptIdempotency', 'kept-idempotency');
    const registryTable = dynamodb.Table.fromTableName(stack, 'KeptRegistry', 'kept-sources');
    const alarmTopic = sns.Topic.fromTopicArn(stack, 'OpsTopic', 'arn:aws:sns:eu-central-1:111122223333:ops');
    const pipeline = new B24EventPipeline(stack, 'Pipeline', { config: { prefix: 'own', sources: [userSource] }, stateTable, idempotencyTable, registryTable, alarmTopic });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    expect(pipeline.stateTable.tableName).toBe('kept-state');
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ STATE_TABLE_NAME: 'kept-state', POWERTOOLS_SERVICE_NAME: 'b24-poller' }) } });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ IDEMPOTENCY_TABLE_NAME: 'kept-idempotency', REGISTRY_TABLE_NAME: 'kept-sources' }) } });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as { Properties: { AlarmActions: unknown[] } }[];
    expect(alarms.length).toBeGreaterThan(0);
    expect(alarms.every((a) => JSON.stringify(a.Properties.AlarmActions) === JSON.stringify(['arn:aws:sns:eu-central-1:111122223333:ops']))).toBe(true);

    const withEmail = captureError(() =>
      new B24EventPipeline(new Stack(new App()), 'Pipeline', { config: { sources: [userSource], alarmEmail: 'ops@example.com' }, alarmTopic }),
    );
    expect(withEmail).toBeInstanceOf(InvalidPipelinePropsError);
    expect(withEmail.message).toMatch(/alarmTopic and config alarmEmail both given.*Remove alarmEmail/);
  });

  it('deploys queues only for the routes the sources can produce (or the kinds sourceKinds names)', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'UserOnly');
    new B24EventPipeline(stack, 'Pipeline', { config: { prefix: 'uo', sources: [userSource] } });
    const names = Object.values(Template.fromStack(stack).findResources('AWS::SQS::Queue'))
      .map((r) => (r as { Properties: { QueueName?: string } }).Properties.QueueName)
      .filter((n): n is string => n !== undefined && !n.endsWith('-dlq.fifo'))
      .sort();
    expect(names).toEqual(['join-chat', 'message-add', 'message-delete', 'message-update', 'reaction-change', 'unknown'].map((r) => queueName('uo', r)));
    expect(deployedRoutes(parsePipelineConfig({ sources: [], sourceKinds: ['bot'] })).routeKeys).toEqual([
      'bot-command-add', 'bot-context-get', 'bot-delete', 'bot-join-chat', 'bot-message-add', 'bot-message-delete', 'bot-message-update', 'bot-reaction-change', 'unknown',
    ]);
    expect(deployedRoutes(parsePipelineConfig({})).routeKeys).toHaveLength(14);
  });
});
