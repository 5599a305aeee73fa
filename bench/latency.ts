// Benchmark 3: latency in continuous mode under a steady trickle. Each event is
// created at the simulator by the harness's own timer (activity.generate, one
// event per tick) so its creation time is known to the millisecond; the
// delivery times come from SQS (SentTimestamp) and from the user's consumer
// function (the moment it is called).
import type { LocalAwsEndpoints } from '../functions/local/aws-emulators.js';
import { pollSource } from '../functions/poller/index.js';
import { USER_EVENT_TYPES } from '../functions/shared/event-types.js';
import { routeFor } from '../functions/shared/topology.js';
import { startRecordingConsumers } from './consumers.js';
import { STANDARD_PLAN } from './drain.js';
import { BenchTimeoutError } from './errors.js';
import { buildTimedPoller } from './poller-harness.js';
import { startScenario } from './rig.js';
import { distribution, type Distribution } from './stats.js';

export interface LatencyResult {
  readonly eventsPerSecond: number;
  readonly durationSeconds: number;
  readonly idleInterval: { minSeconds: number; maxSeconds: number };
  readonly consumerWaitTimeSeconds: number;
  readonly events: number;
  readonly delivered: number;
  /** Event created at the simulator → message in SQS (SentTimestamp), ms. */
  readonly toSqsMs: Distribution;
  /** Event created → the user's consumer function starts, ms. */
  readonly toConsumerMs: Distribution;
  readonly polls: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function measureLatency(
  endpoints: LocalAwsEndpoints,
  input: { eventsPerSecond: number; durationSeconds: number; idleInterval: { minSeconds: number; maxSeconds: number } },
): Promise<LatencyResult> {
  const rig = await startScenario(endpoints, {
    name: 'latency',
    rateLimit: STANDARD_PLAN,
    source: { mode: 'continuous', idleInterval: input.idleInterval, pageLimit: 1000 },
  });
  const consumerWaitTimeSeconds = 1;
  const routes = [...new Set(USER_EVENT_TYPES.map((t) => routeFor(rig.pipeline.routes, t)).concat('unknown'))];
  const consumers = await startRecordingConsumers({
    pipeline: rig.pipeline,
    dynamoDb: rig.plain.dynamoDb,
    sqs: rig.plain.sqs,
    routes,
    waitTimeSeconds: consumerWaitTimeSeconds,
  });
  try {
    const timed = buildTimedPoller(rig);
    // The poller stops fetching `safetyMarginMs + minFetchMs` before its deadline.
    const tail = timed.deps.tuning.safetyMarginMs + timed.deps.tuning.minFetchMs + input.idleInterval.maxSeconds * 1000 + 2000;
    const started = Date.now();
    const polling = pollSource(timed.deps, rig.source, { deadline: started + input.durationSeconds * 1000 + tail, mode: 'continuous' });
    const created = new Map<number, number>();
    const tickMs = 1000 / input.eventsPerSecond;
    // Let the poller take its lease and make its first (empty) poll, as a running source would have.
    await sleep(1500);
    const trickleStart = Date.now();
    for (let i = 0; Date.now() < trickleStart + input.durationSeconds * 1000; i += 1) {
      const due = trickleStart + i * tickMs;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      for (const event of rig.sim.activity.generate(rig.target, 1)) created.set(event.eventId, Date.now());
    }
    const report = await polling;
    const waitUntil = Date.now() + 20_000;
    const seen = new Set<number>();
    while (Date.now() < waitUntil) {
      for (const call of consumers.calls) seen.add(call.eventId);
      if ([...created.keys()].every((id) => seen.has(id))) break;
      await sleep(100);
    }
    const toSqs: number[] = [];
    const toConsumer: number[] = [];
    const firstCall = new Map<number, (typeof consumers.calls)[number]>();
    for (const call of consumers.calls) if (!firstCall.has(call.eventId)) firstCall.set(call.eventId, call);
    for (const [eventId, at] of created) {
      const call = firstCall.get(eventId);
      if (call === undefined) continue;
      toConsumer.push(call.at - at);
      if (call.sentTimestamp !== undefined) toSqs.push(call.sentTimestamp - at);
    }
    if (firstCall.size < created.size && toConsumer.length === 0) {
      throw new BenchTimeoutError(`latency: none of ${created.size} trickled events reached the consumer (poller stopped: ${report.stoppedBecause})`);
    }
    return {
      eventsPerSecond: input.eventsPerSecond,
      durationSeconds: input.durationSeconds,
      idleInterval: input.idleInterval,
      consumerWaitTimeSeconds,
      events: created.size,
      delivered: toConsumer.length,
      toSqsMs: distribution(toSqs),
      toConsumerMs: distribution(toConsumer),
      polls: timed.phases.fetches.length,
    };
  } finally {
    await consumers.stop();
    await rig.stop();
  }
}
