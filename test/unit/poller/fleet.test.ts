// Poller shards: the claim plan (pure) and the shard loop over fakes of every
// port (real timers, short intervals): concurrent sources, a busy one not
// starving an idle one, disabled and late sources, a source that cannot start.
import { describe, expect, it } from 'vitest';
import { homeShardOf, planClaims, runShard, worstStaleness, DEFAULT_TUNING, silentLogger, type LeaseView, type PollerDependencies } from '../../../functions/poller/index.js';
import { InMemorySourceRegistry } from '../../../functions/registry/index.js';
import { parseSourceConfig } from '../../../functions/shared/config.js';
import { FakeClock, FakeEventSource, FakeQuarantine, FakeSink, InMemoryStateStore, RecordingMetrics } from './fakes.js';

const ids = Array.from({ length: 300 }, (_, i) => `portal${i % 7}-user${i}`);

describe('planClaims', () => {
  const now = 1_000_000;
  const sources = ids.map((id) => ({ id, registeredAt: now - 60_000 }));

  it('spreads sources over shards stably, and a shard claims only its own when others are alive', () => {
    const counts = [0, 1, 2].map((shard) => ids.filter((id) => homeShardOf(id, 3) === shard).length);
    for (const count of counts) expect(count).toBeGreaterThan(70);
    expect(homeShardOf('portal1-user1', 3)).toBe(homeShardOf('portal1-user1', 3));
    // Every source held by a live owner except shard 0's own: shard 0 takes exactly those.
    const leases = new Map<string, LeaseView>(ids.filter((id) => homeShardOf(id, 3) !== 0).map((id) => [id, { owner: 'other', expiresAt: now + 30_000 }]));
    const claims = planClaims({ shard: 0, shardCount: 3, sourcesPerInvocation: 500, adoptAfterMs: 20_000, now, sources, leases, busy: new Set() });
    expect(claims).toHaveLength(counts[0] ?? 0);
    expect(claims.every((id) => homeShardOf(id, 3) === 0)).toBe(true);
  });

  it("adopts another shard's sources only after they have been free for adoptAfterMs, own ones first, up to K", () => {
    const foreign = ids.filter((id) => homeShardOf(id, 3) === 1);
    const own = ids.filter((id) => homeShardOf(id, 3) === 0);
    const [expired, justReleased, longReleased] = foreign;
    if (expired === undefined || justReleased === undefined || longReleased === undefined) throw new Error('need sources');
    const leases = new Map<string, LeaseView>([
      ...ids.map((id): [string, LeaseView] => [id, { owner: 'live', expiresAt: now + 30_000 }]),
      [expired, { owner: 'dead', expiresAt: now - 25_000, lastCommittedAt: now - 120_000 }],
      [justReleased, { releasedAt: now - 1_000 }],
      [longReleased, { releasedAt: now - 30_000 }],
      ...own.slice(0, 2).map((id): [string, LeaseView] => [id, { releasedAt: now - 500 }]),
    ]);
    const claims = planClaims({ shard: 0, shardCount: 3, sourcesPerInvocation: 10, adoptAfterMs: 20_000, now, sources, leases, busy: new Set() });
    // Most stale first: never committed (longReleased) before the one last committed 2 min ago.
    expect(claims).toEqual([...own.slice(0, 2).sort(), longReleased, expired]);
    expect(planClaims({ shard: 0, shardCount: 3, sourcesPerInvocation: 3, adoptAfterMs: 20_000, now, sources, leases, busy: new Set(['x']) })).toHaveLength(2);
  });

  it('names the stalest source (never polled: since registered)', () => {
    const leases = new Map<string, LeaseView>([['a', { lastCommittedAt: now - 5_000 }], ['b', { lastCommittedAt: now - 90_000 }]]);
    expect(worstStaleness([{ id: 'a', registeredAt: 0 }, { id: 'b', registeredAt: 0 }, { id: 'c', registeredAt: now - 30_000 }], leases, now)).toEqual({ sourceId: 'b', seconds: 90 });
  });
});

