// The one-line summary every consumer logs out of the box (the default handler
// and the fallback for types without a user handler). It names what happened
// and where, never message text (chat content is personal data).
import type { InlineEnvelope } from '../shared/envelope.js';
import { chatKeyOf } from '../shared/envelope.js';
import type { RawBitrixEvent } from '../shared/event-types.js';

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function idText(value: unknown): string | undefined {
  return typeof value === 'number' || (typeof value === 'string' && value.length > 0) ? String(value) : undefined;
}

export interface EventSummary {
  readonly line: string;
  readonly attributes: Record<string, string | number | undefined>;
}

/** e.g. `ONIMV2MESSAGEADD #2001 from demo (example.bitrix24.com): chat chat5, user 7, message 55 (12 chars)`. */
export function summarizeEvent(event: RawBitrixEvent, envelope: Pick<InlineEnvelope, 'sourceId' | 'portal' | 'receivedAt'>): EventSummary {
  const data = event.data;
  const chat = chatKeyOf(event);
  const user = idText(field(field(data, 'user'), 'id'));
  const message = field(data, 'message');
  const messageId = idText(field(message, 'id')) ?? idText(field(data, 'messageId'));
  const text = field(message, 'text');
  const textLength = typeof text === 'string' ? text.length : undefined;
  const reaction = field(data, 'reaction');
  const action = field(data, 'action');
  const command = field(field(data, 'command'), 'command');

  const parts: string[] = [];
  if (chat !== undefined) parts.push(`chat ${chat}`);
  if (user !== undefined) parts.push(`user ${user}`);
  if (messageId !== undefined) parts.push(`message ${messageId}${textLength === undefined ? '' : ` (${textLength} chars)`}`);
  if (typeof reaction === 'string') parts.push(`reaction ${reaction}${typeof action === 'string' ? ` ${action}` : ''}`);
  if (typeof command === 'string') parts.push(`command /${command}`);
  const what = parts.length === 0 ? 'no chat data' : parts.join(', ');
  return {
    line: `${event.type} #${event.eventId} from ${envelope.sourceId} (${envelope.portal}): ${what}`,
    attributes: {
      eventType: event.type,
      eventId: event.eventId,
      sourceId: envelope.sourceId,
      chat,
      userId: user,
      messageId,
      eventDate: event.date,
      receivedAt: envelope.receivedAt,
    },
  };
}
