// The end-of-run verdict: every generated event must have been consumed.
// Pure: computed from the simulator's record of what it emitted and the
// consumers' record of what they finished.
import type { FlowStats } from './flow-stats.js';
import { formatMs } from './progress-view.js';

export interface RunSummary {
  readonly durationMs: number;
  readonly generated: number;
  /** Distinct generated events the consumers finished. */
  readonly consumed: number;
  readonly lost: number;
  /** Up to 10 lost event ids per source, for the investigation. */
  readonly lostSample: Readonly<Record<string, readonly number[]>>;
  readonly polled: number;
  readonly published: number;
  readonly duplicatesAbsorbed: number;
  readonly handledTwice: number;
  readonly deadLettered: number;
  readonly ageP50Ms?: number;
  readonly ageP99Ms?: number;
  /** True when nothing was lost. */
  readonly ok: boolean;
}

export function summarizeRun(input: {
  readonly generatedIds: ReadonlyMap<string, readonly number[]>;
  readonly stats: FlowStats;
  readonly deadLettered: number;
  readonly durationMs: number;
}): RunSummary {
  let generated = 0;
  let consumed = 0;
  const lostSample: Record<string, number[]> = {};
  for (const [sourceId, ids] of input.generatedIds) {
    const done = input.stats.consumedIds(sourceId);
    for (const id of ids) {
      generated += 1;
      if (done.has(id)) {
        consumed += 1;
      } else {
        const sample = (lostSample[sourceId] ??= []);
        if (sample.length < 10) sample.push(id);
      }
    }
  }
  const snapshot = input.stats.snapshot();
  const lost = generated - consumed;
  return {
    durationMs: input.durationMs,
    generated,
    consumed,
    lost,
    lostSample,
    polled: snapshot.totals.polled,
    published: snapshot.totals.published,
    duplicatesAbsorbed: snapshot.duplicatesAbsorbed,
    handledTwice: snapshot.handledTwice,
    deadLettered: input.deadLettered,
    ...(snapshot.ageP50Ms === undefined ? {} : { ageP50Ms: snapshot.ageP50Ms }),
    ...(snapshot.ageP99Ms === undefined ? {} : { ageP99Ms: snapshot.ageP99Ms }),
    ok: lost === 0,
  };
}

export function formatSummary(summary: RunSummary): string {
  const lines = [
    '── summary ──────────────────────────────────────────',
    `run time            ${formatMs(summary.durationMs)}`,
    `generated           ${summary.generated}`,
    `consumed            ${summary.consumed}${summary.lost === 0 ? '  ✓ none lost' : ''}`,
    `polled / published  ${summary.polled} / ${summary.published}`,
    `duplicates absorbed ${summary.duplicatesAbsorbed}`,
    `handled twice       ${summary.handledTwice}`,
    `dead-lettered       ${summary.deadLettered}`,
    `event age           p50 ${formatMs(summary.ageP50Ms)} · p99 ${formatMs(summary.ageP99Ms)}`,
  ];
  if (summary.lost > 0) {
    const sample = Object.entries(summary.lostSample)
      .map(([source, ids]) => `${source}: ${ids.join(', ')}`)
      .join('; ');
    lines.push(`LOST                ${summary.lost} event(s) never consumed (first ids: ${sample})`);
  }
  return lines.join('\n');
}
