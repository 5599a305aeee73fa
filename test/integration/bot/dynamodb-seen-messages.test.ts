// DynamoDbSeenMessages against DynamoDB Local, on a table with the state table's layout.
import { DeleteTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbSeenMessages, SEEN_MESSAGE_KEY_PREFIX } from '../../../functions/bot/dynamodb-seen-messages.js';
import { SeenMessagesStoreError } from '../../../functions/bot/errors.js';
import { seenMessageKey } from '../../../functions/bot/seen-messages.js';
import { rigClients, uniqueName } from '../../setup/rig.js';
import { createStateTable } from '../bitrix24/harness.js';

const { dynamoDb } = rigClients();
const tableName = uniqueName('bot-seen');

beforeAll(async () => {
  await createStateTable(dynamoDb, tableName);
});

afterAll(async () => {
  await dynamoDb.send(new DeleteTableCommand({ TableName: tableName }));
});

describe('DynamoDbSeenMessages', () => {
  it('remembers a message once: the first remember is true, later ones false, and has() sees it from another instance', async () => {
    const key = seenMessageKey('support-bot', 99, 1001);
    const first = new DynamoDbSeenMessages({ client: dynamoDb, tableName });
    const second = new DynamoDbSeenMessages({ client: dynamoDb, tableName });
    expect(await second.has(key)).toBe(false);
    expect(await first.remember(key)).toBe(true);
    expect(await second.has(key)).toBe(true);
    expect(await second.remember(key)).toBe(false);
    expect(await first.has(seenMessageKey('support-bot', 99, 1002))).toBe(false);
  });

  it('writes the TTL attribute expiresAt in epoch seconds, ttlSeconds ahead', async () => {
    const now = Date.UTC(2026, 0, 1);
    const store = new DynamoDbSeenMessages({ client: dynamoDb, tableName, ttlSeconds: 3600, now: () => now });
    const key = seenMessageKey('support-bot', 99, 2001);
    await store.remember(key);
    const item = await dynamoDb.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: SEEN_MESSAGE_KEY_PREFIX + key } } }));
    expect(item.Item?.expiresAt?.N).toBe(String(now / 1000 + 3600));
  });

  it('treats an expired mark as absent, before the TTL sweep deletes it, and can remember it again', async () => {
    let now = Date.UTC(2026, 0, 1);
    const store = new DynamoDbSeenMessages({ client: dynamoDb, tableName, ttlSeconds: 60, now: () => now });
    const key = seenMessageKey('support-bot', 99, 3001);
    expect(await store.remember(key)).toBe(true);
    now += 61_000;
    expect(await store.has(key)).toBe(false);
    expect(await store.remember(key)).toBe(true);
    expect(await store.has(key)).toBe(true);
  });

  it('turns a store failure into SeenMessagesStoreError naming the table', async () => {
    const store = new DynamoDbSeenMessages({ client: dynamoDb, tableName: uniqueName('missing') });
    await expect(store.has('x')).rejects.toBeInstanceOf(SeenMessagesStoreError);
    await expect(store.remember('x')).rejects.toThrow(/could not record message x as handled in table missing-/);
  });
});
