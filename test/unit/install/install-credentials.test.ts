// The credentials of an installed source (install-credentials.ts) with fakes:
// built from the install record and the app secret, on the record's own token
// chain; versioned by what they were built from; an uninstalled portal is
// AppNotInstalledError (when built, and when a live chain is gone), which the
// poller's policy stops on. The chain's save touches only the attributes the
// consumers' IAM condition lists.
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbTokenStore, UNSEEDED_TOKEN_ATTRIBUTES } from '../../../functions/bitrix24/dynamodb-token-store.js';
import type { Bitrix24Client } from '../../../functions/bitrix24/client.js';
import { NoAuthFoundError, ServerError } from '../../../functions/bitrix24/errors.js';
import type { SecretReader } from '../../../functions/bitrix24/secret-reader.js';
import { AppNotInstalledError, InstallConfigError } from '../../../functions/install/errors.js';
import { defaultAppSecretName, explainingUninstall, installedCredentialsFactory } from '../../../functions/install/install-credentials.js';
import { type AppInstallRecord, InMemoryInstallStore, appInstallItemKey } from '../../../functions/install/install-store.js';
import { classifyFailure } from '../../../functions/poller/error-policy.js';

const APP = { clientId: 'app.123', clientSecret: 'client-secret-value-1' };
const TOKENS = { accessToken: 'access-token-value-1', refreshToken: 'refresh-token-value-1', expiresAt: 2_000_000_000_000 };

function record(memberId: string, overrides: Partial<AppInstallRecord> = {}): AppInstallRecord {
  return {
    memberId,
    portal: 'example.bitrix24.com',
    clientEndpoint: 'https://example.bitrix24.com/rest/',
    oauthTokenUrl: 'https://oauth.bitrix.info/oauth/token/',
    applicationTokenHash: 'a'.repeat(64),
    state: 'installed',
    botId: 7,
    sourceIds: [`${memberId}-bot`],
    installedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function secrets(values: Map<string, string>): SecretReader & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    read: (name) => {
      reads.push(name);
      const value = values.get(name);
      return value === undefined ? Promise.reject(new Error(`no secret ${name}`)) : Promise.resolve(value);
    },
    invalidate: () => undefined,
  };
}

describe('installedCredentialsFactory', () => {
  it('builds OAuth credentials from the record and the app secret, on the record\'s token chain', async () => {
    const store = new InMemoryInstallStore();
    await store.create(record('m1'), TOKENS);
    const reader = secrets(new Map([['b24/app', JSON.stringify(APP)]]));
    const installed = installedCredentialsFactory({ store, secrets: reader, appSecretName: defaultAppSecretName('b24') });

    const found = await installed('m1');

    expect(found.portal).toBe('example.bitrix24.com');
    expect(found.credentials).toMatchObject({ kind: 'oauth', clientEndpoint: 'https://example.bitrix24.com/rest/', clientId: 'app.123', clientSecret: 'client-secret-value-1', oauthTokenUrl: 'https://oauth.bitrix.info/oauth/token/' });
    if (found.credentials.kind !== 'oauth') return;
    expect(await found.credentials.tokenStore.load()).toEqual(TOKENS);
    const next = { accessToken: 'access-2', refreshToken: 'refresh-2', expiresAt: TOKENS.expiresAt + 1 };
    await found.credentials.tokenStore.save(next, TOKENS);
    expect(await store.tokensOf('m1')).toEqual(next); // one chain per portal: the install's
    expect(reader.reads).toEqual(['b24/app']);
    expect(found.version).not.toContain(APP.clientSecret);
  });

  it('versions the credentials by the endpoints and the app secret (a cache keeps its client while neither changes)', async () => {
    const store = new InMemoryInstallStore();
    await store.create(record('m1'), TOKENS);
    const values = new Map([['b24/app', JSON.stringify(APP)]]);
    const installed = installedCredentialsFactory({ store, secrets: secrets(values), appSecretName: 'b24/app' });

    const first = (await installed('m1')).version;
    const same = (await installed('m1')).version;
    values.set('b24/app', JSON.stringify({ ...APP, clientSecret: 'rotated-secret' }));
    const rotated = (await installed('m1')).version;

    expect(same).toBe(first);
    expect(rotated).not.toBe(first);
  });

  it('an uninstalled portal is AppNotInstalledError when built and when a live chain is gone; the poller stops on it', async () => {
    const store = new InMemoryInstallStore();
    await store.create(record('m1'), TOKENS);
    const installed = installedCredentialsFactory({ store, secrets: secrets(new Map([['b24/app', JSON.stringify(APP)]])), appSecretName: 'b24/app' });
    const live = await installed('m1');
    await store.remove('m1', 'a'.repeat(64));

    await expect(installed('m1')).rejects.toBeInstanceOf(AppNotInstalledError);
    if (live.credentials.kind !== 'oauth') return;
    const error = await live.credentials.tokenStore.load().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppNotInstalledError);
    expect(classifyFailure(error)).toEqual({ action: 'stop', code: 'APP_NOT_INSTALLED', authFailure: false });
    expect(String((error as Error).message)).toMatch(/not installed on the portal of member m1 .*until the app is installed again/);
  });

  it('a malformed app secret is InstallConfigError naming the field, never the value', async () => {
    const store = new InMemoryInstallStore();
    await store.create(record('m1'), TOKENS);
    const installed = installedCredentialsFactory({ store, secrets: secrets(new Map([['b24/app', JSON.stringify({ clientId: 'app.123', clientSecret: '' })]])), appSecretName: 'b24/app' });

    const error = await installed('m1').catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(InstallConfigError);
    expect((error as Error).message).toMatch(/clientSecret is missing or empty/);
    expect((error as Error).message).not.toContain('app.123');
  });
});

