// Consumers share the portal budget with the poller shards (issue 13 §3): the
// client factory behind ctx.bitrix24 / ctx.reply asks the same DynamoDB bucket
// (budget#<host> in the state table) before each request. Real parts: DynamoDB
// Local holds the bucket, the call goes over HTTP to the simulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbPortalBudgetStore, PortalBudget, PortalBudgetExhaustedError, gcraStep, portalBudgetKey } from '../../../functions/budget/index.js';
import { bitrix24ClientFactory } from '../../../functions/consumers/bitrix24-from-env.js';
import { createLocalDynamoDbClient } from '../../../functions/local/aws-emulators.js';
import { startPortalSimulator, type PortalSimulator } from '../../../functions/simulator/index.js';
import { createStateTable } from '../bitrix24/harness.js';
import { rigEndpoints, uniqueName } from '../../setup/rig.js';

const table = uniqueName('cbudget');
const dynamoDb = createLocalDynamoDbClient(rigEndpoints());
let sim: PortalSimulator;

beforeAll(async () => {
  await createStateTable(dynamoDb, table);
  sim = await startPortalSimulator({});
});

afterAll(async () => {
  await sim.stop();
  dynamoDb.destroy();
});

describe("ctx.bitrix24 takes its slots from the portal's shared bucket", () => {
  it('a consumer call books a slot of budget#<host>, and waits behind what the poller shards booked', async () => {
    const webhookUrl = sim.createWebhook(sim.addUser().id);
    const portal = new URL(webhookUrl).host;
    const budget = new PortalBudget({ store: new DynamoDbPortalBudgetStore({ client: dynamoDb, tableName: table }), rateOf: () => ({ requestsPerSecond: 2, burst: 2 }) });
    const factory = bitrix24ClientFactory({
      sources: [{ id: 'helpdesk', kind: 'user', portal, auth: 'webhook' }],
      prefix: 'b24',
      stateTableName: table,
      dynamoDb: () => dynamoDb,
      secrets: { read: () => Promise.resolve(JSON.stringify({ webhookUrl })), invalidate: () => undefined },
      requestGate: budget,
    });
    const ctxCaller = await factory('helpdesk');

    await ctxCaller.call('server.time', {});
    const item = await dynamoDb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: portalBudgetKey(portal) } } }));
    expect(item.Item).toBeDefined();

    // The shards (another process, its own store) book the next 60 s of this portal's bucket.
    const shardStore = new DynamoDbPortalBudgetStore({ client: createLocalDynamoDbClient(rigEndpoints()), tableName: table });
    for (let i = 0; i < 120; i += 1) await shardStore.reserve(portal, { now: Date.now(), step: gcraStep({ requestsPerSecond: 2, burst: 2 }), maxWaitMs: 120_000 });
    const callsBefore = sim.calls.length;
    // A consumer call that cannot wait that long is not sent at all: no QUERY_LIMIT_EXCEEDED from the portal.
    await expect(ctxCaller.call('server.time', {}, { deadline: Date.now() + 2_000 })).rejects.toBeInstanceOf(PortalBudgetExhaustedError);
    expect(sim.calls.length).toBe(callsBefore);
  });
});
