// Issue 13 §4: the stack's size does not depend on the number of sources. The
// same app synthesized with 10 sources and with 1000 sources over 100 portals:
// far under CloudFormation's 500 resources, the same resources (± the seed's
// properties), every Lambda environment far under 4 KB, no output per source.
// Bundling is skipped (`aws:cdk:bundling-stacks: []`): it does not change the
// template's resources, and pipeline-stack.test.ts covers it.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { createPipelineApp } from '../../lib/app.js';
import { featureFlagsOfCdkJson } from './fixtures/stack-fixture.js';

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>; Outputs?: Record<string, unknown> };

/** `count` sources spread over `portals` portals, users and bots (a third are bots reading user events too). */
function manySources(count: number, portals: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => {
    const portal = `portal-${String(i % portals).padStart(3, '0')}.bitrix24.com`;
    const base = { id: `source-${String(i).padStart(4, '0')}`, portal, auth: i % 2 === 0 ? 'webhook' : 'oauth' };
    return i % 3 === 0 ? { ...base, kind: 'bot', botId: 1000 + i, withUserEvents: true } : { ...base, kind: 'user' };
  });
}

const directories: string[] = [];

function synth(sources: readonly Record<string, unknown>[], extra: Record<string, unknown> = {}): Template {
  const { app, stack } = createPipelineApp({
    appProps: {
      context: { ...featureFlagsOfCdkJson(), 'aws:cdk:bundling-stacks': [], pipeline: { prefix: 'scale', sources, ...extra } },
      builtinCloudFormationValidation: false,
    },
  });
  const assembly = app.synth();
  directories.push(assembly.directory);
  return assembly.getStackArtifact(stack.artifactId).template as Template;
}

function typeCounts(template: Template): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const resource of Object.values(template.Resources)) counts[resource.Type] = (counts[resource.Type] ?? 0) + 1;
  return counts;
}

function environmentBytes(template: Template): Record<string, number> {
  return Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([id, r]) => [id, Buffer.byteLength(JSON.stringify((r.Properties?.Environment as { Variables?: unknown } | undefined)?.Variables ?? {}), 'utf8')]),
  );
}

let small: Template;
let large: Template;

beforeAll(() => {
  small = synth(manySources(10, 3));
  large = synth(manySources(1000, 100));
}, 240_000);

afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

describe('stack size with 1000 sources over 100 portals', () => {
  it('stays far under the 500-resource limit, with exactly the resources of 10 sources', () => {
    const smallCount = Object.keys(small.Resources).length;
    const largeCount = Object.keys(large.Resources).length;
    console.info(`resources: 10 sources → ${smallCount}, 1000 sources → ${largeCount}`);
    expect(largeCount).toBeLessThan(250);
    expect(typeCounts(large)).toEqual(typeCounts(small));
    expect(Object.keys(large.Resources).sort()).toEqual(Object.keys(small.Resources).sort());
  });

  it('has no schedule, secret, alarm or output per source: 2 shard schedules, 0 secrets', () => {
    const counts = typeCounts(large);
    expect(counts['AWS::Scheduler::Schedule']).toBe(2);
    expect(counts['AWS::SecretsManager::Secret']).toBeUndefined();
    expect(counts['AWS::CloudWatch::Alarm']).toBe(typeCounts(small)['AWS::CloudWatch::Alarm']);
    expect(Object.keys(large.Outputs ?? {}).sort()).toEqual(Object.keys(small.Outputs ?? {}).sort());
    expect(JSON.stringify(large.Outputs)).not.toContain('source-0999');
  });

  it('keeps every Lambda environment far under 4 KB, and the same size as with 10 sources', () => {
    const largeBytes = environmentBytes(large);
    console.info(`environment bytes (1000 sources): ${JSON.stringify(largeBytes)}`);
    expect(Object.entries(largeBytes).filter(([, bytes]) => bytes >= 2560)).toEqual([]);
    expect(largeBytes).toEqual(environmentBytes(small));
  });

  it('carries the 1000 sources in the one seed resource, compressed, every one of them', () => {
    const seeds = Object.values(large.Resources).filter((r) => r.Type === 'Custom::B24SourceRegistrySeed');
    expect(seeds).toHaveLength(1);
    const encoded = String(seeds[0]?.Properties?.SourcesGzipBase64);
    const decoded = JSON.parse(gunzipSync(Buffer.from(encoded, 'base64')).toString('utf8')) as { id: string }[];
    expect(decoded.map((s) => s.id)).toEqual(manySources(1000, 100).map((s) => s.id));
    console.info(`seed properties: ${encoded.length} bytes base64 for 1000 sources; template ${JSON.stringify(large).length} bytes`);
    expect(encoded.length).toBeLessThan(64 * 1024);
  });

  it('synthesizes with no source in the config at all (every source added at run time), with every route', () => {
    const empty = synth([]);
    expect(typeCounts(empty)['AWS::SQS::Queue']).toBe(2 * 14 + 1); // every route + DLQ, and the scheduler's DLQ
    expect(Object.keys(empty.Resources).length).toBe(Object.keys(large.Resources).length);
  });

  it('deploys N shard schedules with {"shard": i, "shardCount": N} inputs for fleet.shards N', () => {
    const fleet = synth(manySources(10, 3), { fleet: { shards: 4, sourcesPerInvocation: 25 } });
    const inputs = Object.values(fleet.Resources)
      .filter((r) => r.Type === 'AWS::Scheduler::Schedule')
      .map((r) => JSON.parse(String((r.Properties?.Target as { Input?: string }).Input)) as unknown);
    expect(inputs).toEqual([0, 1, 2, 3].map((shard) => ({ shard, shardCount: 4 })));
    const poller = Object.values(fleet.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && JSON.stringify(r.Properties).includes('SOURCES_PER_INVOCATION'));
    expect((poller?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables.SOURCES_PER_INVOCATION).toBe('25');
  });
});