describe('explainingUninstall (the poller\'s client of an installed source)', () => {
  it('a refused call is AppNotInstalledError once the record is gone, the refusal while it exists; other errors pass untouched, unchecked', async () => {
    const store = new InMemoryInstallStore();
    await store.create(record('m1'), TOKENS);
    let checks = 0;
    const factory = installedCredentialsFactory({ store, secrets: secrets(new Map([['b24/app', JSON.stringify(APP)]])), appSecretName: 'b24/app' });
    const installed: typeof factory = async (memberId) => {
      checks += 1;
      return await factory(memberId);
    };
    let next: Error = new NoAuthFoundError({ code: 'NO_AUTH_FOUND', method: 'im.v2.Event.get' });
    const inner = { portal: 'example.bitrix24.com', getEvents: () => Promise.reject(next), close: () => Promise.resolve() } as unknown as Bitrix24Client;
    const client = explainingUninstall(inner, 'm1', installed);

    await expect(client.getEvents({})).rejects.toBeInstanceOf(NoAuthFoundError); // revoked before ONAPPUNINSTALL arrived
    await store.remove('m1', 'a'.repeat(64));
    const uninstalled = await client.getEvents({}).catch((caught: unknown) => caught);
    next = new ServerError({ code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 });
    await expect(client.getEvents({})).rejects.toBeInstanceOf(ServerError);

    expect(uninstalled).toBeInstanceOf(AppNotInstalledError);
    expect(classifyFailure(uninstalled)).toMatchObject({ action: 'stop', code: 'APP_NOT_INSTALLED', authFailure: false });
    expect(checks).toBe(2);
    expect(client.portal).toBe('example.bitrix24.com');
  });
});

describe('the install chain\'s save touches only the attributes of the consumers\' IAM condition', () => {
  it('UpdateItem names pk and UNSEEDED_TOKEN_ATTRIBUTES only, with no ReturnValues', async () => {
    const sent: UpdateItemCommand[] = [];
    const client = { send: (command: UpdateItemCommand) => (sent.push(command), Promise.resolve({})) } as unknown as DynamoDBClient;
    const store = new DynamoDbTokenStore({ client, tableName: 'state', sourceId: 'app-install:m1', itemKey: appInstallItemKey('m1') });

    await store.save({ accessToken: 'a2', refreshToken: 'r2', expiresAt: 1 }, TOKENS);
    await store.save({ accessToken: 'a3', refreshToken: 'r3', expiresAt: 2 }, undefined);

    for (const command of sent) {
      expect(command).toBeInstanceOf(UpdateItemCommand);
      const { UpdateExpression, ConditionExpression, ReturnValues, Key } = command.input;
      // Every identifier of both expressions that is not a :value or a keyword/function is an attribute name.
      const words = [...`${UpdateExpression ?? ''} ${ConditionExpression ?? ''}`.matchAll(/(?<![:\w])[A-Za-z_]\w*/g)].map((m) => m[0]);
      const names = new Set(words.filter((word) => !['SET', 'ADD', 'AND', 'OR', 'NOT', 'attribute_not_exists', 'attribute_exists', 'contains'].includes(word)));
      expect([...names].filter((name) => name !== 'pk' && !(UNSEEDED_TOKEN_ATTRIBUTES as readonly string[]).includes(name))).toEqual([]);
      expect(names.has('accessToken') && names.has('refreshToken')).toBe(true);
      expect(ReturnValues).toBeUndefined();
      expect(Key).toEqual({ pk: { S: 'app-install#m1' } });
    }
    expect(sent).toHaveLength(2);
  });
});
