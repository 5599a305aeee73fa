// ctx.reply / typing / read / react / edit over real HTTP to the portal
// simulator, through the consumer handler with the Lambda's own client factory
// (bitrix24ClientFactory: the source secret, OAuth tokens in DynamoDB Local),
// the DynamoDB outbox and run-once records (issue 12 §1). Events are the ones
// the simulator records for the bot or user, so their dialogIds are real.
// Doc pages: api-reference/chat-bots/chat-bots-v2/imbot.v2/messages/chat-message-send.md,
// commands/command-answer.md, ui/chat-input-action-notify.md, messages/chat-message-read.md,
// chat-message-reaction-add.md, chat-message-update.md; api-reference/chats/messages/im-message-add.md.
import type { Context, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bitrix24ClientFactory } from '../../../functions/consumers/bitrix24-from-env.js';
import type { SecretReader } from '../../../functions/bitrix24/index.js';
import { ReplyTargetError } from '../../../functions/bot/errors.js';
import { IMBOT_AGENT_ACTION_THINKING } from '../../../functions/bot/typing-keepalive.js';
import type { SentMessage } from '../../../functions/bot/voice.js';
import { type ConsumerHandlers, createConsumerHandler } from '../../../functions/consumers/consumer-handler.js';
import type { ConsumerSource } from '../../../functions/consumers/consumer-env.js';
import type { ClientFactory } from '../../../functions/consumers/source-clients.js';
import { createDynamoDbRunOnce } from '../../../functions/consumers/idempotency.js';
import { createDynamoDbOutboxStore } from '../../../functions/consumers/outbox.js';
import { voiceSourcesFromConfig } from '../../../functions/consumers/voice-sources.js';
import { provisionLocalPipeline, type ProvisionedPipeline } from '../../../functions/local/provision.js';
import { messageGroupId } from '../../../functions/shared/envelope.js';
import type { RawBitrixEvent } from '../../../functions/shared/event-types.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { rigClients, uniqueName } from '../../setup/rig.js';
import { capturingLogger } from '../../unit/consumers/factories.js';
import { ManualClock } from '../../unit/bot/manual-clock.js';
import { waitFor } from '../delivery/harness.js';

const { dynamoDb, sqs, s3 } = rigClients();
const PREFIX = uniqueName('voice');
let sim: PortalSimulator;
let pipeline: ProvisionedPipeline;
let ann: number;
let boris: number;
let webhookBot: { botId: number; botToken: string };
let oauthBot: { botId: number; botToken: string };
const secrets = new Map<string, string>();
const lambdaContext = { getRemainingTimeInMillis: () => 30_000, awsRequestId: 'voice' } as Context;

const secretReader: SecretReader = {
  read: (name) => {
    const value = secrets.get(name);
    return value === undefined ? Promise.reject(new Error(`no secret ${name}`)) : Promise.resolve(value);
  },
  invalidate: () => undefined,
};

let sources: ConsumerSource[];

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false });
  pipeline = await provisionLocalPipeline({ prefix: PREFIX, dynamoDb, sqs, s3 });
  ann = sim.addUser({ name: 'Ann Lee' }).id;
  boris = sim.addUser({ name: 'Boris Petrov' }).id;
  sim.subscribe(ann);
  const app = sim.registerApp();
  webhookBot = sim.registerBot(ann, { code: 'helper', name: 'Helper' });
  oauthBot = sim.registerBot(ann, { code: 'appbot', name: 'App bot', clientId: app.clientId });
  const grant = sim.authorizeApp(app.clientId, ann);
  sources = [
    { id: 'hook-bot', kind: 'bot', portal: sim.portalHost, auth: 'webhook', botId: webhookBot.botId },
    { id: 'app-bot', kind: 'bot', portal: sim.portalHost, auth: 'oauth', botId: oauthBot.botId },
    { id: 'ann', kind: 'user', portal: sim.portalHost, auth: 'webhook' },
  ];
  const webhookUrl = sim.createWebhook(ann);
  secrets.set(`${PREFIX}/sources/hook-bot`, JSON.stringify({ webhookUrl, botToken: webhookBot.botToken }));
  secrets.set(`${PREFIX}/sources/ann`, JSON.stringify({ webhookUrl }));
  secrets.set(
    `${PREFIX}/sources/app-bot`,
    JSON.stringify({ clientId: app.clientId, clientSecret: app.clientSecret, refreshToken: grant.refreshToken, clientEndpoint: grant.clientEndpoint, oauthTokenUrl: sim.oauthTokenUrl }),
  );
});

