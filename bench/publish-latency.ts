// Publishing one 1000-event page when every SQS call takes a real network
// round trip. On loopback fauxqs answers in about a millisecond, so the drain
// benchmarks are bound by CPU; in AWS a SendMessageBatch takes ~10–30 ms and
// what bounds a page is how many calls must run one after another (calls of
// one chat cannot overlap: FIFO order) and how many run at once. This probe
// adds a fixed delay to every SQS call of the real SqsEventSink and measures.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { chainDepth, planBatches } from '../functions/poller/batch-plan.js';
import { SqsEventSink, sqsSafeJson } from '../functions/poller/sqs-event-sink.js';
import { ENVELOPE_SCHEMA_VERSION, messageGroupId } from '../functions/shared/envelope.js';
import { routeFor } from '../functions/shared/topology.js';
import type { LocalAwsEndpoints } from '../functions/local/aws-emulators.js';
import { startScenario } from './rig.js';
import { s3PayloadWriter } from '../functions/poller/s3-payload-writer.js';

export interface PublishLatencyResult {
  readonly events: number;
  readonly addedLatencyMs: number;
  /** Chats in the page (message groups). */
  readonly chats: number;
  readonly calls: number;
  /** The longest line of calls that must run one after another: with the per-chat plan, and if the page were cut into consecutive runs of 10. */
  readonly chainDepth: { perChat: number; consecutive: number };
  /** Measured wall time of publishing the page, ms, per publish concurrency. */
  readonly publishMs: Array<{ concurrency: number; ms: number }>;
}

interface PlanEntry {
  readonly groupId: string;
  readonly bytes: number;
  readonly queue: string;
}

/** An SQS client whose every request waits `ms` before it is sent (a network round trip). */
function withLatency(client: SQSClient, ms: number): SQSClient {
  client.middlewareStack.add(
    (next) => async (args) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return await next(args);
    },
    { step: 'finalizeRequest', name: 'benchAddedLatency' },
  );
  return client;
}

export async function probePublishLatency(endpoints: LocalAwsEndpoints, options: { latencyMs: number; concurrencies: readonly number[] }): Promise<PublishLatencyResult> {
  const rig = await startScenario(endpoints, { name: 'publish-rtt', rateLimit: false });
  try {
    const events = rig.sim.activity.generate(rig.target, 1000);
    const perQueue = new Map<string, PlanEntry[]>();
    for (const event of events) {
      const queue = routeFor(rig.pipeline.routes, event.type);
      const entry = { queue, groupId: messageGroupId(rig.source.id, event), bytes: sqsSafeJson({ schemaVersion: ENVELOPE_SCHEMA_VERSION, event }).length };
      perQueue.set(queue, [...(perQueue.get(queue) ?? []), entry]);
    }
    const limits = { maxEntries: 10, maxBytes: 256 * 1024 };
    let perChat = 0;
    let consecutive = 0;
    let calls = 0;
    for (const entries of perQueue.values()) {
      const planned = planBatches(entries, limits);
      calls += planned.length;
      perChat = Math.max(perChat, chainDepth(planned));
      const runs: PlanEntry[][] = [];
      for (let i = 0; i < entries.length; i += 10) runs.push(entries.slice(i, i + 10));
      consecutive = Math.max(consecutive, chainDepth(runs));
    }

    const publishMs: PublishLatencyResult['publishMs'] = [];
    const sqs = withLatency(rig.plain.sqs, options.latencyMs);
    for (const concurrency of options.concurrencies) {
      const sink = new SqsEventSink({
        sqs,
        payloads: s3PayloadWriter(rig.plain.s3),
        sourceId: `${rig.source.id}-c${concurrency}`,
        portal: rig.sim.portalHost,
        queueUrls: rig.pipeline.queueUrls,
        routes: rig.pipeline.routes,
        payloadBucketName: rig.pipeline.payloadBucketName,
        concurrency,
      });
      const started = Date.now();
      await sink.publish({ events, receivedAt: Date.now() });
      publishMs.push({ concurrency, ms: Date.now() - started });
    }
    return {
      events: events.length,
      addedLatencyMs: options.latencyMs,
      chats: new Set(events.map((e) => messageGroupId(rig.source.id, e))).size,
      calls,
      chainDepth: { perChat, consecutive },
      publishMs,
    };
  } finally {
    await rig.stop();
  }
}

export const PUBLISH_LATENCY_CONCURRENCIES = [8, 16, 32] as const;
