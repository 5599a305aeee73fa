// The bot router end to end over real HTTP: a user writes to the bot in the
// portal simulator (`POST /_sim/say`), the bot's events are read with
// imbot.v2.Event.get through the real client, each runs through the consumer
// handler (real ctx.reply → imbot.v2.Chat.Message.send / Command.answer), and
// the seen marks and outbox live in the idempotency table on DynamoDB Local.
// Both orders of a command's two events (chat-ordered: message first;
// per-type: either) give one answer and no onMessage for the command.
import type { Context, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBitrix24Client, type Bitrix24Client } from '../../../functions/bitrix24/index.js';
import { botRouter } from '../../../functions/bot/bot-router.js';
import { DynamoDbSeenMessages } from '../../../functions/bot/dynamodb-seen-messages.js';
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

const lambdaContext = { getRemainingTimeInMillis: () => 30_000, awsRequestId: 'router-it' } as Context;
const aws = rigClients();
let sim: PortalSimulator;
let pipeline: ProvisionedPipeline;
const clients: Bitrix24Client[] = [];

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false });
  pipeline = await provisionLocalPipeline({ prefix: uniqueName('rt'), dynamoDb: aws.dynamoDb, sqs: aws.sqs, s3: aws.s3 });
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

/** A bot source on a fresh portal user: its webhook client, bot and a consumer handler over the router. */
function botSetup(type: 'bot' | 'supervisor' = 'bot') {
  const owner = sim.addUser({ name: 'Owner Person' });
  const asker = sim.addUser({ name: 'Ann Asker' });
  const client = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl: sim.createWebhook(owner.id) } });
  clients.push(client);
  const code = uniqueName('helper').replace(/-/g, '_');
  const bot = sim.registerBot(owner.id, { code, type });
  sim.activity.stop();
  const command = client.call('imbot.v2.Command.register', { botId: bot.botId, botToken: bot.botToken, fields: { command: 'help', title: { en: 'Help' } } });
  const sourceId = `router-${bot.botId}`;
  const ran: string[] = [];
  const { logger, lines } = capturingLogger();
  const handlers = botRouter({
    commands: {
      '/help': async (_event, ctx, parsed) => {
        ran.push(`help:${parsed.args.join('|')}`);
        await ctx.reply(`Help on ${parsed.args.join(' and ') || 'everything'}`);
      },
    },
    onMessage: async (event, ctx) => {
      ran.push(`message:${event.data.message.text}`);
      await ctx.reply(`You said: ${event.data.message.text}`);
    },
    seen: new DynamoDbSeenMessages({ client: aws.dynamoDb, tableName: pipeline.idempotencyTableName, table: IDEMPOTENCY_TABLE }),
  });
  const consumer = createConsumerHandler({
    handlers,
    logger,
    runOnce: createDynamoDbRunOnce({ tableName: pipeline.idempotencyTableName, dynamoDb: aws.dynamoDb }),
    outbox: createDynamoDbOutboxStore({ tableName: pipeline.idempotencyTableName, dynamoDb: aws.dynamoDb }),
    clientFactory: () => botTokenCaller(client, { sourceId, auth: 'webhook', botToken: bot.botToken }),
    voiceSources: voiceSourcesFromConfig([{ id: sourceId, kind: 'bot', auth: 'webhook', botId: bot.botId }]),
  });
  let offset: number | undefined;
  /** imbot.v2.Event.get over HTTP, then confirm: the bot's new events, in event-id order. */
  const readEvents = async (): Promise<RawBitrixEvent[]> => {
    const { result } = await client.call<{ events: RawBitrixEvent[]; nextOffset?: number; lastEventId?: number }>('imbot.v2.Event.get', {
      botId: bot.botId,
      botToken: bot.botToken,
      ...(offset === undefined ? {} : { offset }),
      limit: 100,
    });
    const last = result.events.at(-1)?.eventId;
    if (last !== undefined) offset = last + 1;
    return result.events;
  };
  const handle = async (events: readonly RawBitrixEvent[]): Promise<void> => {
    const records = events.map(
      (event) =>
        ({
          messageId: `m-${event.eventId}`,
          body: JSON.stringify({ schemaVersion: 1, sourceId, portal: sim.portalHost, receivedAt: new Date().toISOString(), event } satisfies InlineEnvelope),
          attributes: { ApproximateReceiveCount: '1', MessageGroupId: `${sourceId}:chat` },
        }) as unknown as SQSRecord,
    );
    const response = await consumer({ Records: records }, lambdaContext);
    expect(response.batchItemFailures).toEqual([]);
  };
  return { owner, asker, bot, command, ran, lines, readEvents, handle };
}

