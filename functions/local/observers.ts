// Thin observers around the real pipeline components, feeding FlowStats and
// dev mode's live view. They watch; they never change what the wrapped
// component does or returns.
import type { SQSBatchResponse } from 'aws-lambda';
import type { SQSClient, SendMessageBatchCommandInput, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import type { Bitrix24Client } from '../bitrix24/index.js';
import type { EventPage, RawBitrixEvent } from '../shared/event-types.js';
import { type QueueEnvelope, isClaimCheck } from '../shared/envelope.js';

import { type SqsBatchHandler, recordsToDelete } from './lambda-sqs-event-source.js';

export type { SqsBatchHandler };

export interface EnvelopeFacts {
  readonly sourceId: string;
  readonly eventId: number;
  readonly type: string;
  readonly date?: string;
}

/** The routing facts of a queue message body, or undefined when it is not an envelope. */
export function envelopeFacts(body: string | undefined): EnvelopeFacts | undefined {
  if (body === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || !('sourceId' in parsed)) return undefined;
  const envelope = parsed as QueueEnvelope;
  if (isClaimCheck(envelope)) {
    return { sourceId: envelope.sourceId, eventId: envelope.eventRef.eventId, type: envelope.eventRef.type };
  }
  if (typeof envelope.event !== 'object' || envelope.event === null) return undefined;
  return { sourceId: envelope.sourceId, eventId: envelope.event.eventId, type: envelope.event.type, date: envelope.event.date };
}

/** One operation of a Bitrix24 client, as a decorator sees it. */
export type Bitrix24Operation =
  | { readonly kind: 'getEvents' | 'getBotEvents' | 'subscribe' | 'unsubscribe' }
  | { readonly kind: 'call'; readonly method: string; readonly params: Record<string, unknown> | undefined };

export interface Bitrix24ClientHooks {
  /**
   * Runs around every operation: `run` performs it. The hook may look at the
   * result or the failure, and returns (or rethrows) exactly what `run` gave.
   * @default run()
   */
  readonly around?: <T>(operation: Bitrix24Operation, run: () => Promise<T>) => Promise<T>;
  /** Every page of events fetched (Event.get / imbot.v2.Event.get). @default none */
  readonly onEvents?: (events: readonly RawBitrixEvent[]) => void;
}

/**
 * Decorates a Bitrix24 client with hooks: the runtime counts the pages it
 * polls, dev mode watches the poller's calls for fatal errors and shows the
 * handlers' calls live — one decorator for all of them.
 */
export function observeBitrix24Client(client: Bitrix24Client, hooks: Bitrix24ClientHooks): Bitrix24Client {
  const around = <T>(operation: Bitrix24Operation, run: () => Promise<T>): Promise<T> => (hooks.around === undefined ? run() : hooks.around(operation, run));
  const page = async (kind: 'getEvents' | 'getBotEvents', fetch: () => Promise<EventPage>): Promise<EventPage> => {
    const result = await around({ kind }, fetch);
    hooks.onEvents?.(result.events);
    return result;
  };
  return {
    get portal() {
      return client.portal;
    },
    get transportStats() {
      return client.transportStats;
    },
    get oauthRenewals() {
      return client.oauthRenewals;
    },
    getEvents: (params, options) => page('getEvents', () => client.getEvents(params, options)),
    getBotEvents: (params, options) => page('getBotEvents', () => client.getBotEvents(params, options)),
    subscribe: (options) => around({ kind: 'subscribe' }, () => client.subscribe(options)),
    unsubscribe: (options) => around({ kind: 'unsubscribe' }, () => client.unsubscribe(options)),
    call: <T = unknown>(method: string, params?: Record<string, unknown>, options?: Parameters<Bitrix24Client['call']>[2]) =>
      around({ kind: 'call', method, params }, () => client.call<T>(method, params, options)),
    close: () => client.close(),
    toString: () => client.toString(),
  };
}

/**
 * Reports every message an SQS client successfully sends (SendMessageBatch and
 * SendMessage), as SQS confirmed it: only the entries listed as Successful.
 */
export function observeSqsPublishes(sqs: SQSClient, onPublished: (facts: EnvelopeFacts) => void): void {
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'SendMessageBatchCommand') {
        const input = args.input as SendMessageBatchCommandInput;
        const output = result.output as SendMessageBatchCommandOutput;
        const bodies = new Map((input.Entries ?? []).map((entry) => [entry.Id, entry.MessageBody]));
        for (const ok of output.Successful ?? []) {
          const facts = envelopeFacts(bodies.get(ok.Id));
          if (facts !== undefined) onPublished(facts);
        }
      } else if (context.commandName === 'SendMessageCommand') {
        const facts = envelopeFacts((args.input as { MessageBody?: string }).MessageBody);
        if (facts !== undefined) onPublished(facts);
      }
      return result;
    },
    { step: 'initialize', name: 'b24LocalFlowObserver', override: true },
  );
}

export interface ConsumedRecord extends EnvelopeFacts {
  readonly messageId: string;
}

/**
 * Wraps a consumer's SQS batch handler the way the Lambda event source sees
 * it: records not listed in batchItemFailures are done (they will be deleted).
 */
export function observeConsumerHandler(
  handler: SqsBatchHandler,
  on: { consumed(record: ConsumedRecord): void; failed(messageId: string): void },
): SqsBatchHandler {
  return async (event, context) => {
    let response: SQSBatchResponse | void;
    try {
      response = await handler(event, context);
    } catch (error) {
      for (const record of event.Records) on.failed(record.messageId);
      throw error;
    }
    const done = new Set(recordsToDelete(event.Records, response).map((record) => record.messageId));
    for (const record of event.Records) {
      if (!done.has(record.messageId)) {
        on.failed(record.messageId);
        continue;
      }
      const facts = envelopeFacts(record.body);
      if (facts !== undefined) on.consumed({ ...facts, messageId: record.messageId });
    }
    return response;
  };
}
