// Issue 11 §2: order across event types. With the default per-type routing a
// chat's add, edit and delete travel in three queues with three consumers, so
// an edit or a delete is handled before its add while the add is retried. The
// chat-ordered routing sends every type of a source through one FIFO queue
// (route "chat-events", a group per chat) with one consumer dispatching by
// type: add → edit → delete are handled in that order, under faults.
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoDbAttemptCounter } from '../../../functions/consumers/attempts.js';
import { type ConsumerHandlers, createConsumerHandler } from '../../../functions/consumers/consumer-handler.js';
import { createDynamoDbRunOnce } from '../../../functions/consumers/idempotency.js';
import { sqsRecordQueue } from '../../../functions/consumers/record-queue.js';
import { startSqsEventSource, type RunningSqsEventSource } from '../../../functions/local/lambda-sqs-event-source.js';
import { provisionLocalPipeline, type ProvisionedPipeline } from '../../../functions/local/provision.js';
import { parsePipelineConfig } from '../../../functions/shared/config.js';
import { CHAT_ORDERED_ROUTE, CATCH_ALL_ROUTE, type Routing, routeFor } from '../../../functions/shared/topology.js';
import { rigClients, uniqueName } from '../../setup/rig.js';
import { chatObject, envelopeOf, messageObject, rawEvent, userObject, capturingLogger } from '../../unit/consumers/factories.js';
import { depth, outgoing, send, waitFor } from './harness.js';

const { dynamoDb, sqs, s3 } = rigClients();
const running: RunningSqsEventSource[] = [];

afterAll(async () => {
  await Promise.all(running.map((source) => source.stop()));
  dynamoDb.destroy();
  sqs.destroy();
  s3.destroy();
});

/** add → edit → delete of message 9501 in chat 950, as Bitrix24 records them (consecutive event ids). */
function lifeOfOneMessage(sourceId: string) {
  const chat = chatObject({ id: 950, dialogId: 'chat950' });
  const user = userObject();
  return [
    rawEvent('ONIMV2MESSAGEADD', 9601, { message: messageObject({ id: 9501, chatId: 950, text: 'first' }), chat, user }),
    rawEvent('ONIMV2MESSAGEUPDATE', 9602, { message: messageObject({ id: 9501, chatId: 950, text: 'edited' }), chat, user }),
    rawEvent('ONIMV2MESSAGEDELETE', 9603, { messageId: 9501, chat, user }),
  ].map((event) => envelopeOf(event, sourceId));
}

interface Run {
  readonly handled: string[];
  readonly pipeline: ProvisionedPipeline;
}

/** Provisions a pipeline for `routing`, publishes the three events to their routes and runs a consumer per route. */
async function run(routing: Routing): Promise<Run> {
  const config = parsePipelineConfig({ prefix: uniqueName('co').slice(0, 20), routing, sources: [{ id: 'demo', kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook' }] });
  const pipeline = await provisionLocalPipeline({ prefix: config.prefix, routes: config.routes, dynamoDb, sqs, s3 });
  const sourceId = uniqueName('life');
  const handled: string[] = [];
  const failuresLeft = new Map([['ONIMV2MESSAGEADD', 2], ['ONIMV2MESSAGEUPDATE', 1]]);
  const handle = (type: string) => () => {
    const left = failuresLeft.get(type) ?? 0;
    if (left > 0) {
      failuresLeft.set(type, left - 1);
      return Promise.reject(new Error(`${type}: downstream busy`));
    }
    handled.push(type);
    return Promise.resolve();
  };
  const handlers: ConsumerHandlers = {
    ONIMV2MESSAGEADD: handle('ONIMV2MESSAGEADD'),
    ONIMV2MESSAGEUPDATE: handle('ONIMV2MESSAGEUPDATE'),
    ONIMV2MESSAGEDELETE: handle('ONIMV2MESSAGEDELETE'),
  };
  const events = lifeOfOneMessage(sourceId);
  for (const envelope of events) {
    const route = routeFor(config.routes, envelope.event.type);
    await send(sqs, pipeline.queueUrls[route] ?? '', [outgoing(envelope)]);
  }
  const routes = [...new Set(events.map((envelope) => routeFor(config.routes, envelope.event.type)))];
  for (const route of routes) {
    const queueUrl = pipeline.queueUrls[route] ?? '';
    const handler = createConsumerHandler({
      handlers,
      logger: capturingLogger().logger,
      route,
      runOnce: createDynamoDbRunOnce({ tableName: pipeline.idempotencyTableName, dynamoDb }),
      queue: sqsRecordQueue({ sqs, queueUrl, deadLetterQueueUrl: pipeline.deadLetterQueueUrls[route] ?? '' }),
      attempts: createDynamoDbAttemptCounter({ tableName: pipeline.idempotencyTableName, dynamoDb }),
      retryDelaySeconds: () => 1,
    });
    running.push(await startSqsEventSource({ sqs, queueUrl, handler, visibilityTimeoutSeconds: 1, waitTimeSeconds: 1, functionTimeoutMs: 10_000 }));
  }
  await waitFor('all three handled', () => handled.length === 3);
  for (const route of routes) await waitFor(`${route} empty`, async () => (await depth(sqs, pipeline.queueUrls[route] ?? '')) === 0);
  return { handled, pipeline };
}

describe.concurrent('order across types', () => {
  it('chat-ordered: one queue for every type, add → edit → delete handled in that order while add and edit fail first', async () => {
    const { handled, pipeline } = await run('chat-ordered');

    expect(Object.keys(pipeline.queueUrls).sort()).toEqual([CHAT_ORDERED_ROUTE, CATCH_ALL_ROUTE].sort());
    expect(handled).toEqual(['ONIMV2MESSAGEADD', 'ONIMV2MESSAGEUPDATE', 'ONIMV2MESSAGEDELETE']);
  });

  it('per-type (the default): the delete is handled before its add while the add is retried', async () => {
    const { handled } = await run('per-type');

    expect(handled.indexOf('ONIMV2MESSAGEDELETE')).toBeLessThan(handled.indexOf('ONIMV2MESSAGEADD'));
  });
});
