// The lease in DynamoDB Local: exclusive polling, fencing of a taken-over run,
// an offset that only moves forward.
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoDbSourceStateStore,
  LeaseBusyError,
  LeaseLostError,
  OffsetRegressionError,
  pollSource,
  sourceStateKey,
  type PollerDependencies,
} from '../../../functions/poller/index.js';
import { POLLER_METRICS } from '../../../functions/shared/observability.js';
import { drainQueues, offsetViolations, startRig, type Rig } from './harness.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(async () => {
  await rig.stop();
});

function store(sourceId: string): DynamoDbSourceStateStore {
  return new DynamoDbSourceStateStore({ client: rig.aws.dynamoDb, tableName: rig.pipeline.stateTableName, sourceId });
}

async function storedOffset(sourceId: string): Promise<string | undefined> {
  const item = await rig.aws.dynamoDb.send(
    new GetItemCommand({ TableName: rig.pipeline.stateTableName, Key: { pk: { S: sourceStateKey(sourceId) } }, ConsistentRead: true }),
  );
  return item.Item?.committedOffset?.N;
}

describe('lease', () => {
  it('two pollers started at once: exactly one calls Event.get', async () => {
    const reader = rig.reader();
    const source = rig.source({ pageLimit: 10 });
    rig.sim.subscribe(reader.userId);
    rig.sim.activity.generate({ userId: reader.userId }, 25);
    rig.sim.clearCalls();
    const conflictsBefore = rig.metrics.total(POLLER_METRICS.leaseConflicts);

    const reports = await Promise.all(
      ['a', 'b'].map((owner) => pollSource(rig.deps(source, reader), source, { deadline: rig.time.now() + 300_000, mode: 'per-schedule', ownerId: owner })),
    );

    expect(reports.map((r) => r.stoppedBecause).sort()).toEqual(['drained', 'lease-busy']);
    const winner = reports.find((r) => r.stoppedBecause === 'drained');
    const gets = rig.sim.calls.filter((c) => c.method === 'im.v2.Event.get' && c.userId === reader.userId);
    expect(gets).toHaveLength(winner?.pages ?? -1);
    expect(reports.find((r) => r.stoppedBecause === 'lease-busy')?.pages).toBe(0);
    expect(rig.metrics.total(POLLER_METRICS.leaseConflicts) - conflictsBefore).toBe(1);
    expect(offsetViolations(rig, reader.userId)).toEqual([]);
  });

  it('fencing: a run whose lease expired and was taken over cannot renew, commit or release', async () => {
    const sourceId = rig.source().id;
    const now = rig.time.now();
    const first = await store(sourceId).acquire({ owner: 'slow', now, leaseMs: 10_000 });
    await store(sourceId).commit(first.lease, { fromOffset: undefined, nextOffset: 100, events: 3, now, leaseMs: 10_000 });

    await expect(store(sourceId).acquire({ owner: 'eager', now: now + 5_000, leaseMs: 10_000 })).rejects.toBeInstanceOf(LeaseBusyError);
    const second = await store(sourceId).acquire({ owner: 'next', now: now + 10_001, leaseMs: 10_000 });
    expect(second.lease.fencingToken).toBe(first.lease.fencingToken + 1);
    expect(second.committedOffset).toBe(100);

    await expect(store(sourceId).commit(first.lease, { fromOffset: 100, nextOffset: 200, events: 1, now: now + 10_002, leaseMs: 10_000 })).rejects.toBeInstanceOf(LeaseLostError);
    await expect(store(sourceId).renew(first.lease, { now: now + 10_002, leaseMs: 10_000 })).rejects.toBeInstanceOf(LeaseLostError);
    await store(sourceId).release(first.lease, { now: now + 10_002 }); // no-op for the fenced run
    expect(await storedOffset(sourceId)).toBe('100');
    // the new holder still owns it
    await store(sourceId).commit(second.lease, { fromOffset: 100, nextOffset: 150, events: 1, now: now + 10_003, leaseMs: 10_000 });
    expect(await storedOffset(sourceId)).toBe('150');
  });

  it('the offset never moves backwards, even for the lease holder', async () => {
    const sourceId = rig.source().id;
    const now = rig.time.now();
    const { lease } = await store(sourceId).acquire({ owner: 'o', now, leaseMs: 10_000 });
    await store(sourceId).commit(lease, { fromOffset: undefined, nextOffset: 50, events: 1, now, leaseMs: 10_000 });

    const error = await store(sourceId).commit(lease, { fromOffset: 50, nextOffset: 40, events: 1, now, leaseMs: 10_000 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OffsetRegressionError);
    expect((error as OffsetRegressionError).committedOffset).toBe(50);
    expect(await storedOffset(sourceId)).toBe('50');
  });

  it('a poller whose lease is taken over mid-fetch stops without committing; the new holder delivers everything', async () => {
    const reader = rig.reader();
    const source = rig.source({ pageLimit: 10 });
    rig.sim.subscribe(reader.userId);
    rig.sim.activity.generate({ userId: reader.userId }, 15);
    const slowDeps = rig.deps(source, reader, { leaseMs: 20_000 });
    let takeover: Promise<unknown> | undefined;
    const slow: PollerDependencies = {
      ...slowDeps,
      events: {
        ...slowDeps.events,
        portal: slowDeps.events.portal,
        subscribe: (o) => slowDeps.events.subscribe(o),
        fetch: async (offset, o) => {
          const page = await slowDeps.events.fetch(offset, o);
          // the fetch "hangs" past the lease expiry and another run takes over and drains the source
          rig.time.advance(20_001);
          takeover ??= pollSource(rig.deps(source, reader), source, { deadline: rig.time.now() + 300_000, mode: 'per-schedule', ownerId: 'taker' });
          await takeover;
          return page;
        },
      },
    };

    const report = await pollSource(slow, source, { deadline: rig.time.now() + 300_000, mode: 'per-schedule', ownerId: 'slow' });

    expect(report).toMatchObject({ stoppedBecause: 'lease-lost', errorCode: 'LEASE_LOST' });
    expect(await takeover).toMatchObject({ stoppedBecause: 'drained', eventsPublished: 15 });
    const ids = new Set((await drainQueues(rig)).filter((m) => m.body.sourceId === source.id).map((m) => m.eventId));
    expect(rig.sim.emittedEvents({ userId: reader.userId }).every((e) => ids.has(e.eventId))).toBe(true);
    expect(offsetViolations(rig, reader.userId)).toEqual([]);
  });
});
