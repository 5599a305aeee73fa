// Reads and (for reset-offset) changes a source's state item, the one the
// poller keeps (functions/poller/dynamodb-source-state.ts): pk `source#<id>`,
// committedOffset, leaseOwner, leaseExpiresAt, fencingToken, lastPollAt, …
import { ConditionalCheckFailedException, type DynamoDBClient, GetItemCommand, ScanCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { quarantineKeyPrefix } from '../poller/dynamodb-quarantine-store.js';
import { sourceStateKey } from '../poller/dynamodb-source-state.js';
import { STATE_TABLE } from '../shared/topology.js';
import { SourceBusyError } from './errors.js';

export interface SourceStateView {
  readonly sourceId: string;
  /** False when the poller never ran for this source. */
  readonly exists: boolean;
  readonly committedOffset?: number;
  readonly lease?: { readonly holder: string; readonly expiresAt: number; readonly expired: boolean };
  readonly fencingToken?: number;
  /** Last commit of a page (ms epoch). */
  readonly lastPollAt?: number;
  /** Age of the oldest event in the last page polled (0 when it was empty): how far behind the source was, in ms. */
  readonly oldestEventAgeMs?: number;
  readonly subscribed: boolean;
  /** Last im.v2.Event.subscribe recorded (poller or CLI), ms epoch. */
  readonly subscribedAt?: number;
  /** Set by the CLI's `unsubscribe`: the poller does not re-subscribe until `subscribe`, ms epoch. */
  readonly unsubscribedAt?: number;
  readonly eventsTotal?: number;
  readonly pagesTotal?: number;
  /** Invalid events put into quarantine so far, and the last one's reason and time. */
  readonly quarantinedTotal: number;
  readonly lastQuarantineReason?: string;
  readonly lastQuarantinedAt?: number;
}

type Item = Record<string, AttributeValue>;
const num = (item: Item | undefined, name: string): number | undefined => {
  const text = item?.[name]?.N;
  return text === undefined ? undefined : Number(text);
};

export async function readSourceState(dynamoDb: DynamoDBClient, tableName: string, sourceId: string, now: number): Promise<SourceStateView> {
  const out = await dynamoDb.send(
    new GetItemCommand({ TableName: tableName, Key: { [STATE_TABLE.partitionKey]: { S: sourceStateKey(sourceId) } }, ConsistentRead: true }),
  );
  const item = out.Item;
  const holder = item?.leaseOwner?.S;
  const expiresAt = num(item, 'leaseExpiresAt');
  const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
  return {
    sourceId,
    exists: item !== undefined,
    ...optional('committedOffset', num(item, 'committedOffset')),
    ...(holder === undefined ? {} : { lease: { holder, expiresAt: expiresAt ?? 0, expired: (expiresAt ?? 0) < now } }),
    ...optional('fencingToken', num(item, 'fencingToken')),
    ...optional('lastPollAt', num(item, 'lastPollAt')),
    ...optional('oldestEventAgeMs', num(item, 'oldestEventAgeMs')),
    // An operator's unsubscribe is the truth even if an older item still says subscribed.
    subscribed: item?.subscribed?.BOOL === true && item.unsubscribedAt === undefined,
    ...optional('subscribedAt', num(item, 'subscribedAt')),
    ...optional('unsubscribedAt', num(item, 'unsubscribedAt')),
    ...optional('eventsTotal', num(item, 'eventsTotal')),
    ...optional('pagesTotal', num(item, 'pagesTotal')),
    quarantinedTotal: num(item, 'quarantinedTotal') ?? 0,
    ...optional('lastQuarantineReason', item?.lastQuarantineReason?.S),
    ...optional('lastQuarantinedAt', num(item, 'lastQuarantinedAt')),
  };
}

/**
 * Records an operator's subscribe / unsubscribe in the state item (after the
 * Bitrix24 call succeeded): `unsubscribedAt` stops the poller from
 * re-subscribing; `subscribe` clears it.
 */
export async function recordSubscription(dynamoDb: DynamoDBClient, tableName: string, sourceId: string, input: { subscribed: boolean; now: number }): Promise<void> {
  await dynamoDb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { [STATE_TABLE.partitionKey]: { S: sourceStateKey(sourceId) } },
      UpdateExpression: input.subscribed ? 'SET subscribed = :true, subscribedAt = :now REMOVE unsubscribedAt' : 'SET subscribed = :false, unsubscribedAt = :now',
      ExpressionAttributeValues: input.subscribed ? { ':true': { BOOL: true }, ':now': { N: String(input.now) } } : { ':false': { BOOL: false }, ':now': { N: String(input.now) } },
    }),
  );
}

