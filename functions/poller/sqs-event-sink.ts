// Publishes a page of events into the per-route FIFO queues and resolves only
// when SQS acknowledged every one of them.
//
// - Routing: routeFor(routes, type); unknown types go to the catch-all queue.
// - Batches: up to 10 entries and ≤ maxBatchBytes per SendMessageBatch, cut
//   per chat (planBatches) so different chats' calls run side by side.
//   Batches run concurrently (bounded) except that a batch waits for every
//   earlier batch sharing a message group with it, so each chat's events
//   reach SQS in order.
// - Failed entries of a batch are retried (with backoff) up to maxAttempts;
//   sender faults are not retried. Anything left over → PublishError (the
//   caller does not commit, so the page is fetched and published again).
// - An event whose message would exceed maxMessageBytes goes through a claim
//   check: the whole InlineEnvelope is stored in the payload bucket under a
//   deterministic key and the queue gets a ClaimCheckEnvelope.
import { SendMessageBatchCommand, type SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import {
  ENVELOPE_SCHEMA_VERSION,
  type ClaimCheckEnvelope,
  type InlineEnvelope,
  deduplicationId,
  messageGroupId,
} from '../shared/envelope.js';
import type { RawBitrixEvent } from '../shared/event-types.js';
import { QUEUE_SETTINGS, routeFor } from '../shared/topology.js';
import { planBatches } from './batch-plan.js';
import { MissingQueueError, PublishError } from './errors.js';
import type { PayloadWriter } from './payload-writer.js';
import type { EventSink, PublishInput, PublishResult } from './ports.js';

export interface SqsEventSinkOptions {
  readonly sqs: SQSClient;
  /** Where claim checks go (the payload bucket). */
  readonly payloads: PayloadWriter;
  readonly sourceId: string;
  /** Portal host, written into every envelope. */
  readonly portal: string;
  /** Route key → queue URL (must include the catch-all). */
  readonly queueUrls: Readonly<Record<string, string>>;
  /** Event type → route key. */
  readonly routes: Readonly<Record<string, string>>;
  /** Claim-check bucket for oversized events. */
  readonly payloadBucketName: string;
  /** SendMessageBatch calls in flight at once (SQS answers in ~10–30 ms, so a 1000-event page needs many at once; `npm run bench` measures 8/16/32). @default 32 */
  readonly concurrency?: number;
  /** Attempts per entry (first send included) before the page fails. @default 5 */
  readonly maxAttempts?: number;
  /** First retry delay, doubled per attempt, in ms. @default 100 */
  readonly retryDelayMs?: number;
  /** Largest message body sent inline, in bytes. @default QUEUE_SETTINGS.maxMessageBytes (256 KiB) */
  readonly maxMessageBytes?: number;
  /** Largest sum of bodies in one SendMessageBatch, in bytes. @default 256 KiB (the classic SQS batch limit) */
  readonly maxBatchBytes?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

interface Entry {
  readonly event: RawBitrixEvent;
  readonly groupId: string;
  readonly body: string;
  readonly bytes: number;
}

// SQS accepts only #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD (| #x10000+ on AWS,
// not on every emulator). Outside JSON strings a JSON text is ASCII, so escaping
// every other UTF-16 code unit as \uXXXX keeps the body valid everywhere and
// parses back to exactly the same value (emoji become escaped surrogate pairs).
const SQS_UNSAFE_CODE_UNIT = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd]/g;

/** JSON for an SQS message body: identical value, only SQS-safe characters. */
export function sqsSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(SQS_UNSAFE_CODE_UNIT, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** SendMessageBatch calls in flight at once unless configured. */
export const DEFAULT_PUBLISH_CONCURRENCY = 32;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs at most `limit` tasks at once. */
function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await task();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

export class SqsEventSink implements EventSink {
  private readonly options: SqsEventSinkOptions;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly maxMessageBytes: number;
  private readonly maxBatchBytes: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly concurrency: number;

  constructor(options: SqsEventSinkOptions) {
    this.options = options;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 100;
    this.maxMessageBytes = options.maxMessageBytes ?? QUEUE_SETTINGS.maxMessageBytes;
    this.maxBatchBytes = options.maxBatchBytes ?? 256 * 1024;
    this.sleep = options.sleep ?? defaultSleep;
    this.concurrency = options.concurrency ?? DEFAULT_PUBLISH_CONCURRENCY;
  }

  async publish(input: PublishInput): Promise<PublishResult> {
    const receivedAt = new Date(input.receivedAt).toISOString();
    const perQueue = new Map<string, Entry[]>();
    const byRoute: Record<string, number> = {};
    let oversize = 0;
    const entries = await Promise.all(
      input.events.map(async (event) => {
        const route = routeFor(this.options.routes, event.type);
        const queueUrl = this.options.queueUrls[route];
        if (queueUrl === undefined) throw new MissingQueueError(route);
        const entry = await this.entryFor(event, receivedAt);
        if (entry.claimChecked) oversize += 1;
        return { route, queueUrl, entry: entry.entry };
      }),
    );
    for (const { route, queueUrl, entry } of entries) {
      byRoute[route] = (byRoute[route] ?? 0) + 1;
      const list = perQueue.get(queueUrl) ?? [];
      list.push(entry);
      perQueue.set(queueUrl, list);
    }

    const run = limiter(this.concurrency);
    const sends: Promise<void>[] = [];
    for (const [queueUrl, queueEntries] of perQueue) {
      const lastByGroup = new Map<string, Promise<void>>();
      for (const batch of planBatches(queueEntries, { maxEntries: 10, maxBytes: this.maxBatchBytes })) {
        const groups = [...new Set(batch.map((entry) => entry.groupId))];
        const before = groups.map((group) => lastByGroup.get(group)).filter((p): p is Promise<void> => p !== undefined);
        const send = Promise.all(before).then(() => run(() => this.sendBatch(queueUrl, batch)));
        for (const group of groups) lastByGroup.set(group, send);
        sends.push(send);
      }
    }
    const settled = await Promise.allSettled(sends);
    const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failures.length > 0) {
      const failedIds = failures.flatMap((f) => (f.reason instanceof PublishError ? [...f.reason.failedEventIds] : []));
      const first: unknown = failures[0]?.reason;
      const uniqueIds = [...new Set(failedIds)];
      const firstProblem = first instanceof PublishError ? ` First failure: ${first.message.split(' The page was not committed')[0] ?? ''}` : '';
      throw new PublishError(
        `Source "${this.options.sourceId}": ${failures.length} SendMessageBatch call(s) did not get every entry into SQS${uniqueIds.length > 0 ? ` (event ids ${uniqueIds.slice(0, 10).join(', ')}${uniqueIds.length > 10 ? ', …' : ''})` : ''}.${firstProblem}`,
        uniqueIds,
        { cause: first },
      );
    }
    return { byRoute, oversize };
  }

  private async entryFor(event: RawBitrixEvent, receivedAt: string): Promise<{ entry: Entry; claimChecked: boolean }> {
    const { sourceId, portal, payloadBucketName } = this.options;
    const groupId = messageGroupId(sourceId, event);
    const envelope: InlineEnvelope = { schemaVersion: ENVELOPE_SCHEMA_VERSION, sourceId, portal, receivedAt, event };
    const body = sqsSafeJson(envelope);
    const bytes = Buffer.byteLength(body, 'utf8');
    if (bytes <= this.maxMessageBytes) return { entry: { event, groupId, body, bytes }, claimChecked: false };

    const key = `claim-check/${encodeURIComponent(sourceId)}/${event.eventId}.json`;
    try {
      await this.options.payloads.putJson({ bucket: payloadBucketName, key, body });
    } catch (error) {
      throw new PublishError(
        `Source "${sourceId}": storing oversized event ${event.eventId} (${bytes} bytes) in bucket ${payloadBucketName} failed (${error instanceof Error ? error.name : 'unknown error'}).`,
        [event.eventId],
        { cause: error },
      );
    }
    const claim: ClaimCheckEnvelope = {
      schemaVersion: ENVELOPE_SCHEMA_VERSION,
      sourceId,
      portal,
      receivedAt,
      eventRef: { bucket: payloadBucketName, key, eventId: event.eventId, type: event.type, sizeBytes: bytes },
    };
    const claimBody = sqsSafeJson(claim);
    return { entry: { event, groupId, body: claimBody, bytes: Buffer.byteLength(claimBody, 'utf8') }, claimChecked: true };
  }

  private async sendBatch(queueUrl: string, batch: readonly Entry[]): Promise<void> {
    const { sourceId } = this.options;
    let pending = batch.map((entry, index) => ({ id: String(index), entry }));
    let lastProblem = '';
    for (let attempt = 1; attempt <= this.maxAttempts; attempt += 1) {
      if (attempt > 1) await this.sleep(this.retryDelayMs * 2 ** (attempt - 2));
      const request: SendMessageBatchRequestEntry[] = pending.map(({ id, entry }) => ({
        Id: id,
        MessageBody: entry.body,
        MessageGroupId: entry.groupId,
        MessageDeduplicationId: deduplicationId(sourceId, entry.event.eventId),
      }));
      try {
        const answer = await this.options.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: request }));
        const failed = answer.Failed ?? [];
        const ok = new Set((answer.Successful ?? []).map((s) => s.Id));
        const senderFault = failed.find((f) => f.SenderFault === true);
        if (senderFault !== undefined) {
          const ids = pending.filter((p) => !ok.has(p.id)).map((p) => p.entry.event.eventId);
          throw new PublishError(
            `Source "${sourceId}": SQS refused event ${pending.find((p) => p.id === senderFault.Id)?.entry.event.eventId ?? '?'} as invalid (${senderFault.Code ?? 'unknown code'}: ${(senderFault.Message ?? '').slice(0, 200)}).`,
            ids,
          );
        }
        pending = pending.filter((p) => !ok.has(p.id));
        if (pending.length === 0) return;
        lastProblem = failed.map((f) => f.Code ?? 'unknown').join(', ');
      } catch (error) {
        if (error instanceof PublishError) throw error;
        lastProblem = error instanceof Error ? error.name : 'unknown error';
      }
    }
    throw new PublishError(
      `Source "${sourceId}": ${pending.length} entr${pending.length === 1 ? 'y' : 'ies'} still failed after ${this.maxAttempts} attempts (${lastProblem}).`,
      pending.map((p) => p.entry.event.eventId),
    );
  }
}
