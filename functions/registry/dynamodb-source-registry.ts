// The source registry in DynamoDB (registry-table.ts): one item per source,
// every change a conditional UpdateItem that bumps `version`.
//
//   absent ──put(expectedVersion 0 | none)──→ v1
//   vN     ──put(expectedVersion N | none)──→ vN+1        put(expectedVersion ≠ N) → SourceVersionConflictError
//   vN     ──setEnabled──→ vN+1  (atomic: `enabled` is its own attribute)
//   vN     ──remove──→ absent    (idempotent)
//
// A failed condition returns the stored item (ReturnValuesOnConditionCheckFailure);
// when it already holds exactly our registration at expectedVersion + 1, our
// first attempt landed and its answer was lost (the SDK retried): a success.
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import type { SourceConfig } from '../shared/config.js';
import { CorruptRegistryItemError, RegistryStoreError, SourceNotFoundError, SourceVersionConflictError } from './errors.js';
import { REGISTRY_TABLE } from './registry-table.js';
import { itemAttributes, sameRegistration, sourceFromItem, validateRegistration } from './registered-source.js';
import type { PutSourceOptions, RegisteredSource, SourceRegistry } from './source-registry.js';

export interface DynamoDbSourceRegistryOptions {
  readonly client: DynamoDBClient;
  /** The registry table (registryTableName(prefix)). */
  readonly tableName: string;
  /** @default Date.now */
  readonly now?: () => number;
  /** Strongly consistent reads (read-after-write for the CLI; 2× the read units). @default true */
  readonly consistentRead?: boolean;
  /**
   * Called for an item of `list()` that does not validate; the item is skipped so one bad item cannot stop
   * every shard. @default none: list() throws CorruptRegistryItemError
   */
  readonly onCorruptItem?: (error: CorruptRegistryItemError) => void;
  /** Items per Scan page of list(); DynamoDB's own page is ≤ 1 MB (≈ 2500 sources). @default no limit */
  readonly scanPageSize?: number;
}

type Item = Record<string, AttributeValue>;

export class DynamoDbSourceRegistry implements SourceRegistry {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #now: () => number;
  readonly #consistentRead: boolean;
  readonly #onCorruptItem: ((error: CorruptRegistryItemError) => void) | undefined;
  readonly #scanPageSize: number | undefined;

  constructor(options: DynamoDbSourceRegistryOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#now = options.now ?? Date.now;
    this.#consistentRead = options.consistentRead ?? true;
    this.#onCorruptItem = options.onCorruptItem;
    this.#scanPageSize = options.scanPageSize;
  }

