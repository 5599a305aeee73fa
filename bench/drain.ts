// Benchmarks 1 and 2: drain a backlog through the real poller (and through the
// naive baseline) into fauxqs + DynamoDB Local, on the portal simulator with
// or without its leaky-bucket rate limit. Real time, real HTTP.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { LocalAwsEndpoints } from '../functions/local/aws-emulators.js';
import { DEFAULT_PUBLISH_CONCURRENCY, sqsSafeJson } from '../functions/poller/sqs-event-sink.js';
import { ENVELOPE_SCHEMA_VERSION, deduplicationId, messageGroupId } from '../functions/shared/envelope.js';
import { routeFor } from '../functions/shared/topology.js';
import type { PollerTuning, PollReport } from '../functions/poller/index.js';
import { BenchError } from './errors.js';
import { runNaivePoller } from './naive-poller.js';
import type { DrainWorkerInput, DrainWorkerOutput } from './drain-worker.js';
import { sumMs } from './poller-harness.js';
import { snapshotCounts, type RequestCounts } from './request-counter.js';
import { startScenario, type ScenarioRig } from './rig.js';

export const PAGE_LIMIT = 1000;

export interface RateLimit {
  readonly drainPerSecond: number;
  readonly maxQueued: number;
}

export const STANDARD_PLAN: RateLimit = { drainPerSecond: 2, maxQueued: 50 };
export const ENTERPRISE_PLAN: RateLimit = { drainPerSecond: 5, maxQueued: 250 };

export interface DrainResult {
  readonly name: string;
  readonly poller: 'real' | 'naive';
  readonly rateLimit: RateLimit | false;
  /** The poller's minimum time between Event.get starts while hasMore, ms (real poller only). */
  readonly drainIntervalMs?: number;
  readonly backlog: number;
  readonly eventsPublished: number;
  readonly wallMs: number;
  readonly eventsPerSecond: number;
  /** limit × rate, events/s (undefined without a rate limit). */
  readonly ceilingEventsPerSecond?: number;
  readonly ratioToCeiling?: number;
  /** Throughput after the first `maxQueued` calls (the bucket's burst), events/s. */
  readonly steadyEventsPerSecond?: number;
  /** Event.get calls answered by the simulator, and how many were rate-limited (QUERY_LIMIT_EXCEEDED). */
  readonly bitrix24Calls: number;
  readonly rateLimitedCalls: number;
  readonly pages: number;
  /** Per page, ms: time in Event.get, in publishing to SQS, in the offset commit, and asleep (pacing/back-off). */
  readonly perPageMs?: { fetch: number; publish: number; commit: number; sleep: number };
  /** CPU used by the poller's process (poller + AWS SDK) during the drain, % of one core. */
  readonly processCpuPercent?: number;
  readonly limitedBy: string;
  readonly stoppedBecause?: PollReport['stoppedBecause'];
  readonly queuedAfter: number;
  readonly generateMs: number;
  readonly counts: RequestCounts;
}

function makeBacklog(rig: ScenarioRig, size: number): number {
  const started = Date.now();
  let made = 0;
  // In slices, so the simulator never holds one giant array plus its copy.
  while (made < size) {
    const n = Math.min(10_000, size - made);
    made += rig.sim.activity.generate(rig.target, n).length;
  }
  if (rig.sim.pendingEvents(rig.target).length < size) {
    throw new BenchError(`the simulator recorded fewer than ${size} events for the bench user; is the user subscribed?`);
  }
  return Date.now() - started;
}

function explainLimit(result: {
  rateLimit: RateLimit | false;
  perPage: { fetch: number; publish: number; commit: number; sleep: number };
  rateLimitedCalls: number;
  drainIntervalMs: number;
  processCpuPercent: number;
}): string {
  const { perPage } = result;
  const work = perPage.fetch + perPage.publish + perPage.commit;
  if (result.rateLimitedCalls > 0) {
    return `Bitrix24 rate limit: ${result.rateLimitedCalls} calls answered QUERY_LIMIT_EXCEEDED, each followed by the poller's back-off`;
  }
  if (perPage.sleep > work) {
    return `the poller's own pacing: ≥ ${result.drainIntervalMs} ms between Event.get starts while hasMore (Bitrix24's "≥ 2 s" advice); per page ${Math.round(work)} ms of work, ${Math.round(perPage.sleep)} ms asleep`;
  }
  const parts = [
    ['Event.get round trip', perPage.fetch],
    ['publishing the page to SQS (SendMessageBatch)', perPage.publish],
    ['the offset commit (DynamoDB)', perPage.commit],
  ] as const;
  const [name, ms] = [...parts].sort((a, b) => b[1] - a[1])[0] ?? ['work', work];
  const cpu =
    result.processCpuPercent >= 85
      ? `; the poller's process (poller + AWS SDK) was CPU-bound (${Math.round(result.processCpuPercent)} % of one core)`
      : `; the poller's process used ${Math.round(result.processCpuPercent)} % of one core`;
  return `the poller's sequential loop (fetch → publish → commit per page, ${Math.round(work)} ms of work per page); biggest part: ${name}, ${Math.round(ms)} ms per page${cpu}`;
}

