// Turns an SQS message body into the poller's InlineEnvelope, resolving claim
// checks from the payload bucket. Every way a body can be unusable for ever
// becomes a PoisonMessageError naming the reason; a failed S3 read is
// transient (ClaimCheckReadError) and retried like any handler failure.
import * as z from 'zod';
import { ENVELOPE_SCHEMA_VERSION, type InlineEnvelope, type QueueEnvelope } from '../shared/envelope.js';
import { ClaimCheckReadError, PoisonMessageError } from './errors.js';
import { describeIssues } from './events.js';

/** Reads one object from the payload bucket as text (S3 in AWS, fauxqs locally). */
export interface PayloadStore {
  getText(bucket: string, key: string): Promise<string>;
}

const header = {
  schemaVersion: z.literal(ENVELOPE_SCHEMA_VERSION),
  sourceId: z.string().min(1),
  portal: z.string().min(1),
  receivedAt: z.string().min(1),
};

const rawEventSchema = z.looseObject({
  eventId: z.number().int().nonnegative(),
  type: z.string().min(1),
  date: z.string(),
  data: z.unknown(),
});

const inlineEnvelopeSchema = z.looseObject({ ...header, event: rawEventSchema });
const claimCheckEnvelopeSchema = z.looseObject({
  ...header,
  eventRef: z.looseObject({
    bucket: z.string().min(1),
    key: z.string().min(1),
    eventId: z.number().int().nonnegative(),
    type: z.string().min(1),
    sizeBytes: z.number().int().nonnegative(),
  }),
});

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const preview = text.length > 40 ? `${text.slice(0, 40)}…` : text;
    throw new PoisonMessageError('invalid-json', `${what} is not JSON (${text.length} bytes, starts ${JSON.stringify(preview)})`, {
      cause: error,
    });
  }
}

function checkVersion(value: unknown): void {
  const version = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).schemaVersion : undefined;
  if (version !== ENVELOPE_SCHEMA_VERSION) {
    throw new PoisonMessageError(
      'unknown-schema-version',
      `envelope schemaVersion ${JSON.stringify(version) ?? 'undefined'} is not the supported version ${ENVELOPE_SCHEMA_VERSION} (deploy a consumer that reads it)`,
    );
  }
}

/** Parses a message body into an envelope (inline or claim check), without touching S3. */
export function parseEnvelope(body: string): QueueEnvelope {
  const json = parseJson(body, 'message body');
  checkVersion(json);
  const hasRef = typeof json === 'object' && json !== null && 'eventRef' in json;
  const result = hasRef ? claimCheckEnvelopeSchema.safeParse(json) : inlineEnvelopeSchema.safeParse(json);
  if (!result.success) {
    throw new PoisonMessageError('invalid-envelope', describeIssues(result.error, 'envelope').join('; '));
  }
  return result.data;
}

/** The full envelope for a message body: inline as is, claim checks read from the payload bucket. */
export async function readEnvelope(body: string, payloads: PayloadStore | undefined): Promise<InlineEnvelope> {
  const envelope = parseEnvelope(body);
  if (!('eventRef' in envelope)) return envelope;
  const ref = envelope.eventRef;
  if (payloads === undefined) {
    throw new ClaimCheckReadError(ref.bucket, ref.key, {
      cause: new Error('no payload store configured (set PAYLOAD_BUCKET_NAME or pass `payloads`)'),
    });
  }
  let text: string;
  try {
    text = await payloads.getText(ref.bucket, ref.key);
  } catch (error) {
    throw new ClaimCheckReadError(ref.bucket, ref.key, { cause: error });
  }
  const stored = parseJson(text, `claim-check object s3://${ref.bucket}/${ref.key}`);
  checkVersion(stored);
  const result = inlineEnvelopeSchema.safeParse(stored);
  if (!result.success) {
    throw new PoisonMessageError('invalid-claim-check', describeIssues(result.error, 'claimCheck').join('; '));
  }
  const inline = result.data as InlineEnvelope;
  if (inline.event.eventId !== ref.eventId || inline.event.type !== ref.type || inline.sourceId !== envelope.sourceId) {
    throw new PoisonMessageError(
      'invalid-claim-check',
      `claim-check object s3://${ref.bucket}/${ref.key} holds event ${inline.sourceId}#${inline.event.eventId} (${inline.event.type}), the message names ${envelope.sourceId}#${ref.eventId} (${ref.type})`,
    );
  }
  return inline;
}