beforeEach(() => {
  sim.faults.clear();
});

afterAll(async () => {
  await sim.stop();
  dynamoDb.destroy();
  sqs.destroy();
  s3.destroy();
});

function recordOf(sourceId: string, event: RawBitrixEvent): SQSRecord {
  const envelope = { schemaVersion: 1, sourceId, portal: sim.portalHost, receivedAt: new Date().toISOString(), event };
  return {
    messageId: `m-${sourceId}-${event.eventId}`,
    receiptHandle: 'r',
    body: JSON.stringify(envelope),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1', SenderId: 'x', ApproximateFirstReceiveTimestamp: '1', MessageGroupId: messageGroupId(sourceId, event) },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q.fifo',
    awsRegion: 'us-east-1',
  };
}

/** Calls whose answer reached the client, by method. The simulator records a call when the request arrives; a
 * keep-alive timer fired before the client has the answer sees the notify still in flight and skips a round. */
const answeredCalls = new Map<string, number>();
const answered = (method: string) => answeredCalls.get(method) ?? 0;
function countingAnswers(factory: ClientFactory): ClientFactory {
  return async (sourceId) => {
    const client = await factory(sourceId);
    return {
      portal: client.portal,
      call: async (method, params, options) => {
        try {
          return await client.call(method, params, options);
        } finally {
          answeredCalls.set(method, answered(method) + 1);
        }
      },
    };
  };
}

/** The consumer as Lambda wires it: the production client factory, DynamoDB run-once and outbox, voice sources from SOURCES. */
function consumer(handlers: ConsumerHandlers, typingClock?: ManualClock) {
  const { logger, lines } = capturingLogger();
  const handler = createConsumerHandler({
    handlers,
    logger,
    runOnce: createDynamoDbRunOnce({ tableName: pipeline.idempotencyTableName, dynamoDb }),
    outbox: createDynamoDbOutboxStore({ tableName: pipeline.idempotencyTableName, dynamoDb }),
    clientFactory: countingAnswers(bitrix24ClientFactory({ sources, prefix: PREFIX, stateTableName: pipeline.stateTableName, dynamoDb: () => dynamoDb, secrets: secretReader })),
    voiceSources: voiceSourcesFromConfig(sources),
    ...(typingClock === undefined ? {} : { typing: { clock: typingClock, durationSeconds: 30 } }),
  });
  return { run: (sourceId: string, event: RawBitrixEvent) => handler({ Records: [recordOf(sourceId, event)] }, lambdaContext), lines };
}

/** Boris writes to a bot in their 1:1 dialog; the bot's recorded event. */
function borisWritesTo(botId: number, text: string): RawBitrixEvent {
  const said = sim.say({ fromUserId: boris, dialogId: String(botId), text });
  const event = sim.pendingEvents({ botId }).find((e) => (e.data as { message?: { id?: number } }).message?.id === said.messageId);
  if (event === undefined) throw new Error('the bot got no event');
  return event;
}

const callsOf = (method: string) => sim.calls.filter((call) => call.method === method);
const messagesIn = (botId: number, dialogId: string) => sim.sentMessages.filter((m) => m.botId === botId && m.dialogId === dialogId);

