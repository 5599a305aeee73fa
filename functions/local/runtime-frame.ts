// Builds one progress frame from a running local pipeline: the live counters,
// each source's state item (offset, lease) and the queue depths.
import { readSourceState } from '../cli/source-state.js';
import type { PipelineRuntime } from './pipeline-runtime.js';
import type { ProgressFrame, SourceLine } from './progress-view.js';

export interface FrameExtras {
  readonly title: string;
  readonly startedAt: number;
  readonly phase?: string;
  readonly generated?: number;
  readonly faultsInjected?: number;
  readonly recent?: readonly string[];
}

export async function buildRuntimeFrame(runtime: PipelineRuntime, extras: FrameExtras): Promise<ProgressFrame> {
  const now = Date.now();
  const runs = new Map(runtime.sourceStatus().map((s) => [s.sourceId, s]));
  const [states, queues] = await Promise.all([
    Promise.all(runtime.sources.map((s) => readSourceState(runtime.aws.dynamoDb, runtime.pipeline.stateTableName, s.id, now))),
    runtime.queueDepths(),
  ]);
  const sources: SourceLine[] = states.map((state) => {
    const run = runs.get(state.sourceId);
    return {
      sourceId: state.sourceId,
      ...(state.committedOffset === undefined ? {} : { committedOffset: state.committedOffset }),
      ...(state.lease === undefined ? {} : { leaseHolder: state.lease.holder, leaseExpiresInMs: state.lease.expiresAt - now }),
      runs: run?.runs ?? 0,
      ...(run?.lastReport === undefined ? {} : { lastStop: run.lastReport.stoppedBecause }),
      ...(run?.lastError === undefined ? {} : { lastError: run.lastError }),
    };
  });
  return {
    title: extras.title,
    elapsedMs: now - extras.startedAt,
    flow: runtime.stats.snapshot(),
    sources,
    queues,
    ...(extras.phase === undefined ? {} : { phase: extras.phase }),
    ...(extras.generated === undefined ? {} : { generated: extras.generated }),
    ...(extras.faultsInjected === undefined ? {} : { faultsInjected: extras.faultsInjected }),
    ...(extras.recent === undefined ? {} : { recent: extras.recent }),
  };
}
