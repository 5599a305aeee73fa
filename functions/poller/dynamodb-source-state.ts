// The source's state item in DynamoDB: the lease is a conditional write, the
// fencing token makes a taken-over run harmless, and the offset only moves
// forward. One item per source, pk `source#<id>`; O(1) writes per page.
//
// Lease state machine (every arrow is one conditional UpdateItem):
//
//   FREE (no leaseOwner) ──acquire: token+1──→ HELD(owner, token, expiry)
//   HELD, expiry < now   ──acquire: token+1──→ HELD(new owner, token+1)   ← takeover fences the old run out
//   HELD(o, t)           ──renew / commit / markSubscribed if owner = o ∧ token = t──→ HELD(o, t, later expiry)
//   HELD(o, t)           ──release if owner = o ∧ token = t──→ FREE (token kept: it never goes back)
//   FREE or expired      ──reset-offset (CLI): token+1, lease removed──→ FREE  ← fences out a run whose lease expired
//   commit also requires committedOffset = the run's fromOffset, so a slow run can never
//   overwrite an operator's reset (nor move the offset backwards)
//
// A failed condition returns the item as it was (ReturnValuesOnConditionCheckFailure)
// and becomes LeaseBusyError / LeaseLostError / OffsetMovedError / OffsetRegressionError — except when
// the item shows our own write already landed (the SDK retried after a lost
// answer): an acquire whose item names our owner id (unique per run), a commit
// whose item holds our lease and our nextOffset. Those are successes.
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { STATE_TABLE } from '../shared/topology.js';
import { LeaseBusyError, LeaseLostError, OffsetMovedError, OffsetRegressionError, StateStoreError } from './errors.js';
import type { BotRemoval, CommitInput, Lease, SourceState, SourceStateStore } from './ports.js';

export interface DynamoDbSourceStateOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly sourceId: string;
}

export function sourceStateKey(sourceId: string): string {
  return `source#${sourceId}`;
}

type Item = Record<string, AttributeValue>;

function num(item: Item | undefined, name: string): number | undefined {
  const value = item?.[name];
  if (value === undefined || value.N === undefined) return undefined;
  const parsed = Number(value.N);
  return Number.isFinite(parsed) ? parsed : undefined;
}

function str(item: Item | undefined, name: string): string | undefined {
  return item?.[name]?.S;
}

/** The bot-removal mark (bot-removed.ts), when the item has one. */
function botRemovalOf(item: Item | undefined): { botRemoved?: BotRemoval } {
  const at = num(item, 'botRemovedAt');
  const botId = num(item, 'botRemovedBotId');
  if (at === undefined || botId === undefined) return {};
  return { botRemoved: { at, botId, eventId: num(item, 'botRemovedEventId') ?? 0 } };
}

const OWNED = 'leaseOwner = :owner AND fencingToken = :token';

export class DynamoDbSourceStateStore implements SourceStateStore {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly sourceId: string;
  private readonly key: Item;

  constructor(options: DynamoDbSourceStateOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.sourceId = options.sourceId;
    this.key = { [STATE_TABLE.partitionKey]: { S: sourceStateKey(options.sourceId) } };
  }

