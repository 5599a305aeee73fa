// Reads and (for reset-offset) changes a source's state item, the one the
// poller keeps (functions/poller/dynamodb-source-state.ts): pk `source#<id>`,
// committedOffset, leaseOwner, leaseExpiresAt, fencingToken, lastPollAt, …
import { ConditionalCheckFailedException, type DynamoDBClient, GetItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
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
  readonly eventsTotal?: number;
  readonly pagesTotal?: number;
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
    subscribed: item?.subscribed?.BOOL === true,
    ...optional('eventsTotal', num(item, 'eventsTotal')),
    ...optional('pagesTotal', num(item, 'pagesTotal')),
  };
}

/**
 * Sets (or, with `to: undefined`, removes) the committed offset, only while no
 * poller holds the lease, in one conditional write. Returns the previous offset.
 */
export async function resetCommittedOffset(
  dynamoDb: DynamoDBClient,
  tableName: string,
  sourceId: string,
  input: { to: number | undefined; now: number },
): Promise<{ previous?: number }> {
  const values: Item = { ':now': { N: String(input.now) } };
  let update: string;
  if (input.to === undefined) {
    update = 'REMOVE committedOffset SET offsetResetAt = :now';
  } else {
    update = 'SET committedOffset = :to, offsetResetAt = :now';
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
