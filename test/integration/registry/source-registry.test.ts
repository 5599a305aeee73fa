// The SourceRegistry contract, run against both adapters: DynamoDB (on DynamoDB
// Local, the registry table's layout) and in memory. Then what only DynamoDB
// has: paginated listing, repeated writes after a lost answer, corrupt items.
import { CreateTableCommand, DeleteTableCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CorruptRegistryItemError,
  DynamoDbSourceRegistry,
  InMemorySourceRegistry,
  InvalidSourceError,
  REGISTRY_TABLE,
  RegistryStoreError,
  SourceNotFoundError,
  type SourceRegistry,
  SourceVersionConflictError,
} from '../../../functions/registry/index.js';
import { type SourceConfig, type SourceConfigInput, parseSourceConfig } from '../../../functions/shared/config.js';
import { rigClients, uniqueName } from '../../setup/rig.js';

const { dynamoDb } = rigClients();
const tableName = uniqueName('registry');
const NOW = Date.UTC(2026, 11, 3, 9, 0, 0);

beforeAll(async () => {
  await dynamoDb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: REGISTRY_TABLE.partitionKey, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: REGISTRY_TABLE.partitionKey, KeyType: 'HASH' }],
    }),
  );
});

afterAll(async () => {
  await dynamoDb.send(new DeleteTableCommand({ TableName: tableName }));
});

let counter = 0;
/** A fresh source id per test, so the shared table needs no cleanup. */
function freshId(stem: string): string {
  counter += 1;
  return `${stem}-${counter}-${Math.random().toString(36).slice(2, 6)}`;
}

