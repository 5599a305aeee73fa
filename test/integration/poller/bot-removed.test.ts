// The bot of a source is removed (imbot.v2.Bot.unregister → ONIMBOTV2DELETE,
// "the last event the bot will receive"): the poller publishes and commits the
// page with the event, records the removal on the source's state item, says
// so (log line + BotDeleted metric) and does not poll that source again —
// until the source is configured with another bot id.
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceStateKey } from '../../../functions/poller/dynamodb-source-state.js';
import { createPollerDependencies, pollSource } from '../../../functions/poller/index.js';
import type { SourceConfig } from '../../../functions/shared/config.js';
import { POLLER_METRICS } from '../../../functions/shared/observability.js';
import { s3PayloadWriter } from '../../../functions/poller/s3-payload-writer.js';
import { drainQueues, startRig, type Reader, type Rig } from './harness.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(async () => {
  await rig.stop();
});

function depsFor(source: SourceConfig, owner: Reader, botToken: string) {
  return createPollerDependencies({
    source,
    client: owner.client,
    botToken,
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
}

describe('bot removed (ONIMBOTV2DELETE)', () => {
  it('delivers the removal, marks the source and stops polling it; another bot id polls again', async () => {
    const owner = rig.reader();
    const bot = rig.sim.registerBot(owner.userId, { code: 'gone_bot' });
    const before = rig.sim.activity.generate({ botId: bot.botId }, 5);
    const deleteEvent = rig.sim.unregisterBot(bot.botId);
    if (deleteEvent === undefined) throw new Error('the simulator emitted no ONIMBOTV2DELETE');
    const source = rig.source({ id: `gone-${bot.botId}`, kind: 'bot', botId: bot.botId });
    const deps = depsFor(source, owner, bot.botToken);
    const deadline = () => rig.time.now() + 600_000;

    const first = await pollSource(deps, source, { deadline: deadline(), mode: 'continuous' });

    expect(first).toMatchObject({ stoppedBecause: 'bot-removed', eventsPublished: before.length + 1 });
    const delivered = await drainQueues(rig);
    expect(delivered.map((m) => m.eventId)).toContain(deleteEvent.eventId);
    expect(rig.metrics.total(POLLER_METRICS.botDeleted)).toBe(1);
    expect(rig.logger.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringContaining(`bot ${bot.botId} of source "${source.id}" was removed`) as unknown }));
    const item = await rig.aws.dynamoDb.send(
      new GetItemCommand({ TableName: rig.pipeline.stateTableName, Key: { pk: { S: sourceStateKey(source.id) } }, ConsistentRead: true }),
    );
    expect(item.Item?.botRemovedBotId?.N).toBe(String(bot.botId));
    expect(item.Item?.botRemovedEventId?.N).toBe(String(deleteEvent.eventId));
    expect(item.Item?.leaseOwner).toBeUndefined();

    // Later runs: nothing is fetched, the removal is said and counted again (the alarm stays on).
    const getsBefore = rig.sim.calls.filter((c) => c.method === 'imbot.v2.Event.get').length;
    const second = await pollSource(deps, source, { deadline: deadline(), mode: 'continuous' });
    expect(second).toMatchObject({ stoppedBecause: 'bot-removed', pages: 0 });
    expect(rig.sim.calls.filter((c) => c.method === 'imbot.v2.Event.get').length).toBe(getsBefore);
    expect(rig.metrics.total(POLLER_METRICS.botDeleted)).toBe(2);

    // Registered again: a new bot id in the source configuration polls as before.
    const again = rig.sim.registerBot(owner.userId, { code: 'gone_bot_2' });
    const renewed = rig.source({ id: source.id, kind: 'bot', botId: again.botId });
    const third = await pollSource(depsFor(renewed, owner, again.botToken), renewed, { deadline: deadline(), mode: 'per-schedule' });
    expect(third.stoppedBecause).toBe('drained');
  });
});