  /** Runs one conditional update; a failed condition returns the old item instead of throwing. */
  private async update(
    what: string,
    input: { update: string; condition: string; values: Item; returnNew?: boolean },
  ): Promise<{ ok: true; item: Item | undefined } | { ok: false; old: Item | undefined }> {
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key,
          UpdateExpression: input.update,
          ConditionExpression: input.condition,
          ExpressionAttributeValues: input.values,
          ReturnValues: input.returnNew === true ? 'ALL_NEW' : 'NONE',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, item: result.Attributes };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { ok: false, old: error.Item };
      throw new StateStoreError(`Source "${this.sourceId}": ${what} on table ${this.tableName} failed (${error instanceof Error ? error.name : 'unknown error'}).`, {
        cause: error,
      });
    }
  }

  private lost(lease: Lease, old: Item | undefined): LeaseLostError {
    const currentToken = num(old, 'fencingToken');
    const currentOwner = str(old, 'leaseOwner');
    return new LeaseLostError({
      sourceId: this.sourceId,
      owner: lease.owner,
      fencingToken: lease.fencingToken,
      ...(currentToken === undefined ? {} : { currentToken }),
      ...(currentOwner === undefined ? {} : { currentOwner }),
    });
  }

  private owned(lease: Lease): Item {
    return { ':owner': { S: lease.owner }, ':token': { N: String(lease.fencingToken) } };
  }

  async acquire(input: { owner: string; now: number; leaseMs: number }): Promise<SourceState> {
    const expiresAt = input.now + input.leaseMs;
    const result = await this.update('acquiring the lease', {
      update: 'SET leaseOwner = :owner, leaseExpiresAt = :expiry, leaseAcquiredAt = :now, fencingToken = if_not_exists(fencingToken, :zero) + :one',
      condition: 'attribute_not_exists(leaseOwner) OR leaseExpiresAt < :now',
      values: {
        ':owner': { S: input.owner },
        ':expiry': { N: String(expiresAt) },
        ':now': { N: String(input.now) },
        ':zero': { N: '0' },
        ':one': { N: '1' },
      },
      returnNew: true,
    });
    // Not ok but our owner id: our first attempt took the lease and its answer was lost; the item is ours.
    const item = result.ok ? result.item : result.old;
    if (!result.ok && str(result.old, 'leaseOwner') !== input.owner) {
      const holder = str(result.old, 'leaseOwner');
      const heldUntil = num(result.old, 'leaseExpiresAt');
      throw new LeaseBusyError({ sourceId: this.sourceId, ...(holder === undefined ? {} : { holder }), ...(heldUntil === undefined ? {} : { expiresAt: heldUntil }) });
    }
    const fencingToken = num(item, 'fencingToken');
    if (fencingToken === undefined) throw new StateStoreError(`Source "${this.sourceId}": the state item has no fencing token after acquiring.`);
    const committedOffset = num(item, 'committedOffset');
    const optional = (name: string, value: number | boolean | undefined) => (value === undefined ? {} : { [name]: value });
    return {
      lease: { sourceId: this.sourceId, owner: input.owner, fencingToken, expiresAt: result.ok ? expiresAt : (num(item, 'leaseExpiresAt') ?? expiresAt) },
      ...(committedOffset === undefined ? {} : { committedOffset }),
      subscribed: item?.subscribed?.BOOL === true,
      ...optional('subscribedAt', num(item, 'subscribedAt')),
      ...optional('unsubscribedAt', num(item, 'unsubscribedAt')),
      ...optional('lastFetchAt', num(item, 'lastFetchAt')),
      ...optional('lastFetchHadMore', item?.lastFetchHadMore?.BOOL),
      ...botRemovalOf(item),
    };
  }

  async renew(lease: Lease, input: { now: number; leaseMs: number }): Promise<Lease> {
    const expiresAt = input.now + input.leaseMs;
    const result = await this.update('renewing the lease', {
      update: 'SET leaseExpiresAt = :expiry',
      condition: OWNED,
      values: { ...this.owned(lease), ':expiry': { N: String(expiresAt) } },
    });
    if (!result.ok) throw this.lost(lease, result.old);
    return { ...lease, expiresAt };
  }

  async commit(lease: Lease, input: CommitInput): Promise<Lease> {
    const expiresAt = input.now + input.leaseMs;
    const sets = ['committedOffset = :next', 'leaseExpiresAt = :expiry', 'lastPollAt = :now', 'lastCommittedAt = :now', 'oldestEventAgeMs = :age'];
    const adds = ['pagesTotal :one', 'eventsTotal :events'];
    const values: Item = {
      ...this.owned(lease),
      ':next': { N: String(input.nextOffset) },
      ':expiry': { N: String(expiresAt) },
      ':now': { N: String(input.now) },
      ':one': { N: '1' },
      ':events': { N: String(input.events) },
      ':age': { N: String(Math.max(0, Math.round(input.oldestEventAgeMs ?? 0))) },
    };
    if (input.fetchedAt !== undefined) {
      sets.push('lastFetchAt = :fetchedAt', 'lastFetchHadMore = :hasMore');
      values[':fetchedAt'] = { N: String(input.fetchedAt) };
      values[':hasMore'] = { BOOL: input.hasMore === true };
    }
    if (input.quarantined !== undefined && input.quarantined.count > 0) {
      sets.push('lastQuarantineReason = :qReason', 'lastQuarantinedAt = :now');
      adds.push('quarantinedTotal :qCount');
      values[':qReason'] = { S: input.quarantined.lastReason.slice(0, 300) };
      values[':qCount'] = { N: String(input.quarantined.count) };
    }
    // The stored offset must still be the one this run fetched from (an operator's reset wins), and never move back.
    let offsetCondition = 'attribute_not_exists(committedOffset)';
    if (input.fromOffset !== undefined) {
      offsetCondition = 'committedOffset = :from AND committedOffset <= :next';
      values[':from'] = { N: String(input.fromOffset) };
    }
    const result = await this.update('committing the offset', {
      update: `SET ${sets.join(', ')} ADD ${adds.join(', ')}`,
      condition: `${OWNED} AND ${offsetCondition}`,
      values,
    });
    if (result.ok) return { ...lease, expiresAt };
    if (str(result.old, 'leaseOwner') !== lease.owner || num(result.old, 'fencingToken') !== lease.fencingToken) {
      throw this.lost(lease, result.old);
    }
    const stored = num(result.old, 'committedOffset');
    // Still our lease and already our nextOffset: our first attempt landed and its answer was lost.
    if (stored === input.nextOffset) return { ...lease, expiresAt: num(result.old, 'leaseExpiresAt') ?? expiresAt };
    if (stored !== undefined && stored === input.fromOffset) {
      throw new OffsetRegressionError({ sourceId: this.sourceId, committedOffset: stored, attemptedOffset: input.nextOffset });
    }
    throw new OffsetMovedError({
      sourceId: this.sourceId,
      ...(input.fromOffset === undefined ? {} : { fromOffset: input.fromOffset }),
      ...(stored === undefined ? {} : { storedOffset: stored }),
      attemptedOffset: input.nextOffset,
    });
  }

  async markSubscribed(lease: Lease, input: { now: number }): Promise<void> {
    const result = await this.update('recording the subscription', {
      update: 'SET subscribed = :true, subscribedAt = :now',
      condition: OWNED,
      values: { ...this.owned(lease), ':true': { BOOL: true }, ':now': { N: String(input.now) } },
    });
    if (!result.ok) throw this.lost(lease, result.old);
  }

  async markBotRemoved(lease: Lease, removal: BotRemoval): Promise<void> {
    const result = await this.update('recording the removal of the bot', {
      update: 'SET botRemovedAt = :at, botRemovedBotId = :botId, botRemovedEventId = :eventId',
      condition: OWNED,
      values: { ...this.owned(lease), ':at': { N: String(removal.at) }, ':botId': { N: String(removal.botId) }, ':eventId': { N: String(removal.eventId) } },
    });
    if (!result.ok) throw this.lost(lease, result.old);
  }

  async release(lease: Lease, input: { now: number }): Promise<void> {
    await this.update('releasing the lease', {
      update: 'REMOVE leaseOwner, leaseExpiresAt SET leaseReleasedAt = :now',
      condition: OWNED,
      values: { ...this.owned(lease), ':now': { N: String(input.now) } },
    });
    // A failed condition means someone else holds it now: nothing to give back.
  }
}
