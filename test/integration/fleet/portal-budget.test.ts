// The shared portal budget for real: DynamoDB Local holds the bucket, several
// "processes" (their own store instances and SDK clients) draw from it at
// once, and real Bitrix24 clients over HTTP to the simulator (its own leaky
// bucket) ask it before every request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBitrix24Client, OperationTimeLimitError, type Bitrix24Client } from '../../../functions/bitrix24/index.js';
import { DynamoDbPortalBudgetStore, gcraStep, PortalBudget } from '../../../functions/budget/index.js';
import { createLocalDynamoDbClient } from '../../../functions/local/aws-emulators.js';
import { startPortalSimulator, type PortalSimulator } from '../../../functions/simulator/index.js';
import { createStateTable, fakeTime } from '../bitrix24/harness.js';
import { rigEndpoints, uniqueName } from '../../setup/rig.js';

const table = uniqueName('budget');
const processes = Array.from({ length: 3 }, () => createLocalDynamoDbClient(rigEndpoints()));

beforeAll(async () => {
  const first = processes[0];
  if (first === undefined) throw new Error('no client');
  await createStateTable(first, table);
});

afterAll(() => {
  for (const c of processes) c.destroy();
});

describe('DynamoDbPortalBudgetStore', () => {
  it('gives concurrent callers in three processes distinct slots, never more than burst + rate × window', async () => {
    const step = gcraStep({ requestsPerSecond: 2, burst: 5 });
    const stores = processes.map((client) => new DynamoDbPortalBudgetStore({ client, tableName: table }));
    const now = 5_000_000;
    const storeAt = (i: number): DynamoDbPortalBudgetStore => {
      const store = stores[i % stores.length];
      if (store === undefined) throw new Error('no store');
      return store;
    };
    const outcomes = await Promise.all(Array.from({ length: 45 }, (_, i) => storeAt(i).reserve('race.bitrix24.com', { now, step, maxWaitMs: 60_000 })));
    const starts = outcomes.map((o) => (o.kind === 'reserved' ? o.startAt : Number.NaN)).sort((a, b) => a - b);
    expect(starts.every(Number.isFinite)).toBe(true);
    // 5 at once, then one every 500 ms: exactly the schedule one process alone would have produced.
    expect(starts).toEqual([...Array.from({ length: 5 }, () => now), ...Array.from({ length: 40 }, (_, i) => now + (i + 1) * 500)]);
    // A caller that cannot wait 21 s is refused and books nothing.
    const refused = await storeAt(0).reserve('race.bitrix24.com', { now, step, maxWaitMs: 1_000 });
    expect(refused.kind).toBe('full');
    const next = await storeAt(1).reserve('race.bitrix24.com', { now, step, maxWaitMs: 60_000 });
    expect(next).toMatchObject({ kind: 'reserved', startAt: now + 41 * 500 });
    const writes = stores.reduce((sum, s) => sum + s.writes, 0);
    expect(writes).toBeLessThan(47 * 8);
  });

  it('keeps a pause per portal and method; a later pause wins, an earlier one does not shorten it', async () => {
    const store = new DynamoDbPortalBudgetStore({ client: processes[0] ?? createLocalDynamoDbClient(rigEndpoints()), tableName: table });
    const step = gcraStep({ requestsPerSecond: 2, burst: 5 });
    await store.pause('pause.bitrix24.com', 'im.v2.event.get', 9_000_000);
    await store.pause('pause.bitrix24.com', 'im.v2.event.get', 8_000_000);
    const outcome = await store.reserve('pause.bitrix24.com', { now: 7_000_000, step, maxWaitMs: 1000 });
    expect(outcome.pauses).toEqual({ 'im.v2.event.get': 9_000_000 });
  });
});