function source(input: Partial<SourceConfigInput> & { id: string }): SourceConfig {
  return parseSourceConfig({ kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook', ...input });
}

const secretRef = (id: string) => ({ kind: 'secret', secretName: `b24/sources/${id}` }) as const;

const adapters: ReadonlyArray<readonly [string, () => SourceRegistry]> = [
  ['DynamoDbSourceRegistry', () => new DynamoDbSourceRegistry({ client: dynamoDb, tableName, now: () => NOW })],
  ['InMemorySourceRegistry', () => new InMemorySourceRegistry({ now: () => NOW })],
];

describe.each(adapters)('%s (the SourceRegistry contract)', (_name, create) => {
  it('creates a source at version 1 with the config defaults filled, and get returns it', async () => {
    const registry = create();
    const id = freshId('helpdesk');
    const created = await registry.put(source({ id }), { credentials: secretRef(id), origin: 'cli', expectedVersion: 0 });
    expect(created).toEqual({
      config: source({ id }),
      credentials: secretRef(id),
      origin: 'cli',
      version: 1,
      updatedAt: new Date(NOW).toISOString(),
    });
    expect(created.config).toMatchObject({ mode: 'continuous', pageLimit: 1000, enabled: true });
    expect(await registry.get(id)).toEqual(created);
    expect(await registry.get(freshId('absent'))).toBeUndefined();
  });

  it('refuses a create over an existing source and an update on a stale version, leaving the stored source as it was', async () => {
    const registry = create();
    const id = freshId('conflict');
    await registry.put(source({ id }), { credentials: secretRef(id), origin: 'cli', expectedVersion: 0 });
    const again = registry.put(source({ id, portal: 'other.bitrix24.com' }), { credentials: secretRef(id), origin: 'cli', expectedVersion: 0 });
    await expect(again).rejects.toBeInstanceOf(SourceVersionConflictError);
    await expect(again).rejects.toMatchObject({ expectedVersion: 0, actualVersion: 1 });
    const updated = await registry.put(source({ id, portal: 'other.bitrix24.com' }), { credentials: secretRef(id), origin: 'cli', expectedVersion: 1 });
    expect(updated.version).toBe(2);
    await expect(registry.put(source({ id, pageLimit: 10 }), { credentials: secretRef(id), origin: 'cli', expectedVersion: 1 })).rejects.toMatchObject({
      name: 'SourceVersionConflictError',
      actualVersion: 2,
    });
    expect((await registry.get(id))?.config).toMatchObject({ portal: 'other.bitrix24.com', pageLimit: 1000 });
    await expect(registry.put(source({ id: freshId('never') }), { credentials: secretRef('x'), origin: 'cli', expectedVersion: 3 })).rejects.toMatchObject({
      actualVersion: 0,
    });
  });

  it('replaces unconditionally without expectedVersion (the config seed), bumping the version', async () => {
    const registry = create();
    const id = freshId('seeded');
    await registry.put(source({ id }), { credentials: secretRef(id), origin: 'config' });
    const replaced = await registry.put(source({ id, mode: 'per-schedule' }), { credentials: secretRef(id), origin: 'config' });
    expect(replaced).toMatchObject({ version: 2, origin: 'config', config: { mode: 'per-schedule' } });
  });

  it('validates as strictly as the config: bad id, unknown key, bot without botId, mismatched secret, app-install without oauth', async () => {
    const registry = create();
    const id = freshId('invalid');
    const put = (config: unknown, credentials: Parameters<SourceRegistry['put']>[1]['credentials'] = secretRef(id)) =>
      registry.put(config as SourceConfig, { credentials, origin: 'cli' });
    await expect(put({ id: 'Bad_Id', kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook' })).rejects.toThrow(/id: use lower-case letters/);
    await expect(put({ id, kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook', pageLimt: 5 })).rejects.toThrow(/did you mean "pageLimit"/);
    await expect(put({ id, kind: 'bot', portal: 'example.bitrix24.com', auth: 'webhook' })).rejects.toThrow(/botId: required for kind "bot"/);
    await expect(put({ ...source({ id }), secretName: 'elsewhere' })).rejects.toThrow(/differs from the credentials' secret/);
    await expect(put(source({ id }), { kind: 'app-install', memberId: 'abc123' })).rejects.toThrow(/set auth to "oauth"/);
    await expect(put(source({ id }), { kind: 'secret', secretName: '' })).rejects.toBeInstanceOf(InvalidSourceError);
    expect(await registry.get(id)).toBeUndefined();
    const installed = await put(source({ id, auth: 'oauth' }), { kind: 'app-install', memberId: 'abc123' });
    expect(installed.credentials).toEqual({ kind: 'app-install', memberId: 'abc123' });
  });

  it('enables and disables atomically, keeping the rest of the config; an unknown source is SourceNotFoundError', async () => {
    const registry = create();
    const id = freshId('toggle');
    await registry.put(source({ id, kind: 'bot', botId: 7, withUserEvents: true }), { credentials: secretRef(id), origin: 'cli' });
    const disabled = await registry.setEnabled(id, false);
    expect(disabled).toMatchObject({ version: 2, config: { enabled: false, botId: 7, withUserEvents: true } });
    expect((await registry.get(id))?.config.enabled).toBe(false);
    expect((await registry.setEnabled(id, true)).config.enabled).toBe(true);
    await expect(registry.setEnabled(freshId('ghost'), false)).rejects.toBeInstanceOf(SourceNotFoundError);
  });

  it('removes a source (twice is fine) and lists the rest, enabled or not, ordered by id', async () => {
    const registry = create();
    const stem = freshId('list');
    const ids = [`${stem}-c`, `${stem}-a`, `${stem}-b`];
    for (const id of ids) await registry.put(source({ id }), { credentials: secretRef(id), origin: 'cli' });
    await registry.setEnabled(`${stem}-b`, false);
    await registry.remove(`${stem}-c`);
    await registry.remove(`${stem}-c`);
    expect(await registry.get(`${stem}-c`)).toBeUndefined();
    const listed = (await registry.list()).filter((s) => s.config.id.startsWith(stem)).map((s) => [s.config.id, s.config.enabled]);
    expect(listed).toEqual([
      [`${stem}-a`, true],
      [`${stem}-b`, false],
    ]);
  });

  it('treats the same registration repeated at its old expectedVersion as the write that already landed (lost answer, SDK retry)', async () => {
    const registry = create();
    const id = freshId('retry');
    const first = await registry.put(source({ id }), { credentials: secretRef(id), origin: 'cli', expectedVersion: 0 });
    const repeated = await registry.put(source({ id }), { credentials: secretRef(id), origin: 'cli', expectedVersion: 0 });
    expect(repeated).toEqual(first);
    await expect(registry.put(source({ id, pageLimit: 5 }), { credentials: secretRef(id), origin: 'cli', expectedVersion: 0 })).rejects.toBeInstanceOf(
      SourceVersionConflictError,
    );
  });
});

describe('DynamoDbSourceRegistry on its table', () => {
  it('lists across Scan pages (25 sources, 7 per page) in id order', async () => {
    const pagedTable = uniqueName('registry-paged');
    await dynamoDb.send(
      new CreateTableCommand({
        TableName: pagedTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    try {
      const registry = new DynamoDbSourceRegistry({ client: dynamoDb, tableName: pagedTable, scanPageSize: 7 });
      const ids = Array.from({ length: 25 }, (_, i) => `paged-${String(i).padStart(2, '0')}`);
      await Promise.all([...ids].reverse().map((id) => registry.put(source({ id, portal: `p${id.slice(-1)}.bitrix24.com` }), { credentials: secretRef(id), origin: 'cli' })));
      expect((await registry.list()).map((s) => s.config.id)).toEqual(ids);
    } finally {
      await dynamoDb.send(new DeleteTableCommand({ TableName: pagedTable }));
    }
  });

  it('stores a credentials reference and projections (portal, kind, enabled), never a credential', async () => {
    const registry = new DynamoDbSourceRegistry({ client: dynamoDb, tableName });
    const id = freshId('layout');
    await registry.put(source({ id, kind: 'bot', botId: 3 }), { credentials: secretRef(id), origin: 'install' });
    const raw = await dynamoDb.send(
      new UpdateItemCommand({ TableName: tableName, Key: { id: { S: id } }, UpdateExpression: 'SET touched = :t', ExpressionAttributeValues: { ':t': { BOOL: true } }, ReturnValues: 'ALL_NEW' }),
    );
    expect(raw.Attributes).toMatchObject({
      portal: { S: 'example.bitrix24.com' },
      kind: { S: 'bot' },
      enabled: { BOOL: true },
      credentials: { M: { kind: { S: 'secret' }, secretName: { S: `b24/sources/${id}` } } },
      origin: { S: 'install' },
      version: { N: '1' },
    });
    expect(JSON.parse(raw.Attributes?.config?.S ?? '{}')).not.toHaveProperty('enabled');
  });

  it('reports a corrupt item: get throws CorruptRegistryItemError, list skips it through onCorruptItem', async () => {
    const corruptTable = uniqueName('registry-corrupt');
    await dynamoDb.send(
      new CreateTableCommand({
        TableName: corruptTable,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    try {
      const strict = new DynamoDbSourceRegistry({ client: dynamoDb, tableName: corruptTable });
      await strict.put(source({ id: 'good' }), { credentials: secretRef('good'), origin: 'cli' });
      await dynamoDb.send(
        new PutItemCommand({
          TableName: corruptTable,
          Item: {
            id: { S: 'hand-edited' },
            config: { S: JSON.stringify({ id: 'hand-edited', kind: 'user', portal: 'example.bitrix24.com', auth: 'password' }) },
            credentials: { M: { kind: { S: 'secret' }, secretName: { S: 's' } } },
            origin: { S: 'cli' },
            version: { N: '1' },
            updatedAt: { S: new Date(NOW).toISOString() },
          },
        }),
      );
      await expect(strict.get('hand-edited')).rejects.toBeInstanceOf(CorruptRegistryItemError);
      await expect(strict.list()).rejects.toThrow(/hand-edited.*registry item is invalid/s);
      const skipped: string[] = [];
      const tolerant = new DynamoDbSourceRegistry({ client: dynamoDb, tableName: corruptTable, onCorruptItem: (error) => skipped.push(error.sourceId ?? '') });
      expect((await tolerant.list()).map((s) => s.config.id)).toEqual(['good']);
      expect(skipped).toEqual(['hand-edited']);
    } finally {
      await dynamoDb.send(new DeleteTableCommand({ TableName: corruptTable }));
    }
  });

  it('turns a missing table into RegistryStoreError naming the table', async () => {
    const registry = new DynamoDbSourceRegistry({ client: dynamoDb, tableName: uniqueName('registry-missing') });
    const failure = registry.list();
    await expect(failure).rejects.toBeInstanceOf(RegistryStoreError);
    await expect(failure).rejects.toThrow(/registry-missing.*ResourceNotFoundException/);
  });
});