const botMessages = (botId: number) => sim.records.messages.filter((m) => m.botId === botId && m.method === 'imbot.v2.Chat.Message.send').map((m) => m.text);
const answers = (botId: number) => sim.records.commandAnswers.filter((a) => a.botId === botId).map((a) => a.text);

describe('bot router over HTTP against the simulator', () => {
  it('a message in the 1:1 dialog is answered as the bot; a command in it is answered once, message first (chat-ordered)', async () => {
    const s = botSetup();
    await s.command;
    await simControl('say', { fromUserId: s.asker.id, dialogId: String(s.bot.botId), text: 'hello bot' });
    await simControl('say', { fromUserId: s.asker.id, dialogId: String(s.bot.botId), text: '/help "billing plans" refunds' });

    const events = await s.readEvents();
    expect(events.map((e) => e.type)).toEqual(['ONIMBOTV2MESSAGEADD', 'ONIMBOTV2MESSAGEADD', 'ONIMBOTV2COMMANDADD']);
    await s.handle(events);

    expect(s.ran).toEqual(['message:hello bot', 'help:billing plans|refunds']);
    expect(botMessages(s.bot.botId)).toEqual(['You said: hello bot']);
    expect(answers(s.bot.botId)).toEqual(['Help on billing plans and refunds']);
  });

  it('command first (per-type routing can deliver it so): the seen mark in DynamoDB keeps onMessage off', async () => {
    const s = botSetup();
    await s.command;
    await simControl('say', { fromUserId: s.asker.id, dialogId: String(s.bot.botId), text: '/help' });
    const events = await s.readEvents();
    const command = events.filter((e) => e.type === 'ONIMBOTV2COMMANDADD');
    const message = events.filter((e) => e.type === 'ONIMBOTV2MESSAGEADD');

    await s.handle(command);
    await s.handle(message);
    await s.handle([...command, ...message]); // redelivered: run once per event

    expect(s.ran).toEqual(['help:']);
    expect(answers(s.bot.botId)).toEqual(['Help on everything']);
    expect(botMessages(s.bot.botId)).toEqual([]);
  });

  it('the loop guard: the bot never answers another bot, and its own answers produce no events for it', async () => {
    const s = botSetup('supervisor');
    await s.command;
    const chat = (await simControl('createChat', { ownerId: s.asker.id, memberIds: [s.bot.botId] })) as { chatId: number };
    const other = sim.registerBot(s.owner.id, { code: uniqueName('other').replace(/-/g, '_') });
    await simControl('addToChat', { chatId: chat.chatId, memberId: other.botId, byUserId: s.asker.id });
    await s.handle(await s.readEvents()); // ONIMBOTV2JOINCHAT for the first bot, not handled by this router

    // Another bot speaks in the chat (as the simulator lets bots post: imbot.v2.Chat.Message.send).
    const speaker = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl: sim.createWebhook(s.owner.id) } });
    clients.push(speaker);
    await speaker.call('imbot.v2.Chat.Message.send', { botId: other.botId, botToken: other.botToken, dialogId: `chat${chat.chatId}`, fields: { message: 'beep from a bot' } });
    await simControl('say', { fromUserId: s.asker.id, chatId: chat.chatId, text: 'a person speaks' });
    await s.handle(await s.readEvents());
    await s.handle(await s.readEvents()); // the bot's own answer: no event comes back to it

    expect(s.ran).toEqual(['message:a person speaks']);
    expect(botMessages(s.bot.botId)).toEqual(['You said: a person speaks']);
    expect(s.lines.some((l) => l.message.includes('author is a bot'))).toBe(true);
  });
});
