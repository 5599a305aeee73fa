// The body of every queue message the poller publishes: the original Bitrix24
// event, untouched, inside an envelope that says where and when it came from.
// Consumers read this shape; bump ENVELOPE_SCHEMA_VERSION on any breaking change.
import { type RawBitrixEvent } from './event-types.js';

export const ENVELOPE_SCHEMA_VERSION = 1;

interface EnvelopeHeader {
  readonly schemaVersion: typeof ENVELOPE_SCHEMA_VERSION;
  /** The configured source id (one reader of one event stream). */
  readonly sourceId: string;
  /** Portal host, e.g. `example.bitrix24.com`. */
  readonly portal: string;
  /** When the poller received the page, ISO 8601 UTC. */
  readonly receivedAt: string;
}

/** The usual case: the event travels inside the message. */
export interface InlineEnvelope extends EnvelopeHeader {
  readonly event: RawBitrixEvent;
}

/**
 * Claim check for an event too large for one SQS message: the full
 * InlineEnvelope is stored as a JSON object in the payload bucket and the
 * message carries a reference to it plus the fields needed for routing.
 */
export interface ClaimCheckEnvelope extends EnvelopeHeader {
  readonly eventRef: {
    readonly bucket: string;
    readonly key: string;
    readonly eventId: number;
    readonly type: string;
    readonly sizeBytes: number;
  };
}

export type QueueEnvelope = InlineEnvelope | ClaimCheckEnvelope;

export function isClaimCheck(envelope: QueueEnvelope): envelope is ClaimCheckEnvelope {
  return 'eventRef' in envelope;
}

const GROUP_ID_UNSAFE = /[^A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function asIdText(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * The chat an event belongs to, as Bitrix24 names it in dialogs (`chat5` for a
 * group chat, `123` for a 1:1 dialog), or `undefined` when the event has none.
 */
export function chatKeyOf(event: RawBitrixEvent): string | undefined {
  const data = event.data;
  const chat = field(data, 'chat');
  const dialogId = asIdText(field(chat, 'dialogId')) ?? asIdText(field(data, 'dialogId'));
  if (dialogId !== undefined) return dialogId;
  const chatId = asIdText(field(chat, 'id')) ?? asIdText(field(field(data, 'message'), 'chatId'));
  return chatId === undefined ? undefined : `chat${chatId}`;
}

/**
 * FIFO MessageGroupId: one group per source and chat, so each chat's events
 * stay in order while different chats are processed in parallel. Events with
 * no chat share one group per source.
 */
export function messageGroupId(sourceId: string, event: RawBitrixEvent): string {
  const chat = chatKeyOf(event) ?? '_';
  return `${sourceId}:${chat}`.replace(GROUP_ID_UNSAFE, '_').slice(0, 128);
}

/** FIFO MessageDeduplicationId: a re-published event is dropped by SQS within 5 minutes. */
export function deduplicationId(sourceId: string, eventId: number): string {
  return `${sourceId}:${eventId}`.replace(GROUP_ID_UNSAFE, '_').slice(0, 128);
}

/** The key consumers use for idempotency: the same for every copy of one event. */
export function idempotencyKey(sourceId: string, eventId: number): string {
  return `${sourceId}#${eventId}`;
}
