// Builds the real poller for a scenario (createPollerDependencies over the
// counted SDK clients) and times its three phases — fetch, publish, commit —
// by decorating the ports, so a report can say what limits a drain.
import {
  createPollerDependencies,
  silentLogger,
  silentMetrics,
  type PollerDependencies,
  type PollerTuning,
} from '../functions/poller/index.js';
import type { Bitrix24Client } from '../functions/bitrix24/index.js';
import type { ProvisionedPipeline } from '../functions/local/provision.js';
import type { SourceConfig } from '../functions/shared/config.js';
import type { ScenarioRig } from './rig.js';
import { s3PayloadWriter } from '../functions/poller/s3-payload-writer.js';

/** BENCH_DEBUG=1: the poller's warnings and errors on stderr. */
const debugLogger: typeof silentLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message, fields) => process.stderr.write(`[poller warn] ${message} ${JSON.stringify(fields ?? {})}\n`),
  error: (message, fields) => process.stderr.write(`[poller error] ${message} ${JSON.stringify(fields ?? {})}\n`),
};

export interface PhaseTimes {
  /** Each fetch: start (ms epoch) and duration (ms). */
  readonly fetches: { at: number; ms: number; events: number }[];
  readonly publishes: { at: number; ms: number; events: number }[];
  readonly commits: { at: number; ms: number }[];
  /** Time the loop spent sleeping (pacing, idle interval, back-off), ms. */
  sleptMs: number;
}

export interface TimedPoller {
  readonly deps: PollerDependencies;
  readonly phases: PhaseTimes;
  readonly client: Bitrix24Client;
}

/** What the poller needs from a scenario (a ScenarioRig, or its parts rebuilt in a worker process). */
export type PollerTarget = Pick<ScenarioRig, 'newClient'> & {
  readonly source: SourceConfig;
  readonly pipeline: ProvisionedPipeline;
  readonly counted: Pick<ScenarioRig['counted'], 'dynamoDb' | 'sqs' | 's3'>;
};

export function buildTimedPoller(rig: PollerTarget, tuning: Partial<PollerTuning> = {}): TimedPoller {
  const client = rig.newClient();
  const base = createPollerDependencies({
    source: rig.source,
    client,
    dynamoDb: rig.counted.dynamoDb,
    sqs: rig.counted.sqs,
    payloads: s3PayloadWriter(rig.counted.s3),
    stateTableName: rig.pipeline.stateTableName,
    queueUrls: rig.pipeline.queueUrls,
    routes: rig.pipeline.routes,
    payloadBucketName: rig.pipeline.payloadBucketName,
    logger: process.env.BENCH_DEBUG === '1' ? debugLogger : silentLogger,
    metrics: silentMetrics,
    tuning,
  });
  const phases: PhaseTimes = { fetches: [], publishes: [], commits: [], sleptMs: 0 };
  const deps: PollerDependencies = {
    ...base,
    sleep: async (ms) => {
      const started = Date.now();
      await base.sleep(ms);
      phases.sleptMs += Date.now() - started;
    },
    events: {
      portal: base.events.portal,
      subscribe: (options) => base.events.subscribe(options),
      fetch: async (offset, options) => {
        const at = Date.now();
        const page = await base.events.fetch(offset, options);
        phases.fetches.push({ at, ms: Date.now() - at, events: page.events.length });
        return page;
      },
    },
    sink: {
      publish: async (input) => {
        const at = Date.now();
        const result = await base.sink.publish(input);
        phases.publishes.push({ at, ms: Date.now() - at, events: input.events.length });
        return result;
      },
    },
    state: {
      acquire: (input) => base.state.acquire(input),
      renew: (lease, input) => base.state.renew(lease, input),
      markSubscribed: (lease, input) => base.state.markSubscribed(lease, input),
      release: (lease, input) => base.state.release(lease, input),
      commit: async (lease, input) => {
        const at = Date.now();
        const next = await base.state.commit(lease, input);
        phases.commits.push({ at, ms: Date.now() - at });
        return next;
      },
    },
  };
  return { deps, phases, client };
}

export function sumMs(items: readonly { ms: number }[]): number {
  return items.reduce((sum, item) => sum + item.ms, 0);
}
