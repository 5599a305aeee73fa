// The deploy-time seed (pure core + custom resource answer) over the in-memory registry.
import { describe, expect, it } from 'vitest';
import { InMemorySourceRegistry } from '../../../functions/registry/in-memory-source-registry.js';
import { decodeSeedSources, encodeSeedSources, seedRegistry, type PlaceholderSecrets } from '../../../functions/registry/registry-seed.js';
import { customResourceResponse } from '../../../functions/registry/seed-handler.js';
import { parseSourceConfig } from '../../../functions/shared/config.js';

const source = (id: string) => parseSourceConfig({ id, kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook' });

describe('seedRegistry', () => {
  it('puts config sources (origin config), removes config sources that left the config, keeps CLI ones, creates missing secrets', async () => {
    const registry = new InMemorySourceRegistry();
    await registry.put(source('old-config'), { credentials: { kind: 'secret', secretName: 'p/sources/old-config' }, origin: 'config' });
    await registry.put(source('from-cli'), { credentials: { kind: 'secret', secretName: 'p/sources/from-cli' }, origin: 'cli' });
    const existing = new Set(['p/sources/a']);
    const secrets: PlaceholderSecrets = {
      createIfMissing: (name) => Promise.resolve(existing.has(name) ? 'exists' : (existing.add(name), 'created')),
    };
    const outcome = await seedRegistry({ registry, prefix: 'p', sources: [source('a'), source('b')], secrets });
    expect(outcome).toEqual({ seeded: 2, removed: ['old-config'], secretsCreated: 1 });
    expect((await registry.list()).map((s) => [s.config.id, s.origin])).toEqual([
      ['a', 'config'],
      ['b', 'config'],
      ['from-cli', 'cli'],
    ]);
    expect((await registry.get('b'))?.credentials).toEqual({ kind: 'secret', secretName: 'p/sources/b' });
  });

  it('round-trips 1000 sources through gzip+base64 and revalidates them', () => {
    const sources = Array.from({ length: 1000 }, (_, i) => source(`s-${i}`));
    const encoded = encodeSeedSources(sources);
    expect(encoded.length).toBeLessThan(20_000);
    expect(decodeSeedSources(encoded)).toEqual(sources);
    expect(() => decodeSeedSources(encodeSeedSources([{ ...source('x'), portal: 'https://bad/' }]))).toThrow(/portal/);
  });

  it('answers CloudFormation with the request ids and a reason, FAILED on error', () => {
    const event = { RequestType: 'Create' as const, ResponseURL: 'https://example', StackId: 'stack', RequestId: 'req', LogicalResourceId: 'Seed', ResourceProperties: {} };
    expect(JSON.parse(customResourceResponse(event, { ok: false, reason: 'InvalidSourceError: bad' }))).toEqual({
      Status: 'FAILED', Reason: 'InvalidSourceError: bad', PhysicalResourceId: 'Seed-registry-seed', StackId: 'stack', RequestId: 'req', LogicalResourceId: 'Seed',
    });
  });
});
