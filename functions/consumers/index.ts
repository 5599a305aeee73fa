// The public consumer API (`b24-event-pipeline/consumer`): one way to write a
// consumer — a module exporting `handler = lambdaConsumer({ ONIMV2MESSAGEADD:
// async (event, ctx) => …, '*': … })` — plus the types of what the handlers
// get (typed events, `ctx`) and the errors a handler may throw or see.
// Everything else in this folder (the handler factory, the idempotency store,
// the envelope reader, the ports the local runtime injects) is internal.
// docs/consumers.md documents this surface.
export { lambdaConsumer, type LambdaConsumer, type LambdaConsumerOptions } from './lambda-consumer.js';
export type { ConsumerContext, ConsumerHandlers, EventHandler } from './consumer-handler.js';
export type { Bitrix24Caller, CallOptions, ClientFactory } from './source-clients.js';
export type { ConsumerLogger, ConsumerMetrics, LogAttributes } from './observability.js';
export type { RunOnce } from './idempotency.js';
export * from './events.js';
export * from './errors.js';
export type { InlineEnvelope } from '../shared/envelope.js';
export type { KnownEventType, RawBitrixEvent } from '../shared/event-types.js';
// The bot's voice on ctx (ctx.reply / typing / read / react / edit): docs/bots.md "Answer from ctx".
export type { BotVoice, ReplyFields, ReplyOptions, SentMessage, VoiceSource } from '../bot/voice.js';
export { markdownToBbCode } from '../bot/markdown-to-bbcode.js';
export { BotFrameworkError, ReplyTargetError, VoiceSourceError, VoiceUnsupportedError } from '../bot/errors.js';
// TYPING_STATUS_CODES, IMBOT_AGENT_ACTION_THINKING … COMPOSING, TypingHandle: ctx.typing(code).
export {
  TYPING_STATUS_CODES,
  IMBOT_AGENT_ACTION_THINKING,
  IMBOT_AGENT_ACTION_SEARCHING,
  IMBOT_AGENT_ACTION_GENERATING,
  IMBOT_AGENT_ACTION_ANALYZING,
  IMBOT_AGENT_ACTION_PROCESSING,
  IMBOT_AGENT_ACTION_TRANSLATING,
  IMBOT_AGENT_ACTION_CONNECTING,
  IMBOT_AGENT_ACTION_CHECKING,
  IMBOT_AGENT_ACTION_CALCULATING,
  IMBOT_AGENT_ACTION_READING_DOCS,
  IMBOT_AGENT_ACTION_COMPOSING,
  type TypingHandle,
  type TypingStatusCode,
} from '../bot/typing-keepalive.js';
// Route like a bot framework: lambdaConsumer(botRouter({ commands, onMessage, … })) — docs/bots.md.
export { botRouter, type BotContext, type BotHandler, type BotRouterOptions, type CommandHandler, type MessageFilters, type ParsedCommand } from '../bot/bot-router.js';
