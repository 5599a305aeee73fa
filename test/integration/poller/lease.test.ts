// The lease in DynamoDB Local: exclusive polling, fencing of a taken-over run,
// an offset that only moves forward.
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoDbSourceStateStore,
  LeaseBusyError,
  LeaseLostError,
  OffsetMovedError,
  OffsetRegressionError,
  pollSource,
  sourceStateKey,
  type PollerDependencies,
} from '../../../functions/poller/index.js';
import { POLLER_METRICS } from '../../../functions/shared/observability.js';
import { resetCommittedOffset } from '../../../functions/cli/source-state.js';
import { rigClients } from '../../setup/rig.js';
import { drainQueues, offsetViolations, startRig, type Rig } from './harness.js';

/**
 * A DynamoDB client whose next `UpdateItem` answers are lost after the write
 * landed (a connection reset on the way back): the SDK retries the same
 * conditional write, which then fails its own condition.
 */
function clientLosingAnswers(): { client: ReturnType<typeof rigClients>['dynamoDb']; loseNext: (n: number) => void; lost: () => number } {
  const { dynamoDb } = rigClients();
  let toLose = 0;
  let lost = 0;
  dynamoDb.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'UpdateItemCommand' && toLose > 0) {
        toLose -= 1;
        lost += 1;
        throw Object.assign(new Error('socket hang up after the write'), { code: 'ECONNRESET', name: 'NetworkError' });
      }
      return result;
    },
    { step: 'deserialize', name: 'loseAnswers' },
  );
  return { client: dynamoDb, loseNext: (n) => (toLose = n), lost: () => lost };
}

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

  it('a lost answer to a successful acquire is recognised as our own lease (not "busy, held by itself")', async () => {
    const sourceId = rig.source().id;
    const lossy = clientLosingAnswers();
    const lossyStore = new DynamoDbSourceStateStore({ client: lossy.client, tableName: rig.pipeline.stateTableName, sourceId });
    const now = rig.time.now();
    try {
      lossy.loseNext(1);
      const state = await lossyStore.acquire({ owner: 'me', now, leaseMs: 90_000 });
      expect(lossy.lost()).toBe(1);
      expect(state.lease).toMatchObject({ owner: 'me', fencingToken: 1, expiresAt: now + 90_000 });
      // the lease works: commit and release with it
      await lossyStore.commit(state.lease, { fromOffset: undefined, nextOffset: 7, events: 1, now, leaseMs: 90_000 });
      expect(await storedOffset(sourceId)).toBe('7');
    } finally {
      lossy.client.destroy();
    }
  });

  it('a lost answer to a successful commit is recognised as done (not a lost lease or a moved offset)', async () => {
    const sourceId = rig.source().id;
    const lossy = clientLosingAnswers();
    const lossyStore = new DynamoDbSourceStateStore({ client: lossy.client, tableName: rig.pipeline.stateTableName, sourceId });
    const now = rig.time.now();
    try {
      const { lease } = await lossyStore.acquire({ owner: 'me', now, leaseMs: 90_000 });
      await lossyStore.commit(lease, { fromOffset: undefined, nextOffset: 10, events: 1, now, leaseMs: 90_000 });
      lossy.loseNext(1);
      const renewed = await lossyStore.commit(lease, { fromOffset: 10, nextOffset: 20, events: 1, now: now + 1, leaseMs: 90_000 });
      expect(lossy.lost()).toBe(1);
      expect(renewed.fencingToken).toBe(lease.fencingToken);
      expect(await storedOffset(sourceId)).toBe('20');
    } finally {
      lossy.client.destroy();
    }
  });

  it('reset-offset over an expired lease fences the old run out: it can no longer commit over the reset', async () => {
    const sourceId = rig.source().id;
    const now = rig.time.now();
    const { lease } = await store(sourceId).acquire({ owner: 'slow', now, leaseMs: 10_000 });
    await store(sourceId).commit(lease, { fromOffset: undefined, nextOffset: 50, events: 1, now, leaseMs: 10_000 });
    // the slow run stalls past its lease; the operator resets the offset meanwhile
    const later = now + 20_000;
    const { previous } = await resetCommittedOffset(rig.aws.dynamoDb, rig.pipeline.stateTableName, sourceId, { to: 30, now: later });
    expect(previous).toBe(50);

    const error = await store(sourceId).commit(lease, { fromOffset: 50, nextOffset: 60, events: 1, now: later + 1, leaseMs: 10_000 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LeaseLostError);
    expect(await storedOffset(sourceId)).toBe('30');
    // and the next run starts from the operator's offset with a higher token
    const next = await store(sourceId).acquire({ owner: 'next', now: later + 2, leaseMs: 10_000 });
    expect(next.committedOffset).toBe(30);
    expect(next.lease.fencingToken).toBe(lease.fencingToken + 2);
  });

  it('a commit from an offset that is no longer stored is refused with OffsetMovedError', async () => {
    const sourceId = rig.source().id;
    const now = rig.time.now();
    const { lease } = await store(sourceId).acquire({ owner: 'o', now, leaseMs: 10_000 });
    await store(sourceId).commit(lease, { fromOffset: undefined, nextOffset: 50, events: 1, now, leaseMs: 10_000 });

    const error = await store(sourceId).commit(lease, { fromOffset: 45, nextOffset: 60, events: 1, now, leaseMs: 10_000 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(OffsetMovedError);
    expect(await storedOffset(sourceId)).toBe('50');
  });
});