describe('runShard', () => {
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  function fakeSource(limit: number) {
    const clock = new FakeClock();
    const events = new FakeEventSource(clock, limit);
    const state = new InMemoryStateStore();
    const sink = new FakeSink();
    const deps: PollerDependencies = {
      events,
      sink,
      state,
      quarantine: new FakeQuarantine(),
      logger: silentLogger,
      metrics: new RecordingMetrics(),
      now: Date.now,
      sleep,
      routes: {},
      tuning: { ...DEFAULT_TUNING, drainIntervalMs: 20, safetyMarginMs: 200, minFetchMs: 50 },
    };
    return { events, state, sink, deps };
  }

  it('polls its sources concurrently: a busy one does not starve an idle one; disabled ones stop, late ones start, broken ones are skipped', async () => {
    const registry = new InMemorySourceRegistry();
    const config = (id: string) => parseSourceConfig({ id, kind: 'user', portal: 'p.bitrix24.com', auth: 'webhook', idleInterval: { minSeconds: 1, maxSeconds: 1 } });
    const ports = new Map([
      ['busy', fakeSource(1)],
      ['idle', fakeSource(10)],
      ['disabled-later', fakeSource(10)],
      ['late', fakeSource(10)],
    ]);
    ports.get('busy')?.events.emit(100_000);
    for (const id of ['busy', 'idle', 'disabled-later', 'broken']) await registry.put(config(id), { credentials: { kind: 'secret', secretName: id }, origin: 'cli' });
    const staleness: number[] = [];
    const shard = runShard(
      {
        registry,
        leases: { read: () => Promise.resolve(new Map()) },
        pollerFor: (source) => {
          const port = ports.get(source.config.id);
          return port === undefined ? Promise.reject(new Error('no secret')) : Promise.resolve(port.deps);
        },
        logger: silentLogger,
        metrics: { fleetMaxStaleness: (s) => staleness.push(s), sourceStaleness: () => undefined },
        now: Date.now,
        sleep,
      },
      { shard: 0, shardCount: 1, sourcesPerInvocation: 10, deadline: Date.now() + 3_500, refreshIntervalMs: 100, stopClaimingBeforeMs: 500, failureCooldownMs: 60_000 },
    );
    await sleep(1_200);
    ports.get('idle')?.events.emit(3);
    await registry.setEnabled('disabled-later', false);
    await registry.put(config('late'), { credentials: { kind: 'secret', secretName: 'late' }, origin: 'cli' });
    ports.get('late')?.events.emit(2);
    const report = await shard;

    const busy = ports.get('busy');
    const idle = ports.get('idle');
    const disabled = ports.get('disabled-later');
    const late = ports.get('late');
    // The busy source drained page after page, at its own pacing.
    expect(busy?.events.fetches.length).toBeGreaterThan(30);
    // The idle one kept its idle rhythm meanwhile and delivered what came in.
    expect(idle?.events.fetches.length).toBeGreaterThanOrEqual(3);
    expect(idle?.sink.published).toHaveLength(3);
    // The disabled one stopped at its next wait, lease released; the late one was picked up without a restart.
    expect(report.runs.find((r) => r.sourceId === 'disabled-later')?.stoppedBecause).toBe('stopped');
    expect(disabled?.state.owner).toBeUndefined();
    expect(late?.sink.published).toHaveLength(2);
    // Every lease is given back at the end; the broken source was tried once and never blocked the others.
    for (const port of ports.values()) expect(port.state.owner).toBeUndefined();
    expect(report.runs.some((r) => r.sourceId === 'broken')).toBe(false);
    expect(report.notPolled.filter((n) => n.sourceId === 'broken')).toHaveLength(1);
    expect(staleness.length).toBeGreaterThan(10);
  });
});