describe('Bitrix24 clients sharing the budget (simulator over HTTP)', () => {
  let sim: PortalSimulator;
  const time = fakeTime();
  const clients: Bitrix24Client[] = [];

  beforeAll(async () => {
    // The portal's own bucket: 2/s, refuses past 5 queued (a small X makes a storm easy to provoke).
    sim = await startPortalSimulator({ rateLimit: { drainPerSecond: 2, maxQueued: 5 }, now: time.now });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sim.stop();
  });

  const fourCallers = (withBudget: boolean, portalKey: string): Bitrix24Client[] => {
    const budget = new PortalBudget({
      store: new DynamoDbPortalBudgetStore({ client: processes[1] ?? createLocalDynamoDbClient(rigEndpoints()), tableName: table }),
      rateOf: () => ({ requestsPerSecond: 2, burst: 3 }),
      now: time.now,
      sleep: time.sleep,
    });
    return Array.from({ length: 4 }, () => {
      const userId = sim.addUser().id;
      const client = createBitrix24Client({
        credentials: { kind: 'webhook', webhookUrl: sim.createWebhook(userId) },
        now: time.now,
        sleep: time.sleep,
        retry: { maxAttempts: 1 },
        // The budget keys on the client's portal host; a per-test key keeps the two scenarios apart.
        ...(withBudget ? { requestGate: { admit: (r) => budget.admit({ ...r, portal: portalKey }), pause: (p) => budget.pause({ ...p, portal: portalKey }) } } : {}),
      });
      clients.push(client);
      return client;
    });
  };

  const roundRobin = async (callers: readonly Bitrix24Client[], rounds: number): Promise<string[]> => {
    const outcomes: string[] = [];
    for (let round = 0; round < rounds; round += 1) {
      for (const c of callers) {
        outcomes.push(await c.call('server.time').then(() => 'ok', (e: unknown) => (e instanceof Error && 'code' in e ? String(e.code) : 'error')));
      }
    }
    return outcomes;
  };

  it('without the budget, four callers of one portal provoke QUERY_LIMIT_EXCEEDED (the problem)', async () => {
    time.advance(60_000);
    const outcomes = await roundRobin(fourCallers(false, uniqueName('p')), 5);
    expect(outcomes.filter((o) => o === 'QUERY_LIMIT_EXCEEDED').length).toBeGreaterThan(10);
  });

  it('with the shared budget, the same 20 calls all succeed, spaced at the portal rate', async () => {
    time.advance(60_000);
    sim.clearCalls();
    const startedAt = time.now();
    const outcomes = await roundRobin(fourCallers(true, uniqueName('p')), 5);
    expect(outcomes).toEqual(Array.from({ length: 20 }, () => 'ok'));
    expect(sim.calls.filter((c) => c.errorCode === 'QUERY_LIMIT_EXCEEDED')).toHaveLength(0);
    // 3 at once, the other 17 at 2/s.
    expect(time.now() - startedAt).toBe(17 * 500);
  });

  it("an OPERATION_TIME_LIMIT answer to one caller holds the method for the others, who do not call it", async () => {
    time.advance(60_000);
    const [a, b] = fourCallers(true, uniqueName('p'));
    if (a === undefined || b === undefined) throw new Error('no callers');
    sim.faults.inject({ method: 'im.v2.Event.get', kind: 'operation-time-limit', resetInSeconds: 300 });
    sim.clearCalls();
    await expect(a.getEvents({}, { deadline: time.now() + 10_000 })).rejects.toBeInstanceOf(OperationTimeLimitError);
    const bError = await b.getEvents({}, { deadline: time.now() + 10_000 }).catch((e: unknown) => e);
    expect(bError).toBeInstanceOf(OperationTimeLimitError);
    expect(sim.calls.filter((c) => c.method === 'im.v2.Event.get')).toHaveLength(1);
    // Other methods are not held.
    await b.call('server.time');
    // With room before its deadline b waits the pause out and then calls.
    await b.getEvents({}, { deadline: time.now() + 600_000 });
    expect(sim.calls.filter((c) => c.method === 'im.v2.Event.get')).toHaveLength(2);
  });
});
