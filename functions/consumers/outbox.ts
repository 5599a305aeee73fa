// The outbox for Bitrix24 writes made while handling an event (issue 11 §3).
// Each write of event E gets a deterministic key — source, event id and its
// position n among E's writes — and a record of its outcome, so a re-run of
// the handler (after a crash, a timeout or a redelivery) does not repeat a
// write Bitrix24 already acknowledged: the recorded answer is handed back.
//
// Items live in the idempotency table (partition key `id`, TTL `expiration`,
// kept 48 h like the idempotency records):
//   id = "b24-outbox#<sourceId>#<eventId>#<n>", status, method, answer (JSON), expiration
// States, per key:
//   absent  → reserve (conditional put) → PENDING → send
//   send answered          → DONE (answer kept)        a re-run gets the answer, nothing is sent
//   send refused for sure  → item deleted              a re-run sends again (nothing happened)
//   send outcome unknown   → UNKNOWN                   a re-run throws WriteOutcomeUnknownError
//   PENDING found by a re-run (crashed between reserve and the outcome) → WriteOutcomeUnknownError
// What can still duplicate: nothing the outbox sends twice — but a write whose
// answer was lost is reported as unknown, not retried, and a human decides.
import { ConditionalCheckFailedException, DeleteItemCommand, type DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { WriteOutcomeUnknownError } from '../bitrix24/errors.js';
import { IDEMPOTENCY_TABLE } from '../shared/topology.js';
import { OutboxConflictError } from './errors.js';
import type { ConsumerLogger } from './observability.js';
import type { Bitrix24Caller, CallOptions } from './source-clients.js';

export type BitrixAnswer = { result: unknown; time?: unknown };

export type OutboxRecord =
  | { readonly state: 'reserved' }
  | { readonly state: 'done'; readonly method: string; readonly answer: BitrixAnswer }
  | { readonly state: 'pending' | 'unknown'; readonly method: string };

/** Where outbox records are kept (DynamoDB in Lambda, memory in unit tests). */
export interface OutboxStore {
  /** Reserves `key` for a write of `method`: `reserved` when this call made the reservation, else what is recorded. */
  reserve(key: string, method: string): Promise<OutboxRecord>;
  /** Records Bitrix24's answer. */
  complete(key: string, answer: BitrixAnswer): Promise<void>;
  /** Forgets the reservation (Bitrix24 refused the write for sure: a re-run may send it). */
  release(key: string): Promise<void>;
  /** Records that the write may or may not have happened. */
  markUnknown(key: string): Promise<void>;
}

export const OUTBOX_KEY_PREFIX = 'b24-outbox#';

/** The key of the n-th write (1-based) made while handling an event. */
export function outboxKey(sourceId: string, eventId: number, n: number): string {
  return `${OUTBOX_KEY_PREFIX}${sourceId}#${eventId}#${n}`;
}

/** What handlers write through: `await ctx.outbox.write('im.message.add', {...})`. */
export interface Outbox {
  /** Sends the write once per event and position; on a re-run answers from the record instead of sending. */
  write<T = unknown>(method: string, params?: Record<string, unknown>, options?: CallOptions): Promise<{ result: T; time?: unknown; replayed?: boolean }>;
}

export interface EventOutboxInput {
  readonly store: OutboxStore;
  readonly caller: Bitrix24Caller;
  readonly sourceId: string;
  readonly eventId: number;
  readonly logger: ConsumerLogger;
  /** Called when a write is answered from the record. */
  readonly onReplay?: () => void;
}

/** The outbox of one handler run: counts the run's writes to give each its key. */
export function eventOutbox(input: EventOutboxInput): Outbox {
  let count = 0;
  return {
    async write<T = unknown>(method: string, params: Record<string, unknown> = {}, options?: CallOptions) {
      count += 1;
      const key = outboxKey(input.sourceId, input.eventId, count);
      const record = await input.store.reserve(key, method);
      if (record.state !== 'reserved' && record.method !== method) {
        throw new OutboxConflictError(key, record.method, method);
      }
      if (record.state === 'done') {
        input.onReplay?.();
        input.logger.info(`${method}: write ${count} of event ${input.sourceId}#${input.eventId} was already acknowledged; not sent again`);
        return { ...(record.answer as { result: T; time?: unknown }), replayed: true };
      }
      if (record.state !== 'reserved') {
        throw new WriteOutcomeUnknownError({
          method,
          code: record.state === 'unknown' ? 'OUTCOME_UNKNOWN' : 'OUTCOME_NOT_RECORDED',
          detail:
            record.state === 'unknown'
              ? `write ${count} of event ${input.sourceId}#${input.eventId} was sent by an earlier run and its answer was lost`
              : `write ${count} of event ${input.sourceId}#${input.eventId} was started by an earlier run that ended before recording its outcome`,
        });
      }
      let answer: { result: T; time?: unknown };
      try {
        answer = await input.caller.call<T>(method, params, options);
      } catch (error) {
        if (error instanceof WriteOutcomeUnknownError) {
          await input.store.markUnknown(key).catch(() => undefined); // left PENDING it reads the same
          throw error;
        }
        // Refused for sure: nothing happened, a re-run may send it. If the
        // release fails the item stays PENDING and a re-run reports the outcome
        // unknown instead: never a duplicate.
        await input.store.release(key).catch(() => undefined);
        throw error;
      }
      try {
        await input.store.complete(key, answer);
      } catch (error) {
        // The write happened; the record stays PENDING, so a re-run reports it
        // unknown rather than repeating it. This run carries on.
        input.logger.warn(`${method}: write ${count} of event ${input.sourceId}#${input.eventId} succeeded but its record could not be saved; a re-run will not repeat it and reports it unknown`, {
          error: error instanceof Error ? error.name : String(error),
        });
      }
      return answer;
    },
  };
}

export interface DynamoDbOutboxOptions {
  /** The idempotency table (IDEMPOTENCY_TABLE_NAME). */
  readonly tableName: string;
  readonly dynamoDb: DynamoDBClient;
  /** How long a record is kept, in seconds; it must outlive every re-run of its event. @default 172800 (48 h) */
  readonly ttlSeconds?: number;
  /** ms epoch clock. @default Date.now */
  readonly now?: () => number;
}

/** Answers above this are not kept (DynamoDB items stop at 400 KB): a replay then returns `result: null`. */
const MAX_ANSWER_CHARS = 300_000;

export function createDynamoDbOutboxStore(options: DynamoDbOutboxOptions): OutboxStore {
  const ttlSeconds = options.ttlSeconds ?? 48 * 60 * 60;
  const now = options.now ?? Date.now;
  const key = (name: string) => ({ [IDEMPOTENCY_TABLE.partitionKey]: { S: name } });
  return {
    async reserve(name, method) {
      try {
        await options.dynamoDb.send(
          new PutItemCommand({
            TableName: options.tableName,
            Item: {
              ...key(name),
              status: { S: 'PENDING' },
              method: { S: method },
              [IDEMPOTENCY_TABLE.timeToLiveAttribute]: { N: String(Math.floor(now() / 1000) + ttlSeconds) },
            },
            ConditionExpression: 'attribute_not_exists(#id)',
            ExpressionAttributeNames: { '#id': IDEMPOTENCY_TABLE.partitionKey },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { state: 'reserved' };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const item = error.Item ?? {};
        const recordedMethod = item.method?.S ?? method;
        const status = item.status?.S;
        if (status === 'DONE') {
          const answer = JSON.parse(item.answer?.S ?? '{"result":null}') as BitrixAnswer;
          return { state: 'done', method: recordedMethod, answer };
        }
        return { state: status === 'UNKNOWN' ? 'unknown' : 'pending', method: recordedMethod };
      }
    },
    async complete(name, answer) {
      const json = JSON.stringify({ result: answer.result ?? null, ...(answer.time === undefined ? {} : { time: answer.time }) });
      await options.dynamoDb.send(
        new UpdateItemCommand({
          TableName: options.tableName,
          Key: key(name),
          UpdateExpression: 'SET #status = :done, answer = :answer',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':done': { S: 'DONE' }, ':answer': { S: json.length > MAX_ANSWER_CHARS ? '{"result":null}' : json } },
        }),
      );
    },
    async release(name) {
      await options.dynamoDb.send(new DeleteItemCommand({ TableName: options.tableName, Key: key(name) }));
    },
    async markUnknown(name) {
      await options.dynamoDb.send(
        new UpdateItemCommand({
          TableName: options.tableName,
          Key: key(name),
          UpdateExpression: 'SET #status = :unknown',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':unknown': { S: 'UNKNOWN' } },
        }),
      );
    },
  };
}

/** Records in this process only (unit tests, local runs without a table). */
export function inMemoryOutboxStore(): OutboxStore & { readonly records: ReadonlyMap<string, OutboxRecord> } {
  const records = new Map<string, OutboxRecord>();
  return {
    records,
    reserve(name, method) {
      const existing = records.get(name);
      if (existing !== undefined) return Promise.resolve(existing);
      records.set(name, { state: 'pending', method });
      return Promise.resolve({ state: 'reserved' });
    },
    complete(name, answer) {
      const existing = records.get(name);
      records.set(name, { state: 'done', method: existing?.state === 'reserved' || existing === undefined ? '' : existing.method, answer });
      return Promise.resolve();
    },
    release(name) {
      records.delete(name);
      return Promise.resolve();
    },
    markUnknown(name) {
      const existing = records.get(name);
      records.set(name, { state: 'unknown', method: existing?.state === 'reserved' || existing === undefined ? '' : existing.method });
      return Promise.resolve();
    },
  };
}