/**
 * Runs one per-schedule poll in a forked poller process (bench/drain-worker.ts),
 * killed on every path.
 */
async function runPollerInWorker(input: DrainWorkerInput): Promise<Extract<DrainWorkerOutput, { ok: true }>> {
  const child = fork(fileURLToPath(new URL('./drain-worker.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const output = await new Promise<DrainWorkerOutput>((resolve, reject) => {
      child.once('message', (message) => resolve(message as DrainWorkerOutput));
      child.once('error', reject);
      child.once('exit', (code) => reject(new BenchError(`the drain worker exited (code ${String(code)}) before reporting`)));
      child.send(input);
    });
    if (!output.ok) throw new BenchError(`the drain worker failed: ${output.error}`);
    return output;
  } finally {
    // The worker exits by itself after reporting; one that does not is killed.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  }
}

/** Drains `backlog` events with the real poller (per-schedule run, long deadline, in its own process) and measures it. */
export async function drainWithRealPoller(
  endpoints: LocalAwsEndpoints,
  input: { name: string; backlog: number; rateLimit: RateLimit | false; tuning?: Partial<PollerTuning> },
): Promise<DrainResult> {
  const rig = await startScenario(endpoints, {
    name: input.name,
    rateLimit: input.rateLimit,
    source: { mode: 'per-schedule', pageLimit: PAGE_LIMIT },
  });
  try {
    const generateMs = makeBacklog(rig, input.backlog);
    // The first call subscribes; the user is already subscribed in the simulator, so it is a no-op there.
    rig.sim.clearCalls();
    const worker = await runPollerInWorker({
      endpoints,
      webhookUrl: rig.webhookUrl,
      source: rig.source,
      pipeline: rig.pipeline,
      tuning: input.tuning ?? {},
      runMs: 15 * 60_000,
    });
    const { report, wallMs, drainIntervalMs } = worker;
    const timed = { phases: worker.phases };
    const processCpuPercent = (worker.cpuMs / wallMs) * 100;
    const calls = rig.sim.calls.filter((c) => c.method === 'im.v2.Event.get');
    const rateLimitedCalls = calls.filter((c) => c.errorCode === 'QUERY_LIMIT_EXCEEDED').length;
    const pages = report.pages;
    const perPage = {
      fetch: sumMs(timed.phases.fetches) / Math.max(1, pages),
      publish: sumMs(timed.phases.publishes) / Math.max(1, pages),
      commit: sumMs(timed.phases.commits) / Math.max(1, pages),
      sleep: timed.phases.sleptMs / Math.max(1, pages),
    };
    const eventsPerSecond = report.eventsPublished / (wallMs / 1000);
    const ceiling = input.rateLimit === false ? undefined : PAGE_LIMIT * input.rateLimit.drainPerSecond;
    let steady: number | undefined;
    if (input.rateLimit !== false) {
      const burst = input.rateLimit.maxQueued;
      const okFetches = timed.phases.fetches.filter((f) => f.events > 0);
      const after = okFetches.slice(burst);
      const first = after[0];
      const last = after.at(-1);
      if (first !== undefined && last !== undefined && after.length > 1) {
        steady = after.slice(0, -1).reduce((s, f) => s + f.events, 0) / ((last.at - first.at) / 1000);
      }
    }
    const result: DrainResult = {
      name: input.name,
      poller: 'real',
      rateLimit: input.rateLimit,
      drainIntervalMs,
      backlog: input.backlog,
      eventsPublished: report.eventsPublished,
      wallMs,
      eventsPerSecond,
      ...(ceiling === undefined ? {} : { ceilingEventsPerSecond: ceiling, ratioToCeiling: eventsPerSecond / ceiling }),
      ...(steady === undefined ? {} : { steadyEventsPerSecond: steady }),
      bitrix24Calls: calls.length,
      rateLimitedCalls,
      pages,
      perPageMs: perPage,
      processCpuPercent,
      limitedBy: explainLimit({ rateLimit: input.rateLimit, perPage, rateLimitedCalls, drainIntervalMs, processCpuPercent }),
      stoppedBecause: report.stoppedBecause,
      queuedAfter: await rig.queuedMessages(),
      generateMs,
      counts: worker.counts,
    };
    if (report.eventsPublished !== input.backlog) {
      throw new BenchError(
        `${input.name}: the poller published ${report.eventsPublished} of ${input.backlog} events (stopped: ${report.stoppedBecause}${report.errorCode === undefined ? '' : `, ${report.errorCode}`})`,
      );
    }
    return result;
  } finally {
    await rig.stop();
  }
}

/** Drains `backlog` events with the naive baseline, same client, same emulators, no rate limit. */
export async function drainWithNaivePoller(endpoints: LocalAwsEndpoints, input: { name: string; backlog: number }): Promise<DrainResult> {
  const rig = await startScenario(endpoints, { name: input.name, rateLimit: false, source: { pageLimit: PAGE_LIMIT } });
  try {
    const generateMs = makeBacklog(rig, input.backlog);
    const client = rig.newClient();
    rig.sim.clearCalls();
    const started = Date.now();
    const report = await runNaivePoller({
      fetchPage: (offset) => client.getEvents(offset === undefined ? { limit: PAGE_LIMIT } : { offset, limit: PAGE_LIMIT }),
      sqs: rig.counted.sqs,
      dynamoDb: rig.counted.dynamoDb,
      sourceId: rig.source.id,
      portal: client.portal,
      stateTableName: rig.pipeline.stateTableName,
      queueUrls: rig.pipeline.queueUrls,
      routes: rig.pipeline.routes,
    });
    const wallMs = Date.now() - started;
    const calls = rig.sim.calls.filter((c) => c.method === 'im.v2.Event.get');
    if (report.eventsPublished !== input.backlog) {
      throw new BenchError(`${input.name}: the naive poller published ${report.eventsPublished} of ${input.backlog} events`);
    }
    const perEventMs = wallMs / Math.max(1, report.eventsPublished);
    return {
      name: input.name,
      poller: 'naive',
      rateLimit: false,
      backlog: input.backlog,
      eventsPublished: report.eventsPublished,
      wallMs,
      eventsPerSecond: report.eventsPublished / (wallMs / 1000),
      bitrix24Calls: calls.length,
      rateLimitedCalls: 0,
      pages: report.pages,
      limitedBy: `two sequential round trips per event (SendMessage + PutItem): ${perEventMs.toFixed(2)} ms per event`,
      queuedAfter: await rig.queuedMessages(),
      generateMs,
      counts: snapshotCounts(rig.counted.counts),
    };
  } finally {
    await rig.stop();
  }
}

export interface SqsCeilingResult {
  readonly events: number;
  readonly concurrency: number;
  readonly wallMs: number;
  /** What the SQS emulator alone accepts: the most any poller could publish here, events/s. */
  readonly eventsPerSecond: number;
}

/**
 * The local SQS ceiling: the same envelopes the poller sends, in SendMessageBatch
 * calls of 10 with the poller's default concurrency, and nothing else — no
 * Bitrix24, no DynamoDB. A drain slower than a page per this time is bound by the
 * emulator on this machine, not by the poller or the API.
 */
export async function probeSqsCeiling(endpoints: LocalAwsEndpoints, events: number, concurrency = DEFAULT_PUBLISH_CONCURRENCY): Promise<SqsCeilingResult> {
  const rig = await startScenario(endpoints, { name: 'sqs-ceiling', rateLimit: false });
  try {
    makeBacklog(rig, events);
    const raw = rig.sim.pendingEvents(rig.target);
    const entries = raw.map((event) => ({
      queueUrl: rig.pipeline.queueUrls[routeFor(rig.pipeline.routes, event.type)] ?? '',
      entry: {
        Id: String(event.eventId),
        MessageBody: sqsSafeJson({ schemaVersion: ENVELOPE_SCHEMA_VERSION, sourceId: rig.source.id, portal: rig.sim.portalHost, receivedAt: new Date().toISOString(), event }),
        MessageGroupId: messageGroupId(rig.source.id, event),
        MessageDeduplicationId: deduplicationId(rig.source.id, event.eventId),
      },
    }));
    const byQueue = new Map<string, (typeof entries)[number]['entry'][]>();
    for (const { queueUrl, entry } of entries) byQueue.set(queueUrl, [...(byQueue.get(queueUrl) ?? []), entry]);
    const batches: { queueUrl: string; entries: (typeof entries)[number]['entry'][] }[] = [];
    for (const [queueUrl, list] of byQueue) for (let i = 0; i < list.length; i += 10) batches.push({ queueUrl, entries: list.slice(i, i + 10) });
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let b = batches[next++]; b !== undefined; b = batches[next++]) {
          await rig.counted.sqs.send(new SendMessageBatchCommand({ QueueUrl: b.queueUrl, Entries: b.entries }));
        }
      }),
    );
    const wallMs = Date.now() - started;
    return { events: raw.length, concurrency, wallMs, eventsPerSecond: raw.length / (wallMs / 1000) };
  } finally {
    await rig.stop();
  }
}
