// The poller end to end over real HTTP (portal simulator) and the real local
// AWS services: fan-out by type, per-chat order, the catch-all, claim checks,
// the state item, and the cost of a 1000-event page.
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollSource, sourceStateKey } from '../../../functions/poller/index.js';
import { deduplicationId, type ClaimCheckEnvelope, type InlineEnvelope } from '../../../functions/shared/envelope.js';
import { POLLER_METRICS } from '../../../functions/shared/observability.js';
import { CATCH_ALL_ROUTE } from '../../../functions/shared/topology.js';
import { drainQueues, offsetViolations, startRig, type Rig } from './harness.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(async () => {
  await rig.stop();
});

describe('poller delivery', () => {
  it('fans a realistic stream out per type, keeps per-chat order, and commits the offset in the state item', async () => {
    const source = rig.source({ pageLimit: 50 });
    const r = rig.reader();
    rig.sim.subscribe(r.userId);
    const emitted = rig.sim.activity.generate({ userId: r.userId }, 230);
    const unknown = rig.sim.emit({ userId: r.userId }, 'ONIMV2SOMETHINGNEW', { chat: { id: 3, dialogId: 'chat3' }, note: 'new type' });
    expect(unknown).toBeDefined();

    const report = await pollSource(rig.deps(source, r), source, { deadline: rig.time.now() + 600_000, mode: 'per-schedule' });

    expect(report).toMatchObject({ stoppedBecause: 'drained', eventsReceived: 231, eventsPublished: 231, pages: 5 });
    const messages = await drainQueues(rig);
    const allIds = [...emitted.map((e) => e.eventId), unknown?.eventId ?? -1].sort((a, b) => a - b);
    expect(messages.map((m) => m.eventId).sort((a, b) => a - b)).toEqual(allIds);
    // routing by type; unknown type → catch-all
    for (const m of messages) {
      const event = (m.body as InlineEnvelope).event;
      expect(m.route).toBe(event.type === 'ONIMV2SOMETHINGNEW' ? CATCH_ALL_ROUTE : rig.pipeline.routes[event.type]);
      expect(m.body).toMatchObject({ schemaVersion: 1, sourceId: source.id, portal: rig.sim.portalHost });
    }
    expect(messages.filter((m) => m.route === CATCH_ALL_ROUTE).map((m) => m.eventId)).toEqual([unknown?.eventId]);
    // per-chat order in every FIFO queue
    const byGroup = new Map<string, number[]>();
    for (const m of messages) byGroup.set(`${m.route}|${m.groupId}`, [...(byGroup.get(`${m.route}|${m.groupId}`) ?? []), m.eventId]);
    expect(byGroup.size).toBeGreaterThan(5);
    for (const ids of byGroup.values()) expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // the state item
    const item = await rig.aws.dynamoDb.send(
      new GetItemCommand({ TableName: rig.pipeline.stateTableName, Key: { pk: { S: sourceStateKey(source.id) } }, ConsistentRead: true }),
    );
    expect(item.Item?.committedOffset?.N).toBe(String(report.committedOffset));
    expect(item.Item?.subscribed?.BOOL).toBe(true);
    expect(item.Item?.eventsTotal?.N).toBe('231');
    expect(item.Item?.pagesTotal?.N).toBe('5');
    expect(item.Item?.fencingToken?.N).toBe('1');
    expect(item.Item?.leaseOwner).toBeUndefined();
    expect(offsetViolations(rig, r.userId)).toEqual([]);
    expect(rig.metrics.total(POLLER_METRICS.pollSucceeded)).toBeGreaterThanOrEqual(5);
  });

  it('sends an event too large for SQS through the claim-check bucket', async () => {
    const source = rig.source();
    const r = rig.reader();
    rig.sim.subscribe(r.userId);
    const big = rig.sim.emit({ userId: r.userId }, 'ONIMV2MESSAGEADD', {
      chat: { id: 9, dialogId: 'chat9' },
      message: { id: 1, chatId: 9, text: 'x'.repeat(300 * 1024) },
    });
    const small = rig.sim.emit({ userId: r.userId }, 'ONIMV2MESSAGEADD', { chat: { id: 9, dialogId: 'chat9' }, message: { id: 2, chatId: 9, text: 'hi' } });
    const before = rig.metrics.total(POLLER_METRICS.oversizeEvents);

    const report = await pollSource(rig.deps(source, r), source, { deadline: rig.time.now() + 600_000, mode: 'per-schedule' });

    expect(report.eventsPublished).toBe(2);
    const messages = (await drainQueues(rig)).filter((m) => m.body.sourceId === source.id);
    expect(messages.map((m) => m.eventId)).toEqual([big?.eventId, small?.eventId]);
    const claim = messages[0]?.body as ClaimCheckEnvelope;
    expect(claim.eventRef).toMatchObject({ bucket: rig.pipeline.payloadBucketName, eventId: big?.eventId, type: 'ONIMV2MESSAGEADD' });
    const object = await rig.aws.s3.send(new GetObjectCommand({ Bucket: claim.eventRef.bucket, Key: claim.eventRef.key }));
    const stored = JSON.parse((await object.Body?.transformToString()) ?? '{}') as InlineEnvelope;
    expect(stored.event).toEqual(big);
    expect(rig.metrics.total(POLLER_METRICS.oversizeEvents) - before).toBe(1);
  });

  it('a page of 1000 events costs one Event.get, ~100 SendMessageBatch calls and O(1) DynamoDB writes', async () => {
    const source = rig.source({ pageLimit: 1000 });
    const r = rig.reader();
    rig.sim.subscribe(r.userId);
    for (let i = 0; i < 1000; i += 1) {
      rig.sim.emit({ userId: r.userId }, 'ONIMV2MESSAGEADD', { chat: { id: i % 7, dialogId: `chat${i % 7}` }, message: { id: i, chatId: i % 7, text: `m${i}` } });
    }
    const deps = rig.deps(source, r);
    rig.counter.reset();
    rig.sim.clearCalls();

    const report = await pollSource(deps, source, { deadline: rig.time.now() + 600_000, mode: 'per-schedule' });

    expect(report).toMatchObject({ stoppedBecause: 'drained', pages: 1, eventsPublished: 1000 });
    const eventGets = rig.sim.calls.filter((c) => c.method === 'im.v2.Event.get').length;
    const batches = rig.counter.get('sqs:SendMessageBatchCommand');
    const dynamoWrites = rig.counter.get('dynamodb:UpdateItemCommand') + rig.counter.get('dynamodb:PutItemCommand');
    console.info(`[poller cost] 1000-event page: Event.get=${eventGets}, SendMessageBatch=${batches}, DynamoDB writes=${dynamoWrites} (${[...rig.counter.counts].map(([k, v]) => `${k}=${v}`).join(', ')})`);
    expect(eventGets).toBe(1);
    // 7 chats × 14 full calls of one chat each, then the 7 short tails (3,3,3,3,3,3,2) packed whole into 3 calls
    expect(batches).toBeLessThanOrEqual(101);
    // acquire + mark subscribed + commit + release, whatever the page size
    expect(dynamoWrites).toBeLessThanOrEqual(4);
    const messages = (await drainQueues(rig)).filter((m) => m.body.sourceId === source.id);
    expect(new Set(messages.map((m) => m.eventId)).size).toBe(1000);
    expect(deduplicationId(source.id, 1)).toContain(source.id);
  });
});
