// Measurements behind benchmark 5 that the drains do not cover: what an idle
// source costs per scheduled run and per continuous idle poll, and what the
// consumer side (receive, delete, idempotency records) costs per event.
import type { LocalAwsEndpoints } from '../functions/local/aws-emulators.js';
import { pollSource } from '../functions/poller/index.js';
import { USER_EVENT_TYPES } from '../functions/shared/event-types.js';
import { routeFor } from '../functions/shared/topology.js';
import { startRecordingConsumers } from './consumers.js';
import { BenchTimeoutError } from './errors.js';
import { buildTimedPoller } from './poller-harness.js';
import { emptyCounts, instrumentDynamoDb, instrumentSqs, resetCounts, snapshotCounts, type RequestCounts } from './request-counter.js';
import { startScenario } from './rig.js';
import { createLocalDynamoDbClient, createLocalSqsClient } from '../functions/local/aws-emulators.js';
import { median } from './stats.js';

export interface IdleProbe {
  /** Median wall time of one per-schedule run on an empty source (lease, one Event.get, commit, release), ms. */
  readonly perScheduleRunMs: number;
  readonly perScheduleRuns: number;
  /** Per run. */
  readonly perScheduleRun: { bitrix24Calls: number; readUnits: number; writeUnits: number; dynamoDbRequests: number };
  /** Continuous mode, idle: per poll. */
  readonly continuousIdle: { polls: number; seconds: number; readUnitsPerPoll: number; writeUnitsPerPoll: number; dynamoDbRequestsPerPoll: number };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function probeIdleSource(endpoints: LocalAwsEndpoints, runs = 5): Promise<IdleProbe> {
  const rig = await startScenario(endpoints, {
    name: 'idle',
    rateLimit: false,
    source: { mode: 'per-schedule', idleInterval: { minSeconds: 1, maxSeconds: 1 } },
  });
  try {
    const timed = buildTimedPoller(rig);
    // Warm-up run: subscribes and creates the state item, like a source's very first run.
    await pollSource(timed.deps, rig.source, { deadline: Date.now() + 60_000, mode: 'per-schedule' });
    resetCounts(rig.counted.counts);
    rig.sim.clearCalls();
    const durations: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      const started = Date.now();
      await pollSource(timed.deps, rig.source, { deadline: started + 60_000, mode: 'per-schedule' });
      durations.push(Date.now() - started);
    }
    const perRun = snapshotCounts(rig.counted.counts);
    const perScheduleRun = {
      bitrix24Calls: rig.sim.calls.length / runs,
      readUnits: perRun.dynamoDbReadUnits / runs,
      writeUnits: perRun.dynamoDbWriteUnits / runs,
      dynamoDbRequests: perRun.dynamoDbRequests / runs,
    };
    resetCounts(rig.counted.counts);
    timed.phases.fetches.length = 0;
    const seconds = 14;
    const tail = timed.deps.tuning.safetyMarginMs + timed.deps.tuning.minFetchMs;
    await pollSource(timed.deps, rig.source, { deadline: Date.now() + seconds * 1000 + tail, mode: 'continuous' });
    const polls = Math.max(2, timed.phases.fetches.length);
    const c = rig.counted.counts;
    // A continuous run = one per-schedule run (lease, poll, commit, release) + (polls − 1) further polls.
    const extra = (total: number, perRun: number) => Math.max(0, total - perRun) / (polls - 1);
    return {
      perScheduleRunMs: median(durations),
      perScheduleRuns: runs,
      perScheduleRun,
      continuousIdle: {
        polls,
        seconds,
        readUnitsPerPoll: extra(c.dynamoDbReadUnits, perScheduleRun.readUnits),
        writeUnitsPerPoll: extra(c.dynamoDbWriteUnits, perScheduleRun.writeUnits),
        dynamoDbRequestsPerPoll: extra(c.dynamoDbRequests, perScheduleRun.dynamoDbRequests),
      },
    };
  } finally {
    await rig.stop();
  }
}

export interface ConsumerProbe {
  readonly events: number;
  readonly wallMs: number;
  readonly counts: RequestCounts;
  readonly handlerCalls: number;
  readonly invocations: number;
  /** Summed duration of the consumer invocations (the billed Lambda time, locally), ms. */
  readonly invocationMs: number;
}

/** Publishes `events` with the real poller, then lets the real consumers take them all, counting only the consumer side. */
export async function probeConsumers(endpoints: LocalAwsEndpoints, events: number): Promise<ConsumerProbe> {
  const rig = await startScenario(endpoints, { name: 'consumer', rateLimit: false, source: { mode: 'per-schedule', pageLimit: 1000 } });
  const counts = emptyCounts();
  const dynamoDb = instrumentDynamoDb(createLocalDynamoDbClient(endpoints), counts);
  const sqs = instrumentSqs(createLocalSqsClient(endpoints), counts);
  try {
    rig.sim.activity.generate(rig.target, events);
    const timed = buildTimedPoller(rig, { drainIntervalMs: 0 });
    const report = await pollSource(timed.deps, rig.source, { deadline: Date.now() + 5 * 60_000, mode: 'per-schedule' });
    const routes = [...new Set(Object.keys(report.byType).map((t) => routeFor(rig.pipeline.routes, t)))];
    if (routes.length === 0) routes.push(...USER_EVENT_TYPES.map((t) => routeFor(rig.pipeline.routes, t)));
    const started = Date.now();
    const consumers = await startRecordingConsumers({ pipeline: rig.pipeline, dynamoDb, sqs, routes, waitTimeSeconds: 1 });
    try {
      const deadline = Date.now() + 180_000;
      while (new Set(consumers.calls.map((c) => c.eventId)).size < report.eventsPublished) {
        if (Date.now() > deadline) throw new BenchTimeoutError(`consumer probe: only ${consumers.calls.length} of ${report.eventsPublished} events handled in 180 s`);
        await sleep(100);
      }
      const wallMs = Date.now() - started;
      // Let the last deletes land before reading the counters.
      await sleep(300);
      return { events: report.eventsPublished, wallMs, counts: snapshotCounts(counts), handlerCalls: consumers.calls.length, invocations: consumers.invocations.count, invocationMs: consumers.invocations.totalMs };
    } finally {
      await consumers.stop();
    }
  } finally {
    dynamoDb.destroy();
    sqs.destroy();
    await rig.stop();
  }
}
