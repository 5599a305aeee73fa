// The portal budget in the state table: one item per portal, pk
// `budget#<portal host>`, so every poller shard and every consumer calling
// that portal draws from one bucket. One conditional UpdateItem per request in
// the steady state (no read first, no lock):
//
//   bucket idle  (tat ≤ now):          SET tat = now + T        if attribute_not_exists(tat) OR tat <= now
//   bucket busy  (now < tat ≤ limit):  SET tat = tat + T        if tat > now AND tat <= limit
//   booked past the caller's wait (tat > limit): nothing written → 'full'
//
// Each write moves the TAT by exactly T atomically, so concurrent callers get
// distinct slots T apart; ALL_NEW returns the new TAT (our slot is TAT − T)
// and the pauses. A failed condition returns the item as it is
// (ReturnValuesOnConditionCheckFailure) and says which branch to take next;
// the last TAT seen per portal picks the first branch, so a busy portal
// costs one write per request, not two.
// OPERATION_TIME_LIMIT pauses are attributes `pause:<method>` on that item
// (ms epoch); a pause write only ever moves them later.
import { ConditionalCheckFailedException, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { STATE_TABLE } from '../shared/topology.js';
import { PortalBudgetStoreError } from './errors.js';
import { latestAcceptableTat, type GcraStep } from './gcra.js';
import type { PortalBudgetStore, ReserveOutcome } from './ports.js';

export interface DynamoDbPortalBudgetStoreOptions {
  readonly client: DynamoDBClient;
  /** The pipeline's state table (pk `pk`). */
  readonly tableName: string;
  /** Conditional-write rounds per reservation before giving up (each lost race costs one). @default 8 */
  readonly maxRounds?: number;
}

type Item = Record<string, AttributeValue>;

const PAUSE_PREFIX = 'pause:';

export function portalBudgetKey(portal: string): string {
  return `budget#${portal}`;
}

function tatOf(item: Item | undefined): number | undefined {
  const value = item?.tat?.N;
  return value === undefined ? undefined : Number(value);
}

function pausesOf(item: Item | undefined): Record<string, number> {
  const pauses: Record<string, number> = {};
  for (const [name, value] of Object.entries(item ?? {})) {
    if (name.startsWith(PAUSE_PREFIX) && value.N !== undefined) pauses[name.slice(PAUSE_PREFIX.length)] = Number(value.N);
  }
  return pauses;
}

export class DynamoDbPortalBudgetStore implements PortalBudgetStore {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #maxRounds: number;
  /** Last TAT seen per portal: picks the branch likely to succeed first. */
  readonly #lastTat = new Map<string, number>();
  /** Conditional writes sent (for the bench's round-trip figure). */
  writes = 0;

  constructor(options: DynamoDbPortalBudgetStoreOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#maxRounds = options.maxRounds ?? 8;
  }

  async #update(portal: string, input: { update: string; condition: string; values: Item; names?: Record<string, string> }): Promise<{ ok: boolean; item: Item | undefined }> {
    this.writes += 1;
    try {
      const answer = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: { [STATE_TABLE.partitionKey]: { S: portalBudgetKey(portal) } },
          UpdateExpression: input.update,
          ConditionExpression: input.condition,
          ExpressionAttributeValues: input.values,
          ...(input.names === undefined ? {} : { ExpressionAttributeNames: input.names }),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, item: answer.Attributes };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { ok: false, item: error.Item };
      throw new PortalBudgetStoreError({ portal, what: `UpdateItem on ${this.#tableName} failed (${error instanceof Error ? error.name : 'unknown error'})`, cause: error });
    }
  }

  async reserve(portal: string, input: { readonly now: number; readonly step: GcraStep; readonly maxWaitMs: number }): Promise<ReserveOutcome> {
    const { now, step } = input;
    const limit = latestAcceptableTat(now, step, input.maxWaitMs);
    let knownTat = this.#lastTat.get(portal);
    for (let round = 0; round < this.#maxRounds; round += 1) {
      const idle = knownTat === undefined || knownTat <= now;
      const result = idle
        ? await this.#update(portal, {
            update: 'SET tat = :next',
            condition: 'attribute_not_exists(tat) OR tat <= :now',
            values: { ':next': { N: String(now + step.intervalMs) }, ':now': { N: String(now) } },
          })
        : await this.#update(portal, {
            update: 'SET tat = tat + :interval',
            condition: 'tat > :now AND tat <= :limit',
            values: { ':interval': { N: String(step.intervalMs) }, ':now': { N: String(now) }, ':limit': { N: String(limit) } },
          });
      const tat = tatOf(result.item);
      if (tat !== undefined) this.#lastTat.set(portal, tat);
      if (result.ok && tat !== undefined) {
        const previous = tat - step.intervalMs;
        return { kind: 'reserved', startAt: Math.max(now, previous - step.toleranceMs), pauses: pausesOf(result.item) };
      }
      if (tat !== undefined && tat > limit) return { kind: 'full', tat, pauses: pausesOf(result.item) };
      knownTat = tat;
    }
    throw new PortalBudgetStoreError({ portal, what: `no slot after ${this.#maxRounds} contended conditional writes` });
  }

  async pause(portal: string, method: string, until: number): Promise<void> {
    await this.#update(portal, {
      update: 'SET #pause = :until',
      condition: 'attribute_not_exists(#pause) OR #pause < :until',
      names: { '#pause': `${PAUSE_PREFIX}${method}` },
      values: { ':until': { N: String(until) } },
    });
    // A failed condition: a later pause is already recorded.
  }
}
