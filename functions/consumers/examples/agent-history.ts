// Per-dialog conversation history of the agent example: a small port, in
// memory for tests and DynamoDB for Lambda.
//
// One item per dialog on the idempotency table (the table a consumer may
// write; IDEMPOTENCY_TABLE: key `id`, TTL `expiration` in epoch seconds):
//   id `agent-history#<sourceId>#<botId>#<dialogId>`, turns (JSON, oldest first,
//   at most maxTurns), version (number), expiration (TTL, refreshed on each write).
// Ordered per chat: a chat's events share one FIFO message group, so its
// messages are handled one at a time, in order. /reset arrives on another queue
// with per-type routing, so every write is conditional on the version it read
// (optimistic locking) and retried from a fresh read on a conflict: no turn is
// lost to a concurrent reset, and a reset is never undone by a late append.
import { ConditionalCheckFailedException, type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { IDEMPOTENCY_TABLE } from '../../shared/topology.js';

export interface Turn {
  readonly role: 'user' | 'assistant';
  readonly text: string;
}

export interface ConversationHistory {
  /** The dialog's turns, oldest first. */
  load(dialogKey: string): Promise<readonly Turn[]>;
  /** Adds turns at the end, keeping the newest maxTurns. */
  append(dialogKey: string, turns: readonly Turn[]): Promise<void>;
  /** Forgets the dialog (`/reset`). */
  reset(dialogKey: string): Promise<void>;
}

export function dialogKey(sourceId: string, botId: number, dialogId: string): string {
  return `${sourceId}#${botId}#${dialogId}`;
}

export const AGENT_HISTORY_KEY_PREFIX = 'agent-history#';

/** One process only (tests, local runs). */
export class InMemoryConversationHistory implements ConversationHistory {
  readonly #dialogs = new Map<string, Turn[]>();
  constructor(private readonly maxTurns = 20) {}
  load(key: string): Promise<readonly Turn[]> {
    return Promise.resolve([...(this.#dialogs.get(key) ?? [])]);
  }
  append(key: string, turns: readonly Turn[]): Promise<void> {
    this.#dialogs.set(key, [...(this.#dialogs.get(key) ?? []), ...turns].slice(-this.maxTurns));
    return Promise.resolve();
  }
  reset(key: string): Promise<void> {
    this.#dialogs.delete(key);
    return Promise.resolve();
  }
}

export interface DynamoDbConversationHistoryOptions {
  readonly client: DynamoDBClient;
  /** The pipeline's idempotency table (IDEMPOTENCY_TABLE_NAME). */
  readonly tableName: string;
  /** Turns kept per dialog (user and assistant each count). @default 20 */
  readonly maxTurns?: number;
  /** Seconds a quiet dialog is kept. @default 604800 (7 days) */
  readonly ttlSeconds?: number;
  /** ms epoch clock. @default Date.now */
  readonly now?: () => number;
}

interface Stored {
  readonly turns: Turn[];
  readonly version: number | undefined;
}

export class DynamoDbConversationHistory implements ConversationHistory {
  readonly #options: Required<Omit<DynamoDbConversationHistoryOptions, 'client' | 'tableName'>> & Pick<DynamoDbConversationHistoryOptions, 'client' | 'tableName'>;

  constructor(options: DynamoDbConversationHistoryOptions) {
    this.#options = { maxTurns: 20, ttlSeconds: 7 * 24 * 60 * 60, now: Date.now, ...options };
  }

  async load(key: string): Promise<readonly Turn[]> {
    return (await this.#read(key)).turns;
  }

  async append(key: string, turns: readonly Turn[]): Promise<void> {
    await this.#update(key, (current) => [...current, ...turns].slice(-this.#options.maxTurns));
  }

  async reset(key: string): Promise<void> {
    await this.#update(key, () => []);
  }

  async #read(key: string): Promise<Stored> {
    const { Item } = await this.#options.client.send(
      new GetItemCommand({ TableName: this.#options.tableName, Key: { [IDEMPOTENCY_TABLE.partitionKey]: { S: AGENT_HISTORY_KEY_PREFIX + key } }, ConsistentRead: true }),
    );
    const expiration = Number(Item?.[IDEMPOTENCY_TABLE.timeToLiveAttribute]?.N ?? Number.NaN);
    // TTL deletes lazily: an expired item is an empty history.
    if (Item === undefined || !(expiration > Math.floor(this.#options.now() / 1000))) return { turns: [], version: Item === undefined ? undefined : Number(Item.version?.N ?? 0) };
    const parsed: unknown = JSON.parse(Item.turns?.S ?? '[]');
    const turns = Array.isArray(parsed) ? parsed.filter(isTurn) : [];
    return { turns, version: Number(Item.version?.N ?? 0) };
  }

  /** Read, change, write conditional on the version read; a few tries (a /reset racing a message). */
  async #update(key: string, change: (turns: readonly Turn[]) => Turn[]): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const { turns, version } = await this.#read(key);
      const nowSeconds = Math.floor(this.#options.now() / 1000);
      try {
        await this.#options.client.send(
          new PutItemCommand({
            TableName: this.#options.tableName,
            Item: {
              [IDEMPOTENCY_TABLE.partitionKey]: { S: AGENT_HISTORY_KEY_PREFIX + key },
              turns: { S: JSON.stringify(change(turns)) },
              version: { N: String((version ?? 0) + 1) },
              [IDEMPOTENCY_TABLE.timeToLiveAttribute]: { N: String(nowSeconds + this.#options.ttlSeconds) },
            },
            ...(version === undefined
              ? { ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': IDEMPOTENCY_TABLE.partitionKey } }
              : { ConditionExpression: 'version = :version', ExpressionAttributeValues: { ':version': { N: String(version) } } }),
          }),
        );
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) || attempt >= 5) throw error;
      }
    }
  }
}

function isTurn(value: unknown): value is Turn {
  if (typeof value !== 'object' || value === null) return false;
  const turn = value as Record<string, unknown>;
  return (turn.role === 'user' || turn.role === 'assistant') && typeof turn.text === 'string';
}
