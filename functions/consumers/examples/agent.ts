// Example: an AI agent as a bot (issue 12 §4), on the bot router.
//   - shows "thinking" (ctx.typing(IMBOT_AGENT_ACTION_THINKING), kept alive)
//     while it calls a model behind a small port (AgentModel);
//   - the model writes Markdown, the agent answers in BB-code (reply format 'markdown');
//   - /help and /reset (register them: `commands` in the source config + `bot commands --sync`);
//   - per-dialog history in DynamoDB (agent-history.ts: ordered per chat, bounded, TTL);
//   - off unless configured: AGENT_MODEL=stand-in turns it on with the
//     deterministic stand-in model (no network, no key); without it every event
//     only gets the default summary line.
// Wire it to the bot routes (bot-message-add, bot-command-add) — or use
// "routing": "chat-ordered" — with `entry: 'functions/consumers/examples/agent.ts'`.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type BotRouterOptions, botRouter } from '../../bot/bot-router.js';
import { IMBOT_AGENT_ACTION_THINKING } from '../../bot/typing-keepalive.js';
import type { ConsumerHandlers, EventHandler } from '../consumer-handler.js';
import type { TypedEvent } from '../events.js';
import { lambdaConsumer } from '../lambda-consumer.js';
import { type ConversationHistory, DynamoDbConversationHistory, InMemoryConversationHistory, type Turn, dialogKey } from './agent-history.js';

/** The model behind the agent: the conversation so far and the new question → an answer in Markdown. */
export interface AgentModel {
  complete(input: { readonly history: readonly Turn[]; readonly question: string }): Promise<string>;
}

/**
 * A deterministic stand-in for a model, for local runs and tests: no network,
 * no key. It answers in Markdown (bold, a list, inline code) so the BB-code
 * conversion shows.
 */
export const standInModel: AgentModel = {
  complete: ({ history, question }) => {
    const asked = history.filter((t) => t.role === 'user').length + 1;
    const previous = [...history].reverse().find((t) => t.role === 'user')?.text;
    const lines = [`**You asked:** ${question}`, '', `- question ${asked} of this conversation`];
    if (previous !== undefined) lines.push(`- before that you asked: _${previous}_`);
    lines.push(`- words: \`${question.split(/\s+/).filter(Boolean).length}\``);
    return Promise.resolve(lines.join('\n'));
  },
};

export const AGENT_HELP = [
  '**I am an example agent.** Write to me and I answer; I remember this dialog.',
  '',
  '- `/help` shows this text',
  '- `/reset` makes me forget our conversation',
].join('\n');

export interface AgentOptions {
  readonly model: AgentModel;
  readonly history: ConversationHistory;
  /** Router options passed through (filters, seen, …). @default mention filter in group chats */
  readonly router?: Omit<BotRouterOptions, 'commands' | 'onMessage'>;
}

/** Mentions (`[USER=5]Bot[/USER]`) are addressing, not content: the model gets the question without them. */
export function questionOf(text: string): string {
  return text.replace(/\[USER=\d+\][\s\S]*?\[\/USER\][\s,:]*/gi, '').trim();
}

/** The agent's ConsumerHandlers. */
export function agentBot(options: AgentOptions): ConsumerHandlers {
  const { model, history } = options;
  return botRouter({
    filters: { mentionInGroups: true },
    ...options.router,
    commands: {
      '/help': async (_event, ctx) => {
        await ctx.reply(AGENT_HELP, { format: 'markdown' });
      },
      '/reset': async (event, ctx) => {
        await history.reset(dialogKey(ctx.sourceId, event.data.bot.id, event.data.chat.dialogId));
        await ctx.reply('Done: I forgot our conversation.');
      },
    },
    onMessage: async (event, ctx) => {
      const question = questionOf(event.data.message.text);
      if (question === '') return; // a file or a bare mention: nothing to answer
      const key = dialogKey(ctx.sourceId, event.data.bot.id, event.data.chat.dialogId);
      ctx.typing(IMBOT_AGENT_ACTION_THINKING); // kept alive until the reply (or the handler returns)
      const turns = await history.load(key);
      const answer = await model.complete({ history: turns, question });
      // Through the outbox: a re-run of this event replays the answer it sent instead of posting again.
      await ctx.reply(answer, { format: 'markdown' });
      await history.append(key, [
        { role: 'user', text: question },
        { role: 'assistant', text: answer },
      ]);
    },
  });
}

/** Off unless AGENT_MODEL says which model; read on the first event, not at import. */
export function agentFromEnv(env: NodeJS.ProcessEnv = process.env): ConsumerHandlers | undefined {
  if (env.AGENT_MODEL !== 'stand-in') return undefined;
  const tableName = env.IDEMPOTENCY_TABLE_NAME?.trim();
  const history = tableName === undefined || tableName === '' ? new InMemoryConversationHistory() : new DynamoDbConversationHistory({ client: new DynamoDBClient({}), tableName });
  return agentBot({ model: standInModel, history });
}

type AgentEventType = 'ONIMBOTV2COMMANDADD' | 'ONIMBOTV2MESSAGEADD' | 'ONIMBOTV2DELETE';

/** Every bot event type the agent handles, each resolving the agent (or nothing) on first use. */
function lazyAgent(): ConsumerHandlers {
  let built: ConsumerHandlers | undefined | null = null;
  const agent = (): ConsumerHandlers | undefined => (built === null ? (built = agentFromEnv()) : built);
  const forward =
    <T extends AgentEventType>(type: T): EventHandler<TypedEvent<T>> =>
    async (event, ctx) => {
      const handler = agent()?.[type] as EventHandler<TypedEvent<T>> | undefined;
      if (handler === undefined) {
        ctx.logger.info('agent example is off (set AGENT_MODEL=stand-in to turn it on)');
        return;
      }
      await handler(event, ctx);
    };
  return { ONIMBOTV2COMMANDADD: forward('ONIMBOTV2COMMANDADD'), ONIMBOTV2MESSAGEADD: forward('ONIMBOTV2MESSAGEADD'), ONIMBOTV2DELETE: forward('ONIMBOTV2DELETE') };
}

export const handler = lambdaConsumer(lazyAgent());
