// ctx.bitrix24 finds its source in the registry (issue 13 §1), not in SOURCES:
// a source registered at run time is called through real HTTP to the
// simulator, with the registry on DynamoDB Local; a change of its
// registration (another secret) reaches a warm consumer
// once the cached lookup ages out; an unknown source is refused by name.
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBitrix24Client, createSecretReader, type Bitrix24Credentials } from '../../../functions/bitrix24/index.js';
import { bitrix24ClientFactory, sourceResolver } from '../../../functions/consumers/bitrix24-from-env.js';
import { SourceClientError } from '../../../functions/consumers/errors.js';
import { SourceClients } from '../../../functions/consumers/source-clients.js';
import { AppNotInstalledError } from '../../../functions/install/errors.js';
import { provisionLocalPipeline, type ProvisionedPipeline } from '../../../functions/local/provision.js';
import { CachedSourceLookup } from '../../../functions/registry/cached-source-lookup.js';
import { DynamoDbSourceRegistry } from '../../../functions/registry/dynamodb-source-registry.js';
import { parseSourceConfig } from '../../../functions/shared/config.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { rigClients, uniqueName } from '../../setup/rig.js';

const aws = rigClients();
let sim: PortalSimulator;
let pipeline: ProvisionedPipeline;
let clock = 1_750_000_000_000;
const secretStore = new Map<string, string>();
const secretFetches: string[] = [];

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false, now: () => clock });
  pipeline = await provisionLocalPipeline({ prefix: uniqueName('lookup'), dynamoDb: aws.dynamoDb, sqs: aws.sqs, s3: aws.s3 });
});

afterAll(async () => {
  await sim.stop();
  for (const table of [pipeline.stateTableName, pipeline.idempotencyTableName, pipeline.registryTableName]) {
    await aws.dynamoDb.send(new DeleteTableCommand({ TableName: table }));
  }
});

function warmConsumer(lookupMaxAgeMs: number) {
  const lookup = new CachedSourceLookup({
    registry: new DynamoDbSourceRegistry({ client: aws.dynamoDb, tableName: pipeline.registryTableName }),
    maxAgeMs: lookupMaxAgeMs,
    now: () => clock,
  });
  const factory = bitrix24ClientFactory({
    sources: [],
    prefix: pipeline.prefix,
    stateTableName: pipeline.stateTableName,
    dynamoDb: () => aws.dynamoDb,
    resolveSource: sourceResolver({ sources: [], prefix: pipeline.prefix, registryTableName: pipeline.registryTableName, dynamoDb: () => aws.dynamoDb, lookup }),
    secrets: createSecretReader({
      maxAgeMs: 1,
      now: () => clock,
      fetch: (name) => {
        secretFetches.push(name);
        const value = secretStore.get(name);
        return value === undefined ? Promise.reject(new Error(`no secret ${name}`)) : Promise.resolve(value);
      },
    }),
    createClient: (credentials: Bitrix24Credentials) => createBitrix24Client({ credentials, now: () => clock }),
  });
  return new SourceClients(factory);
}

describe('consumers look their source up in the registry', () => {
  it('calls Bitrix24 as a source registered at run time, and follows a changed registration within the lookup age', async () => {
    const registry = new DynamoDbSourceRegistry({ client: aws.dynamoDb, tableName: pipeline.registryTableName });
    const first = `${pipeline.prefix}/sources/runtime-a`;
    const second = `${pipeline.prefix}/sources/runtime-a-v2`;
    const alice = sim.addUser({ name: 'Alice A' });
    const bob = sim.addUser({ name: 'Bob B' });
    // Two webhooks of two users: the secret the consumer reads says which registration it follows.
    secretStore.set(first, JSON.stringify({ webhookUrl: sim.createWebhook(alice.id) }));
    secretStore.set(second, JSON.stringify({ webhookUrl: sim.createWebhook(bob.id) }));
    const config = parseSourceConfig({ id: 'runtime-a', kind: 'user', portal: sim.portalHost, auth: 'webhook' });
    await registry.put(config, { credentials: { kind: 'secret', secretName: first }, origin: 'cli' });

    const consumer = warmConsumer(60_000).callerFor('runtime-a', sim.portalHost, () => clock + 60_000);
    const call = async (): Promise<string | undefined> => {
      secretFetches.length = 0;
      expect(typeof (await consumer.call<string>('server.time')).result).toBe('string');
      return secretFetches.at(-1);
    };
    expect(await call()).toBe(first);

    await registry.put(config, { credentials: { kind: 'secret', secretName: second }, origin: 'cli' });
    // Within the lookup's age the warm consumer keeps the registration it read.
    clock += 2;
    expect(await call()).toBe(first);
    clock += 61_000;
    expect(await call()).toBe(second);
  });

  it('refuses an unregistered source by name, and an app-install source whose portal has no install record with that reason', async () => {
    const clients = warmConsumer(60_000);
    const unknown = clients.clientFor('never-registered');
    await expect(unknown).rejects.toBeInstanceOf(SourceClientError);
    await expect(unknown).rejects.toThrow(/"never-registered" is not registered.*sources add/);
    const registry = new DynamoDbSourceRegistry({ client: aws.dynamoDb, tableName: pipeline.registryTableName });
    await registry.put(parseSourceConfig({ id: 'installed', kind: 'bot', botId: 5, portal: sim.portalHost, auth: 'oauth' }), {
      credentials: { kind: 'app-install', memberId: 'member-1' },
      origin: 'install',
    });
    // Served by default now (docs/install.md); with no install record the call says the app is not installed.
    const installed = await clients.clientFor('installed');
    await expect(installed.call('server.time')).rejects.toBeInstanceOf(AppNotInstalledError);
    await expect(installed.call('server.time')).rejects.toThrow(/not installed on the portal of member member-1/);
  });
});
