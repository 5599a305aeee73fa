// The agent example end to end over real HTTP: a user talks to it in the
// portal simulator (`POST /_sim/say`), its events are read with
// imbot.v2.Event.get, each runs through the consumer handler: "thinking"
// shown (imbot.v2.Chat.InputAction.notify), the stand-in model's Markdown
// answered as BB-code, history kept per dialog in DynamoDB Local, /help and /reset.
import type { Context, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBitrix24Client, type Bitrix24Client } from '../../../functions/bitrix24/index.js';
import { DynamoDbSeenMessages } from '../../../functions/bot/dynamodb-seen-messages.js';
import { agentBot, standInModel } from '../../../functions/consumers/examples/agent.js';
import { DynamoDbConversationHistory } from '../../../functions/consumers/examples/agent-history.js';
import { botTokenCaller } from '../../../functions/consumers/bot-token.js';
import { createConsumerHandler } from '../../../functions/consumers/consumer-handler.js';
import { createDynamoDbRunOnce } from '../../../functions/consumers/idempotency.js';
import { createDynamoDbOutboxStore } from '../../../functions/consumers/outbox.js';
import { voiceSourcesFromConfig } from '../../../functions/consumers/voice-sources.js';
import { provisionLocalPipeline, type ProvisionedPipeline } from '../../../functions/local/provision.js';
import type { InlineEnvelope } from '../../../functions/shared/envelope.js';
import type { RawBitrixEvent } from '../../../functions/shared/event-types.js';
import { IDEMPOTENCY_TABLE } from '../../../functions/shared/topology.js';
import { startPortalSimulator, type PortalSimulator } from '../../../functions/simulator/index.js';
import { rigClients, uniqueName } from '../../setup/rig.js';
import { capturingLogger } from '../../unit/consumers/factories.js';

const lambdaContext = { getRemainingTimeInMillis: () => 30_000, awsRequestId: 'agent-it' } as Context;
const aws = rigClients();
let sim: PortalSimulator;
let pipeline: ProvisionedPipeline;
const clients: Bitrix24Client[] = [];

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false });
  pipeline = await provisionLocalPipeline({ prefix: uniqueName('ag'), dynamoDb: aws.dynamoDb, sqs: aws.sqs, s3: aws.s3 });
});
afterAll(async () => {
  for (const client of clients) await client.close();
  await sim.stop();
});

async function simControl(action: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${sim.baseUrl}/_sim/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await response.json()) as { result?: unknown; error_description?: string };
  if (response.status !== 200) throw new Error(`/_sim/${action}: ${json.error_description ?? response.status}`);
  return json.result;
}

function agentSetup() {
  const owner = sim.addUser({ name: 'Owner Person' });
  const asker = sim.addUser({ name: 'Ann Asker' });
  const client = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl: sim.createWebhook(owner.id) } });
  clients.push(client);
  const bot = sim.registerBot(owner.id, { code: uniqueName('agent').replace(/-/g, '_') });
  sim.activity.stop();
  const registered = Promise.all(
    ['help', 'reset'].map((command) => client.call('imbot.v2.Command.register', { botId: bot.botId, botToken: bot.botToken, fields: { command, title: { en: command } } })),
  );
  const sourceId = `agent-${bot.botId}`;
  const { logger } = capturingLogger();
  const consumer = createConsumerHandler({
    handlers: agentBot({
      model: standInModel,
      history: new DynamoDbConversationHistory({ client: aws.dynamoDb, tableName: pipeline.idempotencyTableName, maxTurns: 4 }),
      router: { seen: new DynamoDbSeenMessages({ client: aws.dynamoDb, tableName: pipeline.idempotencyTableName, table: IDEMPOTENCY_TABLE }) },
    }),
    logger,
    runOnce: createDynamoDbRunOnce({ tableName: pipeline.idempotencyTableName, dynamoDb: aws.dynamoDb }),
    outbox: createDynamoDbOutboxStore({ tableName: pipeline.idempotencyTableName, dynamoDb: aws.dynamoDb }),
    clientFactory: () => botTokenCaller(client, { sourceId, auth: 'webhook', botToken: bot.botToken }),
    voiceSources: voiceSourcesFromConfig([{ id: sourceId, kind: 'bot', auth: 'webhook', botId: bot.botId }]),
  });
  let offset: number | undefined;
  const say = async (text: string): Promise<void> => {
    await simControl('say', { fromUserId: asker.id, dialogId: String(bot.botId), text });
    const { result } = await client.call<{ events: RawBitrixEvent[] }>('imbot.v2.Event.get', {
      botId: bot.botId,
      botToken: bot.botToken,
      ...(offset === undefined ? {} : { offset }),
      limit: 100,
    });
    const last = result.events.at(-1)?.eventId;
    if (last !== undefined) offset = last + 1;
    const records = result.events.map(
      (event) =>
        ({
          messageId: `m-${event.eventId}`,
          body: JSON.stringify({ schemaVersion: 1, sourceId, portal: sim.portalHost, receivedAt: new Date().toISOString(), event } satisfies InlineEnvelope),
          attributes: { ApproximateReceiveCount: '1', MessageGroupId: `${sourceId}:dialog` },
        }) as unknown as SQSRecord,
    );
    const response = await consumer({ Records: records }, lambdaContext);
    expect(response.batchItemFailures).toEqual([]);
  };
  const said = () =>
    sim.records.messages.filter((m) => m.botId === bot.botId).map((m) => m.text);
  return { bot, registered, say, said };
}

describe('agent example over HTTP against the simulator', () => {
  it('thinks, answers in BB-code from Markdown, remembers the dialog, forgets it on /reset, helps on /help', async () => {
    const agent = agentSetup();
    await agent.registered;

    await agent.say('What is an invoice?');
    await agent.say('And a refund?');
    await agent.say('/reset');
    await agent.say('Hello again');
    await agent.say('/help');

    const texts = agent.said();
    expect(texts).toHaveLength(5);
    expect(texts[0]).toContain('[b]You asked:[/b] What is an invoice?');
    expect(texts[0]).toContain('question 1 of this conversation');
    expect(texts[0]).not.toContain('**');
    expect(texts[1]).toContain('question 2 of this conversation');
    expect(texts[1]).toContain('[i]What is an invoice?[/i]');
    expect(texts[2]).toBe('Done: I forgot our conversation.');
    expect(texts[3]).toContain('question 1 of this conversation');
    expect(texts[4]).toContain('[b]I am an example agent.[/b]');
    const thinking = sim.records.typing.filter((t) => t.botId === agent.bot.botId);
    expect(thinking.length).toBeGreaterThanOrEqual(3);
    expect(thinking.every((t) => t.statusMessageCode === 'IMBOT_AGENT_ACTION_THINKING' && t.dialogId !== '')).toBe(true);
  });
});
