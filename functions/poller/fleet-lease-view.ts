// Reads the lease fields of many sources' state items at once (BatchGetItem,
// 100 keys a call, eventually consistent: a stale answer only delays a claim,
// the lease's conditional write still decides). Half a read unit per source.
import { BatchGetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { STATE_TABLE } from '../shared/topology.js';
import { sourceStateKey } from './dynamodb-source-state.js';
import { StateStoreError } from './errors.js';
import type { LeaseView } from './fleet-plan.js';

export interface LeaseViewReader {
  /** Lease fields per source id; a source without a state item (never polled) is absent. */
  read(sourceIds: readonly string[]): Promise<ReadonlyMap<string, LeaseView>>;
}

const BATCH = 100;

export class DynamoDbLeaseViewReader implements LeaseViewReader {
  constructor(private readonly options: { readonly client: DynamoDBClient; readonly tableName: string; readonly maxRounds?: number }) {}

  async read(sourceIds: readonly string[]): Promise<ReadonlyMap<string, LeaseView>> {
    const views = new Map<string, LeaseView>();
    for (let i = 0; i < sourceIds.length; i += BATCH) {
      let keys: Array<Record<string, AttributeValue>> = sourceIds.slice(i, i + BATCH).map((id) => ({ [STATE_TABLE.partitionKey]: { S: sourceStateKey(id) } }));
      for (let round = 0; keys.length > 0; round += 1) {
        if (round >= (this.options.maxRounds ?? 5)) throw new StateStoreError(`Reading ${keys.length} source state items from ${this.options.tableName} left keys unprocessed after ${round} rounds.`);
        let answer;
        try {
          answer = await this.options.client.send(
            new BatchGetItemCommand({
              RequestItems: {
                [this.options.tableName]: {
                  Keys: keys,
                  ProjectionExpression: '#pk, leaseOwner, leaseExpiresAt, leaseReleasedAt, lastCommittedAt',
                  ExpressionAttributeNames: { '#pk': STATE_TABLE.partitionKey },
                },
              },
            }),
          );
        } catch (error) {
          throw new StateStoreError(`Reading source state items from ${this.options.tableName} failed (${error instanceof Error ? error.name : 'unknown error'}).`, { cause: error });
        }
        for (const item of answer.Responses?.[this.options.tableName] ?? []) {
          const pk = item[STATE_TABLE.partitionKey]?.S;
          if (pk === undefined || !pk.startsWith('source#')) continue;
          const num = (name: string): number | undefined => (item[name]?.N === undefined ? undefined : Number(item[name].N));
          const owner = item.leaseOwner?.S;
          const expiresAt = num('leaseExpiresAt');
          const releasedAt = num('leaseReleasedAt');
          const lastCommittedAt = num('lastCommittedAt');
          views.set(pk.slice('source#'.length), {
            ...(owner === undefined ? {} : { owner }),
            ...(expiresAt === undefined ? {} : { expiresAt }),
            ...(releasedAt === undefined ? {} : { releasedAt }),
            ...(lastCommittedAt === undefined ? {} : { lastCommittedAt }),
          });
        }
        keys = answer.UnprocessedKeys?.[this.options.tableName]?.Keys ?? [];
      }
    }
    return views;
  }
}
