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
export { TYPING_STATUS_CODES, type TypingHandle, type TypingStatusCode } from '../bot/typing-keepalive.js';
export { markdownToBbCode } from '../bot/markdown-to-bbcode.js';
export { BotFrameworkError, ReplyTargetError, VoiceSourceError, VoiceUnsupportedError } from '../bot/errors.js';
