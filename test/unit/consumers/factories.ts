// Event, envelope, logger and metrics factories for the consumer tests.
import type { InlineEnvelope } from '../../../functions/shared/envelope.js';
import type { RawBitrixEvent } from '../../../functions/shared/event-types.js';
import type { ConsumerLogger, ConsumerMetricName, ConsumerMetrics, LogAttributes } from '../../../functions/consumers/observability.js';

export function messageObject(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 55,
    chatId: 5,
    authorId: 7,
    date: '2025-01-15T10:30:00+02:00',
    text: 'hello there',
    isSystem: false,
    uuid: '',
    forward: null,
    params: {},
    viewedByOthers: false,
    ...overrides,
  };
}

export function chatObject(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 5, dialogId: 'chat5', name: 'Support', type: 'chat', messageType: 'C', owner: 1, textFieldEnabled: 'Y', parentChatId: 0, parentMessageId: 0, ...overrides };
}

export function userObject(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 7, active: true, name: 'Ann Lee', firstName: 'Ann', lastName: 'Lee', bot: false, extranet: false, type: 'employee', ...overrides };
}

/** Valid `data` for every known type. */
export function dataFor(type: string): Record<string, unknown> {
  const message = messageObject();
  const chat = chatObject();
  const user = userObject();
  // In fetch mode `bot` is the full bot object (imbot.v2/events/events.md, "Bot Object Format").
  const bot = { id: 99, code: 'helper', type: 'bot', isHidden: false, isSupportOpenline: false, isReactionsEnabled: true, backgroundId: null, language: 'en', eventMode: 'fetch' };
  switch (type) {
    case 'ONIMV2MESSAGEADD':
    case 'ONIMV2MESSAGEUPDATE':
      return { message, chat, user, language: 'en' };
    case 'ONIMV2MESSAGEDELETE':
      return { messageId: 55, chat, user, language: 'en' };
    case 'ONIMV2REACTIONCHANGE':
      return { reaction: 'like', action: 'add', message, chat, user, language: 'en' };
    case 'ONIMV2JOINCHAT':
      return { dialogId: 'chat5', chat, user, language: 'en' };
    case 'ONIMBOTV2MESSAGEADD':
    case 'ONIMBOTV2MESSAGEUPDATE':
      return { bot, message, chat, user, language: 'en' };
    case 'ONIMBOTV2MESSAGEDELETE':
      return { bot, messageId: 55, chat, user };
    case 'ONIMBOTV2REACTIONCHANGE':
      return { bot, reaction: 'like', action: 'delete', message, chat, user };
    case 'ONIMBOTV2COMMANDADD':
      return { bot, command: { id: 3, command: '/help', params: 'me', context: 'textarea' }, message, chat, user };
    case 'ONIMBOTV2JOINCHAT':
      return { bot, dialogId: 'chat5', chat, user };
    case 'ONIMBOTV2CONTEXTGET':
      return { bot, dialogId: 'chat5', chat, user };
    case 'ONIMBOTV2DELETE':
      return { bot };
    default:
      return { something: 'new' };
  }
}

export function rawEvent(type: string, eventId: number, data: unknown = dataFor(type)): RawBitrixEvent {
  return { eventId, type, date: '2025-01-15T10:30:00+02:00', data };
}

/** A message-add event in the given chat (`chat5` → chat id 5), so its FIFO group is that chat. */
export function messageAddIn(chatId: number, eventId: number, text = `message ${eventId}`): RawBitrixEvent {
  return rawEvent('ONIMV2MESSAGEADD', eventId, {
    message: messageObject({ id: eventId, chatId, text }),
    chat: chatObject({ id: chatId, dialogId: `chat${chatId}` }),
    user: userObject(),
    language: 'en',
  });
}

export function envelopeOf(event: RawBitrixEvent, sourceId = 'demo'): InlineEnvelope {
  return { schemaVersion: 1, sourceId, portal: 'example.bitrix24.com', receivedAt: '2025-01-15T08:30:01.000Z', event };
}

export interface CapturedLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly attributes: LogAttributes;
}

/** A ConsumerLogger that keeps every line (with its children's keys) instead of printing. */
export function capturingLogger(): { logger: ConsumerLogger; lines: CapturedLine[] } {
  const lines: CapturedLine[] = [];
  const make = (keys: LogAttributes): ConsumerLogger => {
    const log = (level: CapturedLine['level']) => (message: string, attributes?: LogAttributes) => {
      lines.push({ level, message, attributes: { ...keys, ...attributes } });
    };
    return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: (more) => make({ ...keys, ...more }) };
  };
  return { logger: make({}), lines };
}

/** ConsumerMetrics that sum counts per metric name (all sources). */
export function countingMetrics(): { metrics: ConsumerMetrics; totals: Map<ConsumerMetricName, number>; flushes: () => number } {
  const totals = new Map<ConsumerMetricName, number>();
  let flushes = 0;
  return {
    metrics: {
      count: (name, _sourceId, value = 1) => totals.set(name, (totals.get(name) ?? 0) + value),
      flush: () => {
        flushes += 1;
      },
    },
    totals,
    flushes: () => flushes,
  };
}