describe('ctx.reply as the bot', () => {
  it('webhook source: imbot.v2.Chat.Message.send with botId and botToken, to the event\'s dialogId (the counterpart in a 1:1)', async () => {
    const event = borisWritesTo(webhookBot.botId, 'hello bot');
    let sent: readonly SentMessage[] = [];
    const { run } = consumer({ ONIMBOTV2MESSAGEADD: async (_e, ctx) => void (sent = await ctx.reply('hello Boris')) });
    const before = callsOf('imbot.v2.Chat.Message.send').length;

    const response = await run('hook-bot', event);

    expect(response.batchItemFailures).toEqual([]);
    const calls = callsOf('imbot.v2.Chat.Message.send').slice(before);
    expect(calls).toMatchObject([{ auth: 'webhook', botId: webhookBot.botId, botTokenSent: true, status: 200 }]);
    expect((event.data as { chat: { dialogId: string } }).chat.dialogId).toBe(String(boris));
    const posted = messagesIn(webhookBot.botId, String(boris));
    expect(posted.map((m) => m.text)).toEqual(['hello Boris']);
    expect(sent).toEqual([{ messageId: posted[0]?.id }]);
  });

  it('OAuth source: the same method and botId, no botToken', async () => {
    const event = borisWritesTo(oauthBot.botId, 'hello app bot');
    const { run } = consumer({ ONIMBOTV2MESSAGEADD: async (_e, ctx) => void (await ctx.reply('hi from the app')) });
    const before = callsOf('imbot.v2.Chat.Message.send').length;

    const response = await run('app-bot', event);

    expect(response.batchItemFailures).toEqual([]);
    const calls = callsOf('imbot.v2.Chat.Message.send').slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ auth: 'oauth', botId: oauthBot.botId, status: 200 });
    expect(calls[0]?.botTokenSent).toBeUndefined();
    expect(messagesIn(oauthBot.botId, String(boris)).map((m) => m.text)).toEqual(['hi from the app']);
  });

  it('a command: imbot.v2.Command.answer with commandId, messageId and dialogId (not Chat.Message.send)', async () => {
    const hook = sim.createWebhook(ann);
    const registered = await fetch(`${hook}imbot.v2.Command.register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ botId: webhookBot.botId, botToken: webhookBot.botToken, fields: { command: 'help', title: { en: 'Help' } } }),
    });
    const commandId = ((await registered.json()) as { result: { command: { id: number } } }).result.command.id;
    const said = sim.say({ fromUserId: boris, dialogId: String(webhookBot.botId), text: '/help me' });
    const event = sim.pendingEvents({ botId: webhookBot.botId }).find((e) => e.type === 'ONIMBOTV2COMMANDADD');
    if (event === undefined) throw new Error('no command event');
    const { run } = consumer({ ONIMBOTV2COMMANDADD: async (_e, ctx) => void (await ctx.reply('Commands: /help')) });
    const sends = callsOf('imbot.v2.Chat.Message.send').length;

    await run('hook-bot', event);

    expect(sim.records.commandAnswers).toMatchObject([{ botId: webhookBot.botId, commandId, messageId: said.messageId, dialogId: String(boris), text: 'Commands: /help' }]);
    expect(callsOf('imbot.v2.Command.answer').at(-1)).toMatchObject({ botTokenSent: true, status: 200 });
    expect(callsOf('imbot.v2.Chat.Message.send')).toHaveLength(sends);
  });

  it('a user source answers with im.message.add as that user', async () => {
    const { chatId, dialogId } = sim.createChat({ ownerId: ann, memberIds: [boris] });
    sim.say({ fromUserId: boris, chatId, text: 'Ann, a question' });
    const event = sim.pendingEvents({ userId: ann }).filter((e) => e.type === 'ONIMV2MESSAGEADD').at(-1);
    if (event === undefined) throw new Error('no user event');
    const { run } = consumer({ ONIMV2MESSAGEADD: async (_e, ctx) => void (await ctx.reply('Ann here')) });

    await run('ann', event);

    expect(sim.sentMessages.filter((m) => m.dialogId === dialogId && m.method === 'im.message.add')).toMatchObject([{ userId: ann, text: 'Ann here' }]);
  });
});

describe('long texts and Markdown', () => {
  it('a 45,000-character reply is sent as three messages, in order, nothing lost', async () => {
    const paragraphs = Array.from({ length: 9 }, (_, i) => `${String(i).repeat(4_990)}`);
    const text = paragraphs.join('\n\n');
    const event = borisWritesTo(webhookBot.botId, 'tell me everything');
    let sent: readonly SentMessage[] = [];
    const { run } = consumer({ ONIMBOTV2MESSAGEADD: async (_e, ctx) => void (sent = await ctx.reply(text)) });
    const before = messagesIn(webhookBot.botId, String(boris)).length;

    await run('hook-bot', event);

    const posted = messagesIn(webhookBot.botId, String(boris)).slice(before);
    expect(posted).toHaveLength(3);
    expect(posted.every((m) => m.text.length <= 20_000)).toBe(true);
    expect(posted.map((m) => m.text).join('\n\n')).toBe(text);
    expect(sent.map((m) => m.messageId)).toEqual(posted.map((m) => m.id));
  });

  it("{ format: 'markdown' } sends BB-codes", async () => {
    const event = borisWritesTo(webhookBot.botId, 'format please');
    const { run } = consumer({ ONIMBOTV2MESSAGEADD: async (_e, ctx) => void (await ctx.reply('**Total**: `42`, see [docs](https://example.com)', { format: 'markdown' })) });

    await run('hook-bot', event);

    expect(messagesIn(webhookBot.botId, String(boris)).at(-1)?.text).toBe('[b]Total[/b]: [code]42[/code], see [url=https://example.com]docs[/url]');
  });
});

describe('typing, read, react, edit', () => {
  it('typing is re-sent before its duration runs out while the handler works, and stops with the reply', async () => {
    const clock = new ManualClock();
    const event = borisWritesTo(webhookBot.botId, 'think hard');
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { run } = consumer(
      {
        ONIMBOTV2MESSAGEADD: async (_e, ctx) => {
          ctx.typing(IMBOT_AGENT_ACTION_THINKING);
          await gate;
          await ctx.reply('thought it through');
        },
      },
      clock,
    );
    const typing = () => sim.records.typing.filter((t) => t.botId === webhookBot.botId && t.dialogId === String(boris));
    const before = typing().length;
    const notifiesAnswered = () => answered('imbot.v2.Chat.InputAction.notify');
    const answeredBefore = notifiesAnswered();

    const running = run('hook-bot', event);
    await waitFor('the first notify answered', () => notifiesAnswered() === answeredBefore + 1);
    expect(typing()).toHaveLength(before + 1);
    await clock.advance(24_000);
    expect(typing()).toHaveLength(before + 1); // 30 s indicator, re-sent 5 s before it runs out
    await clock.advance(1_000);
    await waitFor('the second notify answered', () => notifiesAnswered() === answeredBefore + 2);
    expect(typing()).toHaveLength(before + 2);
    await clock.advance(25_000);
    await waitFor('the third notify answered', () => notifiesAnswered() === answeredBefore + 3);
    release();
    await running;
    await clock.advance(600_000);

    expect(typing().slice(before)).toMatchObject([
      { statusMessageCode: 'IMBOT_AGENT_ACTION_THINKING', duration: 30 },
      { statusMessageCode: 'IMBOT_AGENT_ACTION_THINKING', duration: 30 },
      { statusMessageCode: 'IMBOT_AGENT_ACTION_THINKING', duration: 30 },
    ]);
    expect(clock.pending).toBe(0);
    const order = sim.calls.filter((c) => c.method === 'imbot.v2.Chat.InputAction.notify' || c.method === 'imbot.v2.Chat.Message.send').map((c) => c.method);
    expect(order.at(-1)).toBe('imbot.v2.Chat.Message.send');
  });

  it('read marks the dialog up to the event\'s message, react sets a reaction, edit changes the bot\'s own message', async () => {
    const event = borisWritesTo(webhookBot.botId, 'react to me');
    const messageId = (event.data as { message: { id: number } }).message.id;
    const { run } = consumer({
      ONIMBOTV2MESSAGEADD: async (_e, ctx) => {
        await ctx.read();
        await ctx.react('like');
        const [first] = await ctx.reply('draft');
        if (first?.messageId !== undefined) await ctx.edit(first.messageId, 'final');
      },
    });

    const response = await run('hook-bot', event);

    expect(response.batchItemFailures).toEqual([]);
    expect(sim.records.reads.at(-1)).toMatchObject({ botId: webhookBot.botId, dialogId: String(boris), messageId });
    expect(sim.records.reactions.at(-1)).toMatchObject({ botId: webhookBot.botId, messageId, reaction: 'like' });
    const reply = messagesIn(webhookBot.botId, String(boris)).at(-1);
    expect(sim.records.edits.at(-1)).toMatchObject({ botId: webhookBot.botId, messageId: reply?.id, text: 'final' });
  });

  it('ONIMBOTV2DELETE names no dialog: ctx.reply throws ReplyTargetError and nothing is sent', async () => {
    const { run, lines } = consumer({ '*': async (_e, ctx) => void (await ctx.reply('bye')) });
    const sends = callsOf('imbot.v2.Chat.Message.send').length;
    const response = await run('hook-bot', { eventId: 990_001, type: 'ONIMBOTV2DELETE', date: new Date().toISOString(), data: { bot: { id: webhookBot.botId } } });
    expect(response.batchItemFailures).toHaveLength(1);
    expect(lines.some((line) => line.message.includes(ReplyTargetError.name))).toBe(true);
    expect(callsOf('imbot.v2.Chat.Message.send')).toHaveLength(sends);
  });
});

describe('exactly once', () => {
  it('a connection reset after the portal accepted the send: one message, never re-sent on redelivery', async () => {
    const event = borisWritesTo(webhookBot.botId, 'answer once');
    let runs = 0;
    const { run, lines } = consumer({
      ONIMBOTV2MESSAGEADD: async (_e, ctx) => {
        runs += 1;
        await ctx.reply('exactly once');
      },
    });
    sim.faults.inject({ method: 'imbot.v2.Chat.Message.send', kind: 'reset' });

    const first = await run('hook-bot', event);
    const again = await run('hook-bot', event); // SQS delivers it again

    expect(first.batchItemFailures).toHaveLength(1);
    expect(again.batchItemFailures).toHaveLength(1);
    expect(runs).toBe(2);
    expect(messagesIn(webhookBot.botId, String(boris)).filter((m) => m.text === 'exactly once')).toHaveLength(1);
    expect(callsOf('imbot.v2.Chat.Message.send').filter((c) => c.fault === 'reset')).toHaveLength(1);
    expect(lines.filter((line) => line.message.includes('WriteOutcomeUnknownError'))).toHaveLength(2);
    // Nothing secret in what the consumer logged.
    expect(JSON.stringify(lines)).not.toContain(webhookBot.botToken);
  });

  it('a handler that crashes after replying (three parts) is re-run: the parts are not posted again', async () => {
    const text = Array.from({ length: 9 }, (_, i) => `${String(i).repeat(4_990)}`).join('\n\n');
    const event = borisWritesTo(webhookBot.botId, 'long answer, then crash');
    const replays: boolean[] = [];
    let runs = 0;
    const { run } = consumer({
      ONIMBOTV2MESSAGEADD: async (_e, ctx) => {
        runs += 1;
        const sent = await ctx.reply(text);
        replays.push(sent.length === 3);
        if (runs === 1) throw new Error('crashed after replying');
      },
    });
    const before = messagesIn(webhookBot.botId, String(boris)).length;

    const first = await run('hook-bot', event);
    const second = await run('hook-bot', event);
    const third = await run('hook-bot', event); // handled: the run-once record skips it

    expect([first.batchItemFailures.length, second.batchItemFailures.length, third.batchItemFailures.length]).toEqual([1, 0, 0]);
    expect(runs).toBe(2);
    expect(messagesIn(webhookBot.botId, String(boris)).slice(before)).toHaveLength(3);
    expect(replays).toEqual([true, true]);
  });
});

describe('the bot token follows the source secret', () => {
  it('after Bot.update rotated the token: BOT_OWNERSHIP_ERROR, the secret re-read, the send repeated with the new token, one message', async () => {
    const hook = sim.createWebhook(ann);
    const rotating = sim.registerBot(ann, { code: 'rotating', name: 'Rotating', botToken: 'old-token-0123456789' });
    const source: ConsumerSource = { id: 'rotating-bot', kind: 'bot', portal: sim.portalHost, auth: 'webhook', botId: rotating.botId };
    const name = `${PREFIX}/sources/rotating-bot`;
    let stored = JSON.stringify({ webhookUrl: hook, botToken: 'old-token-0123456789' });
    // A reader with a cache, as in Lambda: the old value until the client invalidates it.
    let cached: string | undefined;
    const reader: SecretReader = {
      read: (secretName) => Promise.resolve(secretName === name ? (cached ??= stored) : ''),
      invalidate: () => {
        cached = undefined;
      },
    };
    const event = borisWritesTo(rotating.botId, 'still there?');
    const { logger } = capturingLogger();
    const handler = createConsumerHandler({
      handlers: { ONIMBOTV2MESSAGEADD: async (_e, ctx) => void (await ctx.reply('yes, with a new token')) },
      logger,
      runOnce: createDynamoDbRunOnce({ tableName: pipeline.idempotencyTableName, dynamoDb }),
      outbox: createDynamoDbOutboxStore({ tableName: pipeline.idempotencyTableName, dynamoDb }),
      clientFactory: bitrix24ClientFactory({ sources: [source], prefix: PREFIX, stateTableName: pipeline.stateTableName, dynamoDb: () => dynamoDb, secrets: reader }),
      voiceSources: voiceSourcesFromConfig([source]),
    });
    await reader.read(name); // warm: the old token is cached
    const rotated = await fetch(`${hook}imbot.v2.Bot.update`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ botId: rotating.botId, botToken: 'old-token-0123456789', fields: { botToken: 'new-token-9876543210' } }),
    });
    expect(rotated.status).toBe(200);
    stored = JSON.stringify({ webhookUrl: hook, botToken: 'new-token-9876543210' });
    const before = callsOf('imbot.v2.Chat.Message.send').length;

    const response = await handler({ Records: [recordOf('rotating-bot', event)] }, lambdaContext);

    expect(response.batchItemFailures).toEqual([]);
    expect(callsOf('imbot.v2.Chat.Message.send').slice(before).map((c) => c.errorCode ?? c.status)).toEqual(['BOT_OWNERSHIP_ERROR', 200]);
    expect(messagesIn(rotating.botId, String(boris)).map((m) => m.text)).toEqual(['yes, with a new token']);
  });
});
