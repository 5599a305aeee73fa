// A fetch-mode bot source end to end: imbot.v2.Event.get over real HTTP with
// the bot token and withUserEvents, one offset confirming both streams, bot
// types fanned out to the bot routes and the owner's events to the user routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPollerDependencies, pollSource } from '../../../functions/poller/index.js';
import type { InlineEnvelope } from '../../../functions/shared/envelope.js';
import { BOT_EVENT_TYPES } from '../../../functions/shared/event-types.js';
import { drainQueues, startRig, type Rig } from './harness.js';
import { s3PayloadWriter } from '../../../functions/poller/s3-payload-writer.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(async () => {
  await rig.stop();
});

describe('bot source', () => {
  it('delivers the bot’s and its owner’s events through one offset and routes each kind to its queues', async () => {
    const owner = rig.reader();
    const bot = rig.sim.registerBot(owner.userId);
    rig.sim.subscribe(owner.userId);
    const botEvents = rig.sim.activity.generate({ botId: bot.botId }, 40);
    const userEvents = rig.sim.activity.generate({ userId: owner.userId }, 25);
    const source = rig.source({ kind: 'bot', botId: bot.botId, withUserEvents: true, pageLimit: 20 });
    const deps = createPollerDependencies({
      source,
      client: owner.client,
      botToken: bot.botToken,
      dynamoDb: rig.aws.dynamoDb,
      sqs: rig.aws.sqs,
      payloads: s3PayloadWriter(rig.aws.s3),
      stateTableName: rig.pipeline.stateTableName,
      queueUrls: rig.pipeline.queueUrls,
      routes: rig.pipeline.routes,
      payloadBucketName: rig.pipeline.payloadBucketName,
      logger: rig.logger,
      metrics: rig.metrics,
      now: rig.time.now,
      sleep: rig.time.sleep,
    });

    const report = await pollSource(deps, source, { deadline: rig.time.now() + 600_000, mode: 'per-schedule' });

    expect(report).toMatchObject({ stoppedBecause: 'drained', eventsPublished: 65 });
    const messages = await drainQueues(rig);
    const delivered = new Map(messages.map((m) => [m.eventId, m]));
    for (const event of [...botEvents, ...userEvents]) {
      const message = delivered.get(event.eventId);
      expect(message?.route).toBe(rig.pipeline.routes[event.type]);
      expect((message?.body as InlineEnvelope | undefined)?.event.type).toBe(event.type);
    }
    expect(botEvents.every((e) => (BOT_EVENT_TYPES as readonly string[]).includes(e.type))).toBe(true);
    const gets = rig.sim.calls.filter((c) => c.method === 'imbot.v2.Event.get');
    expect(gets.length).toBeGreaterThanOrEqual(4);
    expect(gets.every((c) => c.botId === bot.botId && c.withUserEvents === true && c.status === 200)).toBe(true);
    expect(rig.sim.calls.some((c) => c.method === 'im.v2.Event.get')).toBe(false);
    // The last page is confirmed by the next run's first call, as the protocol says.
    expect(rig.sim.pendingEvents({ botId: bot.botId, withUserEvents: true }).map((e) => e.eventId)).toEqual(
      [...botEvents, ...userEvents].map((e) => e.eventId).sort((a, b) => a - b).slice(60),
    );
    const next = await pollSource(deps, source, { deadline: rig.time.now() + 600_000, mode: 'per-schedule' });
    expect(next).toMatchObject({ stoppedBecause: 'drained', eventsPublished: 0, committedOffset: report.committedOffset });
    expect(rig.sim.pendingEvents({ botId: bot.botId, withUserEvents: true })).toHaveLength(0);
  });
});
