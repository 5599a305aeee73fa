// The fleet run (issue 13 §2–3): many sources over many portals, polled by a
// handful of poller shards in one process, each shard its own handler
// container (own SDK clients, own portal-budget client, as separate Lambdas
// would be), all on the local rig: portal simulators over real HTTP (one per
// portal, each with Bitrix24's leaky bucket in real time), DynamoDB Local
// (state, registry, budget) and fauxqs, and the real consumers with their
// idempotency table. Sources are added to the registry while traffic flows,
// and one shard is killed mid-run (its AWS calls fail from then on, so its
// leases are neither renewed nor released, like a Lambda that died).
// Used by test/integration/fleet/fleet-run.test.ts (small) and `npm run bench` (200 sources).
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSecretReader } from '../functions/bitrix24/index.js';
import { createLocalDynamoDbClient, createLocalS3Client, createLocalSqsClient, type LocalAwsEndpoints } from '../functions/local/aws-emulators.js';
import { provisionLocalPipeline } from '../functions/local/provision.js';
import { createPollerHandler, type ShardEvent } from '../functions/poller/handler.js';
import { s3PayloadWriter } from '../functions/poller/s3-payload-writer.js';
import { DynamoDbLeaseViewReader, type ShardReport } from '../functions/poller/index.js';
import { DynamoDbSourceRegistry } from '../functions/registry/index.js';
import { runCli } from '../functions/cli/main.js';
import { parseSourceConfig, secretNameOf } from '../functions/shared/config.js';
import { USER_EVENT_TYPES } from '../functions/shared/event-types.js';
import { ENV, METRICS_NAMESPACE, POLLER_SERVICE_NAME } from '../functions/shared/observability.js';
import { routeFor } from '../functions/shared/topology.js';
import { startPortalSimulator, type PortalSimulator } from '../functions/simulator/index.js';
import { startRecordingConsumers } from './consumers.js';
import { BenchError } from './errors.js';
import { distribution, type Distribution } from './stats.js';

export interface FleetRunOptions {
  readonly portals: number;
  /** Sources per portal registered before traffic starts. */
  readonly sourcesPerPortal: number;
  /** Sources per portal added to the registry while traffic flows (at a third of the traffic time). */
  readonly lateSourcesPerPortal: number;
  readonly shards: number;
  readonly sourcesPerInvocation: number;
  /** Traffic time, ms. */
  readonly trafficMs: number;
  /** Events created per second over all sources. */
  readonly eventsPerSecond: number;
  /** Kill this shard at this ms into the traffic. */
  readonly kill?: { readonly shard: number; readonly atMs: number };
  /** The portals' own leaky bucket (simulator). @default Bitrix24 standard: 2/s, 50 */
  readonly portalLimit?: { readonly drainPerSecond: number; readonly maxQueued: number };
  /** The shared budget's rate per portal. @default 2/s, burst 10 */
  readonly budget?: { readonly requestsPerSecond: number; readonly burst: number };
  /** Per-source idle interval, s. @default 2–10 */
  readonly idleInterval?: { readonly minSeconds: number; readonly maxSeconds: number };
  /** Lease duration, ms (a killed shard's sources are adopted after it plus adoptAfterMs). @default 8000 */
  readonly leaseMs?: number;
  /**
   * Each shard is invoked again and again with this deadline, as its schedule does, until the traffic is over and
   * every event is handled (or drainMs passed). @default one invocation spanning the whole run
   */
  readonly invocationMs?: number;
  /** With invocationMs: how long after the traffic the shards keep being invoked to catch up, ms. @default 90000 */
  readonly drainMs?: number;
}

