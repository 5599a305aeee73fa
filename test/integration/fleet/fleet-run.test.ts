// The fleet on the local rig, small (issue 13 §2–3 "done when", the full one
// is in `npm run bench`): 40 sources over 4 portals (4 of them added while
// traffic flows), 3 shards of up to 25 sources each (two can carry all 40), every Bitrix24 request
// through the shared portal budget, one shard killed mid-run.
import { beforeAll, describe, expect, it } from 'vitest';
import { runFleet, type FleetRunResult } from '../../../bench/fleet-run.js';
import { rigEndpoints } from '../../setup/rig.js';

let result: FleetRunResult;

beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  result = await runFleet(rigEndpoints(), {
    portals: 4,
    sourcesPerPortal: 9,
    lateSourcesPerPortal: 1,
    shards: 3,
    sourcesPerInvocation: 25,
    trafficMs: 28_000,
    eventsPerSecond: 10,
    kill: { shard: 1, atMs: 8_000 },
    idleInterval: { minSeconds: 2, maxSeconds: 5 },
    leaseMs: 6_000,
  });
  process.stderr.write(`fleet run: ${JSON.stringify(result)}\n`);
}, 90_000);

describe('40 sources, 4 portals, 3 shards, one killed', () => {
  it('loses nothing and handles nothing twice, late sources included', () => {
    expect(result.eventsCreated).toBeGreaterThan(200);
    expect(result.lost).toBe(0);
    expect(result.handledTwice).toBe(0);
    expect(result.eventsHandled).toBe(result.eventsCreated);
  });

  it('holds every portal at the budget: no QUERY_LIMIT_EXCEEDED', () => {
    expect(result.queryLimitExceeded).toBe(0);
    // Over any 10 s a portal saw at most the budget plus its burst (10 requests → +1/s), give or take the HTTP jitter of a few requests.
    expect(result.portalRate.maxWindowPerSecond).toBeLessThanOrEqual(result.portalRate.budgetPerSecond + 1.5);
    expect(result.portalRate.meanPerSecond).toBeLessThanOrEqual(result.portalRate.budgetPerSecond + 0.5);
  });

  it("picks up the killed shard's sources on the other shards", () => {
    const killed = result.killed;
    expect(killed).toBeDefined();
    expect(killed?.held).toBeGreaterThan(0);
    expect(killed?.adopted).toBe(killed?.held);
    // Lease (6 s) + adoption delay (2 s) + a refresh + subscribe and a poll queued behind ~10 sources in the portal's 2/s budget.
    expect(killed?.allAdoptedWithinMs).toBeLessThan(25_000);
    expect(result.sourcesPolledPerShard.filter((n, shard) => shard !== 1 && n > 0)).toHaveLength(2);
  });

  it('reports the per-source p99 latency', () => {
    expect(result.perSourceP99Ms.count).toBe(result.sources);
    expect(result.latencyMs.p99).toBeGreaterThan(0);
  });
});