  #key(sourceId: string): Item {
    return { [REGISTRY_TABLE.partitionKey]: { S: sourceId } };
  }

  #storeError(what: string, sourceId: string | undefined, error: unknown): RegistryStoreError {
    const name = error instanceof Error ? error.name : 'unknown error';
    return new RegistryStoreError(`Source registry: ${what} on table ${this.#tableName} failed (${name}); check the table exists and this role may use it.`, sourceId, { cause: error });
  }

  async get(sourceId: string): Promise<RegisteredSource | undefined> {
    let item: Item | undefined;
    try {
      const result = await this.#client.send(new GetItemCommand({ TableName: this.#tableName, Key: this.#key(sourceId), ConsistentRead: this.#consistentRead }));
      item = result.Item;
    } catch (error) {
      throw this.#storeError(`reading source "${sourceId}"`, sourceId, error);
    }
    return item === undefined ? undefined : sourceFromItem(item);
  }

  async list(): Promise<readonly RegisteredSource[]> {
    const sources: RegisteredSource[] = [];
    let startKey: Item | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ScanCommand({
            TableName: this.#tableName,
            ConsistentRead: this.#consistentRead,
            ...(this.#scanPageSize === undefined ? {} : { Limit: this.#scanPageSize }),
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        );
      } catch (error) {
        throw this.#storeError('listing the sources', undefined, error);
      }
      for (const item of page.Items ?? []) {
        try {
          sources.push(sourceFromItem(item));
        } catch (error) {
          if (!(error instanceof CorruptRegistryItemError) || this.#onCorruptItem === undefined) throw error;
          this.#onCorruptItem(error);
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return sources.sort((a, b) => (a.config.id < b.config.id ? -1 : a.config.id > b.config.id ? 1 : 0));
  }

  async put(config: SourceConfig, options: PutSourceOptions): Promise<RegisteredSource> {
    const registration = validateRegistration(config, options.credentials, options.origin);
    const sourceId = registration.config.id;
    const attributes = itemAttributes(registration, options.origin);
    const names = Object.keys(attributes);
    const values: Item = {
      ...Object.fromEntries(names.map((name) => [`:${name}`, attributes[name] ?? { NULL: true }])),
      ':updatedAt': { S: new Date(this.#now()).toISOString() },
      ':zero': { N: '0' },
      ':one': { N: '1' },
    };
    let condition: string | undefined;
    if (options.expectedVersion === 0) condition = 'attribute_not_exists(#id)';
    else if (options.expectedVersion !== undefined) {
      condition = '#version = :expected';
      values[':expected'] = { N: String(options.expectedVersion) };
    }
    const attributeNames: Record<string, string> = { '#version': 'version', '#updatedAt': 'updatedAt', ...Object.fromEntries(names.map((name) => [`#${name}`, name])) };
    if (condition?.includes('#id') === true) attributeNames['#id'] = REGISTRY_TABLE.partitionKey;
    try {
      const result = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: this.#key(sourceId),
          UpdateExpression: `SET ${names.map((name) => `#${name} = :${name}`).join(', ')}, #updatedAt = :updatedAt, #version = if_not_exists(#version, :zero) + :one`,
          ...(condition === undefined ? {} : { ConditionExpression: condition }),
          ExpressionAttributeNames: attributeNames,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      if (result.Attributes === undefined) throw new RegistryStoreError(`Source registry: writing source "${sourceId}" returned no item.`, sourceId);
      return sourceFromItem(result.Attributes);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        if (error instanceof RegistryStoreError || error instanceof CorruptRegistryItemError) throw error;
        throw this.#storeError(`writing source "${sourceId}"`, sourceId, error);
      }
      const stored = error.Item === undefined ? undefined : sourceFromItem(error.Item);
      const expected = options.expectedVersion ?? 0;
      if (stored !== undefined && stored.version === expected + 1 && sameRegistration(stored, registration, options.origin)) return stored;
      throw new SourceVersionConflictError({ sourceId, expectedVersion: expected, actualVersion: stored?.version ?? 0 }, { cause: error });
    }
  }

  async setEnabled(sourceId: string, enabled: boolean): Promise<RegisteredSource> {
    try {
      const result = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: this.#key(sourceId),
          UpdateExpression: 'SET #enabled = :enabled, #updatedAt = :updatedAt, #version = #version + :one',
          ConditionExpression: 'attribute_exists(#id)',
          ExpressionAttributeNames: { '#enabled': 'enabled', '#updatedAt': 'updatedAt', '#version': 'version', '#id': REGISTRY_TABLE.partitionKey },
          ExpressionAttributeValues: { ':enabled': { BOOL: enabled }, ':updatedAt': { S: new Date(this.#now()).toISOString() }, ':one': { N: '1' } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (result.Attributes === undefined) throw new RegistryStoreError(`Source registry: updating source "${sourceId}" returned no item.`, sourceId);
      return sourceFromItem(result.Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new SourceNotFoundError(sourceId, { cause: error });
      if (error instanceof RegistryStoreError || error instanceof CorruptRegistryItemError) throw error;
      throw this.#storeError(`${enabled ? 'enabling' : 'disabling'} source "${sourceId}"`, sourceId, error);
    }
  }

  async remove(sourceId: string): Promise<void> {
    try {
      await this.#client.send(new DeleteItemCommand({ TableName: this.#tableName, Key: this.#key(sourceId) }));
    } catch (error) {
      throw this.#storeError(`removing source "${sourceId}"`, sourceId, error);
    }
  }
}