/** One quarantined event (item written by functions/poller/dynamodb-quarantine-store.ts). */
export interface QuarantinedEventView {
  readonly sourceId: string;
  readonly key: string;
  readonly eventId?: number;
  readonly position?: number;
  readonly fromOffset?: number;
  readonly reason: string;
  readonly quarantinedAt?: number;
  /** The event's JSON as the portal sent it (inline), or where it is stored. */
  readonly raw?: string;
  readonly rawRef?: { readonly bucket: string; readonly key: string };
  readonly rawBytes?: number;
}

/** Lists a source's quarantined events, oldest first (a Scan: the state table holds one item per source and token, plus these). */
export async function listQuarantinedEvents(dynamoDb: DynamoDBClient, tableName: string, sourceId: string): Promise<QuarantinedEventView[]> {
  const prefix = quarantineKeyPrefix(sourceId);
  const out: QuarantinedEventView[] = [];
  let startKey: Item | undefined;
  do {
    const page = await dynamoDb.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'begins_with(#pk, :prefix)',
        ExpressionAttributeNames: { '#pk': STATE_TABLE.partitionKey },
        ExpressionAttributeValues: { ':prefix': { S: prefix } },
        ConsistentRead: true,
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    for (const item of page.Items ?? []) {
      const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
      const ref = item.rawRef?.M;
      out.push({
        sourceId,
        key: (item[STATE_TABLE.partitionKey]?.S ?? '').slice(prefix.length),
        ...optional('eventId', num(item, 'eventId')),
        ...optional('position', num(item, 'position')),
        ...optional('fromOffset', num(item, 'fromOffset')),
        reason: item.reason?.S ?? '',
        ...optional('quarantinedAt', num(item, 'quarantinedAt')),
        ...optional('raw', item.raw?.S),
        ...(ref === undefined ? {} : { rawRef: { bucket: ref.bucket?.S ?? '', key: ref.key?.S ?? '' } }),
        ...optional('rawBytes', num(item, 'rawBytes')),
      });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return out.sort((a, b) => (a.quarantinedAt ?? 0) - (b.quarantinedAt ?? 0) || (a.eventId ?? 0) - (b.eventId ?? 0));
}

/**
 * Sets (or, with `to: undefined`, removes) the committed offset, only while no
 * poller holds a live lease, in one conditional write. Returns the previous
 * offset. The same write removes an expired lease and bumps the fencing token:
 * a run whose lease expired (stalled, not dead) can then neither renew nor
 * commit, so it cannot write its old offset over the reset (the poller's
 * commit also requires the stored offset to be the one it fetched from).
 */
export async function resetCommittedOffset(
  dynamoDb: DynamoDBClient,
  tableName: string,
  sourceId: string,
  input: { to: number | undefined; now: number },
): Promise<{ previous?: number }> {
  const values: Item = { ':now': { N: String(input.now) }, ':one': { N: '1' } };
  let update: string;
  if (input.to === undefined) {
    update = 'REMOVE committedOffset, leaseOwner, leaseExpiresAt SET offsetResetAt = :now ADD fencingToken :one';
  } else {
    update = 'REMOVE leaseOwner, leaseExpiresAt SET committedOffset = :to, offsetResetAt = :now ADD fencingToken :one';
    values[':to'] = { N: String(input.to) };
  }
  try {
    const out = await dynamoDb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [STATE_TABLE.partitionKey]: { S: sourceStateKey(sourceId) } },
        UpdateExpression: update,
        ConditionExpression: 'attribute_not_exists(leaseOwner) OR leaseExpiresAt < :now',
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_OLD',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    const previous = num(out.Attributes, 'committedOffset');
    return previous === undefined ? {} : { previous };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      const holder = error.Item?.leaseOwner?.S ?? 'another poller';
      const until = num(error.Item, 'leaseExpiresAt');
      throw new SourceBusyError(
        `Source "${sourceId}" is being polled right now (lease held by ${holder}${until === undefined ? '' : ` until ${new Date(until).toISOString()}`}). ` +
          'Disable its schedule (or stop the local pipeline) and retry once the lease is free: moving the offset under a running poller would race its commit.',
      );
    }
    throw error;
  }
}