export interface FleetRunResult {
  readonly portals: number;
  readonly sources: number;
  readonly lateSources: number;
  readonly shards: number;
  readonly sourcesPerInvocation: number;
  readonly eventsCreated: number;
  /** Distinct (source, event) pairs the consumers' function ran for. */
  readonly eventsHandled: number;
  readonly lost: number;
  /** Consumer function runs beyond the first for a (source, event). */
  readonly handledTwice: number;
  /** Answers QUERY_LIMIT_EXCEEDED over all portals. */
  readonly queryLimitExceeded: number;
  /** Bitrix24 requests per second per portal: the highest 10-s window over portals, and the mean over the run. */
  readonly portalRate: { readonly budgetPerSecond: number; readonly maxWindowPerSecond: number; readonly meanPerSecond: number; readonly perPortalMaxWindowPerSecond: readonly number[] };
  /** Bitrix24 requests answered, all portals. */
  readonly bitrix24Requests: number;
  /** Event created → the consumer's function starts, ms, all events; and per source the p99, summarised over sources. */
  readonly latencyMs: Distribution;
  readonly perSourceP99Ms: Distribution;
  readonly killed?: {
    readonly shard: number;
    /** Sources its leases held at the kill. */
    readonly held: number;
    /** Of those, committed by another shard after the kill. */
    readonly adopted: number;
    /** When every one of them had a commit by another shard, ms after the kill (checked every 250 ms during the traffic). */
    readonly allAdoptedWithinMs?: number;
  };
  /** Sources each shard's invocation polled (runs with at least one page). */
  readonly sourcesPolledPerShard: readonly number[];
  /** Whole-process CPU (shards + simulators + consumers + SDK), so an upper bound for the shards alone. */
  readonly cpuMsPerSourceSecond: number;
  /** Heap growth after the sources were claimed, per source, bytes (an upper bound for a shard's per-source memory). */
  readonly heapBytesPerSource: number;
  readonly wallMs: number;
  /** Source runs per stop reason, and failed polls per error code, over every shard. */
  readonly stopReasons: Readonly<Record<string, number>>;
  readonly errorCodes: Readonly<Record<string, number>>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** SDK clients that fail every call once `kill()` is called: a process that died. */
function killable<T extends DynamoDBClient | SQSClient | S3Client>(client: T, isDead: () => boolean, label: string): T {
  const stack = client.middlewareStack as unknown as SQSClient['middlewareStack'];
  stack.add(
    (next) => async (args) => {
      if (isDead()) throw new Error(`${label}: the shard's process is dead`);
      return await next(args);
    },
    { step: 'initialize', name: `fleetKill-${label}` },
  );
  return client;
}

function tally(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

function maxWindowRate(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while ((sorted[end] ?? 0) - (sorted[start] ?? 0) > windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best / (windowMs / 1000);
}

export async function runFleet(endpoints: LocalAwsEndpoints, options: FleetRunOptions): Promise<FleetRunResult> {
  const budget = options.budget ?? { requestsPerSecond: 2, burst: 10 };
  const idleInterval = options.idleInterval ?? { minSeconds: 2, maxSeconds: 10 };
  const leaseMs = options.leaseMs ?? 8000;
  const plain = { dynamoDb: createLocalDynamoDbClient(endpoints), sqs: createLocalSqsClient(endpoints), s3: createLocalS3Client(endpoints) };
  const sims: PortalSimulator[] = [];
  const shardClients: Array<DynamoDBClient | SQSClient | S3Client> = [];
  try {
    for (let p = 0; p < options.portals; p += 1) sims.push(await startPortalSimulator({ rateLimit: options.portalLimit ?? { drainPerSecond: 2, maxQueued: 50 }, seed: p + 1 }));
    const prefix = `fleet${Date.now().toString(36).slice(-5)}`;
    const pipeline = await provisionLocalPipeline({ prefix, dynamoDb: plain.dynamoDb, sqs: plain.sqs, s3: plain.s3 });
    const registry = new DynamoDbSourceRegistry({ client: plain.dynamoDb, tableName: pipeline.registryTableName });
    const secrets = new Map<string, string>();
    const users = new Map<string, { sim: PortalSimulator; userId: number }>();
    /** The CLI as `npm run cli -- sources add --json-config … --dynamodb-endpoint … --prefix …` runs it (in this process). */
    const addThroughCli = async (input: Record<string, unknown>): Promise<void> => {
      let stderr = '';
      const code = await runCli(
        ['sources', 'add', '--json-config', JSON.stringify(input), '--dynamodb-endpoint', endpoints.dynamoDbEndpoint, '--sqs-endpoint', endpoints.sqsEndpoint, '--prefix', prefix],
        { stdout: () => undefined, stderr: (text) => void (stderr += text), env: {}, cwd: process.cwd() },
      );
      if (code !== 0) throw new BenchError(`sources add ${String(input.id)} exited ${code}: ${stderr.trim()}`);
    };
    /** The sources present from the start go in through the registry adapter; the late ones through the CLI, while traffic flows. */
    const addSource = async (portal: number, index: number, via: 'registry' | 'cli'): Promise<void> => {
      const sim = sims[portal];
      if (sim === undefined) throw new Error(`no portal ${portal}`);
      const userId = sim.addUser({ name: `Fleet ${portal}.${index}` }).id;
      // Subscribed as a source added by the CLI is (its first poll subscribes again, idempotently): traffic from the start is recorded.
      sim.subscribe(userId);
      const id = `p${portal}-s${index}`;
      const input = { id, kind: 'user', portal: sim.portalHost, auth: 'webhook', mode: 'continuous', idleInterval, pageLimit: 1000 };
      const config = parseSourceConfig(input);
      // The name the CLI gives a source's secret (and the poller reads): <prefix>/sources/<id>.
      const secretName = secretNameOf(prefix, config);
      secrets.set(secretName, JSON.stringify({ webhookUrl: sim.createWebhook(userId) }));
      users.set(id, { sim, userId });
      if (via === 'cli') await addThroughCli(input);
      else await registry.put(config, { credentials: { kind: 'secret', secretName }, origin: 'cli' });
    };
    for (let p = 0; p < options.portals; p += 1) for (let i = 0; i < options.sourcesPerPortal; i += 1) await addSource(p, i, 'registry');

    const routes = [...new Set(USER_EVENT_TYPES.map((t) => routeFor(pipeline.routes, t)).concat('unknown'))];
    const consumers = await startRecordingConsumers({ pipeline, dynamoDb: plain.dynamoDb, sqs: plain.sqs, routes, waitTimeSeconds: 1, pollersPerRoute: 2 });

    const env: Record<string, string> = {
      [ENV.stateTableName]: pipeline.stateTableName,
      [ENV.queueUrls]: JSON.stringify(pipeline.queueUrls),
      [ENV.routes]: JSON.stringify(pipeline.routes),
      [ENV.payloadBucketName]: pipeline.payloadBucketName,
      [ENV.prefix]: prefix,
      [ENV.registryTableName]: pipeline.registryTableName,
      [ENV.sourcesPerInvocation]: String(options.sourcesPerInvocation),
      PORTAL_BUDGETS: JSON.stringify({ default: budget }),
    };
    const secretReader = createSecretReader({
      fetch: (name) => {
        const value = secrets.get(name);
        return value === undefined ? Promise.reject(new Error(`no secret ${name}`)) : Promise.resolve(value);
      },
    });
    const tailMs = 12_000;
    const startedAt = Date.now();
    const deadline = startedAt + options.trafficMs + tailMs;
    const dead = new Set<number>();
    const cpuBefore = process.cpuUsage();
    const heapBefore = process.memoryUsage().heapUsed;
    const shardRuns: Array<Promise<ShardReport[]>> = [];
    let invoking = true;
    for (let shard = 0; shard < options.shards; shard += 1) {
      const isDead = () => dead.has(shard);
      const dynamoDb = killable(createLocalDynamoDbClient(endpoints), isDead, `dynamodb-${shard}`);
      const sqs = killable(createLocalSqsClient(endpoints), isDead, `sqs-${shard}`);
      const s3 = killable(createLocalS3Client(endpoints), isDead, `s3-${shard}`);
      shardClients.push(dynamoDb, sqs, s3);
      const handler = createPollerHandler({
        env: () => env,
        dynamoDb,
        sqs,
        payloads: s3PayloadWriter(s3),
        secrets: secretReader,
        logger: new Logger({ serviceName: POLLER_SERVICE_NAME, logLevel: 'SILENT' }),
        metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: POLLER_SERVICE_NAME }),
        tuning: { leaseMs, renewBeforeMs: leaseMs / 2, safetyMarginMs: 3000, minFetchMs: 500, rateLimitBackoffMs: 1000, maxRateLimitBackoffMs: 4000, retryDelayMs: 500 },
        shard: { refreshIntervalMs: 1000, adoptAfterMs: 2000, stopClaimingBeforeMs: 5000, failureCooldownMs: 2000 },
      });
      const event: ShardEvent = { shard, shardCount: options.shards };
      const invocationMs = options.invocationMs;
      if (invocationMs === undefined) {
        shardRuns.push(handler(event, { awsRequestId: `shard${shard}`, getRemainingTimeInMillis: () => deadline - Date.now() }).then((r) => [r]));
        continue;
      }
      shardRuns.push(
        (async () => {
          const out: ShardReport[] = [];
          for (let n = 0; invoking; n += 1) {
            const ends = Date.now() + invocationMs;
            out.push(await handler(event, { awsRequestId: `shard${shard}-${n}`, getRemainingTimeInMillis: () => ends - Date.now() }));
          }
          return out;
        })(),
      );
    }

    // Traffic: round-robin over the sources registered so far, at the total rate.
    const created = new Map<string, number>();
    const tickMs = 50;
    let made = 0;
    let next = 0;
    let lateAdded = false;
    let killInfo: { shard: number; at: number; held: string[] } | undefined;
    let adoptedAt: number | undefined;
    let adoptionCheckAt = 0;
    const leaseViews = new DynamoDbLeaseViewReader({ client: plain.dynamoDb, tableName: pipeline.stateTableName });
    let heapAfterClaim: number | undefined;
    while (Date.now() < startedAt + options.trafficMs) {
      const elapsed = Date.now() - startedAt;
      if (!lateAdded && elapsed >= options.trafficMs / 3) {
        lateAdded = true;
        for (let p = 0; p < options.portals; p += 1) for (let i = 0; i < options.lateSourcesPerPortal; i += 1) await addSource(p, options.sourcesPerPortal + i, 'cli');
      }
      if (heapAfterClaim === undefined && elapsed >= 5000) heapAfterClaim = process.memoryUsage().heapUsed;
      if (options.kill !== undefined && killInfo === undefined && elapsed >= options.kill.atMs) {
        const views = await leaseViews.read([...users.keys()]);
        const held = [...views].filter(([, v]) => v.owner?.startsWith(`shard${options.kill?.shard ?? -1}-`) === true && (v.expiresAt ?? 0) > Date.now()).map(([id]) => id);
        dead.add(options.kill.shard);
        killInfo = { shard: options.kill.shard, at: Date.now(), held };
      }
      if (killInfo !== undefined && adoptedAt === undefined && Date.now() >= adoptionCheckAt) {
        adoptionCheckAt = Date.now() + 250;
        const views = await leaseViews.read(killInfo.held);
        const killedAt = killInfo.at;
        if (killInfo.held.every((id) => (views.get(id)?.lastCommittedAt ?? 0) > killedAt)) adoptedAt = Date.now();
      }
      const owed = Math.floor((options.eventsPerSecond * (Date.now() - startedAt)) / 1000) - made;
      const ids = [...users.keys()];
      for (let i = 0; i < owed; i += 1) {
        made += 1;
        const id = ids[next % ids.length];
        next += 1;
        const user = id === undefined ? undefined : users.get(id);
        if (id === undefined || user === undefined) continue;
        for (const e of user.sim.activity.generate({ userId: user.userId }, 1)) created.set(`${id}:${e.eventId}`, Date.now());
      }
      await sleep(tickMs);
    }
    const handled = new Map<string, number>();
    const countHandled = (): boolean => {
      handled.clear();
      for (const call of consumers.calls) handled.set(`${call.sourceId}:${call.eventId}`, (handled.get(`${call.sourceId}:${call.eventId}`) ?? 0) + 1);
      return [...created.keys()].every((k) => handled.has(k));
    };
    if (options.invocationMs !== undefined) {
      // Scheduled invocations go on after the traffic until everything is handled.
      const drainUntil = Date.now() + (options.drainMs ?? 90_000);
      while (!countHandled() && Date.now() < drainUntil) await sleep(500);
      invoking = false;
    }
    const reports = (await Promise.all(shardRuns)).map((perShard) => ({ runs: perShard.flatMap((r) => r.runs) }));
    const cpu = process.cpuUsage(cpuBefore);
    const wallMs = Date.now() - startedAt;
    // Let the consumers catch up with what the shards published.
    const settleUntil = Date.now() + 20_000;
    while (!countHandled() && Date.now() <= settleUntil) await sleep(250);
    await consumers.stop();

    const firstCall = new Map<string, number>();
    for (const call of consumers.calls) {
      const key = `${call.sourceId}:${call.eventId}`;
      if (!firstCall.has(key)) firstCall.set(key, call.at);
    }
    const latencies: number[] = [];
    const perSource = new Map<string, number[]>();
    for (const [key, at] of created) {
      const handledAt = firstCall.get(key);
      if (handledAt === undefined) continue;
      latencies.push(handledAt - at);
      const sourceId = key.slice(0, key.indexOf(':'));
      const list = perSource.get(sourceId) ?? [];
      list.push(handledAt - at);
      perSource.set(sourceId, list);
    }
    const perSourceP99 = [...perSource.values()].map((list) => distribution(list).p99);

    let killed: FleetRunResult['killed'];
    if (killInfo !== undefined) {
      const states = await leaseViews.read(killInfo.held);
      const after = killInfo.held.map((id) => states.get(id)?.lastCommittedAt ?? 0).filter((t) => t > (killInfo?.at ?? 0));
      killed = { shard: killInfo.shard, held: killInfo.held.length, adopted: after.length, ...(adoptedAt === undefined ? {} : { allAdoptedWithinMs: adoptedAt - killInfo.at }) };
    }
    const allCalls = sims.flatMap((sim) => sim.calls);
    const runSeconds = wallMs / 1000;
    const perPortal = sims.map((sim) => maxWindowRate(sim.calls.map((c) => c.at), 10_000));
    const portalRate = {
      budgetPerSecond: budget.requestsPerSecond,
      perPortalMaxWindowPerSecond: perPortal,
      maxWindowPerSecond: Math.max(...perPortal),
      meanPerSecond: allCalls.length / sims.length / runSeconds,
    };
    const totalSources = options.portals * (options.sourcesPerPortal + options.lateSourcesPerPortal);
    const duplicates = [...handled.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
    return {
      portals: options.portals,
      sources: totalSources,
      lateSources: options.portals * options.lateSourcesPerPortal,
      shards: options.shards,
      sourcesPerInvocation: options.sourcesPerInvocation,
      eventsCreated: created.size,
      eventsHandled: [...created.keys()].filter((k) => handled.has(k)).length,
      lost: [...created.keys()].filter((k) => !handled.has(k)).length,
      handledTwice: duplicates,
      bitrix24Requests: allCalls.length,
      queryLimitExceeded: allCalls.filter((c) => c.errorCode === 'QUERY_LIMIT_EXCEEDED').length,
      portalRate,
      latencyMs: distribution(latencies),
      perSourceP99Ms: distribution(perSourceP99),
      ...(killed === undefined ? {} : { killed }),
      sourcesPolledPerShard: reports.map((r) => new Set(r.runs.filter((run) => run.pages > 0).map((run) => run.sourceId)).size),
      cpuMsPerSourceSecond: (cpu.user + cpu.system) / 1000 / totalSources / runSeconds,
      heapBytesPerSource: Math.max(0, ((heapAfterClaim ?? process.memoryUsage().heapUsed) - heapBefore) / (options.portals * options.sourcesPerPortal)),
      wallMs,
      stopReasons: tally(reports.flatMap((r) => r.runs.map((run) => run.stoppedBecause))),
      errorCodes: reports.flatMap((r) => r.runs).reduce<Record<string, number>>((acc, run) => {
        for (const [code, n] of Object.entries(run.errors)) acc[code] = (acc[code] ?? 0) + n;
        return acc;
      }, {}),
    };
  } finally {
    for (const c of shardClients) c.destroy();
    await Promise.allSettled(sims.map((s) => s.stop()));
    plain.dynamoDb.destroy();
    plain.sqs.destroy();
    plain.s3.destroy();
  }
}
