// `npm run bench` step "fleet" (issue 13): the fleet run at full size (200
// sources over 20 portals, 4 shards, 40 of the sources added while traffic
// flows, one shard killed), its figures, the cost model at 1 / 100 / 1000
// sources from the run's measured CPU and memory, and a chart of each
// portal's request rate against its budget. Writes <date>-fleet.{json,md,svg}.
import type { LocalAwsEndpoints } from '../functions/local/aws-emulators.js';
import { fleetCostPerSourceMonth, type FleetCost } from './cost.js';
import { runFleet, type FleetRunOptions, type FleetRunResult } from './fleet-run.js';
import { renderBarChartSvg, renderMarkdownTable, renderTextTable, writeResults, type Cell } from './report.js';
import { round } from './stats.js';

export const FLEET_FULL: FleetRunOptions = {
  portals: 20,
  sourcesPerPortal: 8,
  lateSourcesPerPortal: 2,
  shards: 4,
  sourcesPerInvocation: 70,
  trafficMs: 60_000,
  eventsPerSecond: 10,
  kill: { shard: 2, atMs: 15_000 },
  // The shipped defaults (5–30 s): 10 sources of a portal then ask for about the portal's 2/s.
  idleInterval: { minSeconds: 5, maxSeconds: 30 },
  // Long enough that a loaded machine's event-loop lag does not expire live leases.
  leaseMs: 20_000,
  // Invoked again every 30 s, as the schedule would (every minute, 60 s timeout), until every event is handled.
  invocationMs: 30_000,
  drainMs: 120_000,
};

export const FLEET_QUICK: FleetRunOptions = { ...FLEET_FULL, idleInterval: { minSeconds: 2, maxSeconds: 5 }, leaseMs: 8_000, invocationMs: 15_000, drainMs: 30_000, portals: 4, sourcesPerPortal: 9, lateSourcesPerPortal: 1, shards: 3, sourcesPerInvocation: 25, trafficMs: 20_000, eventsPerSecond: 10, kill: { shard: 1, atMs: 7_000 } };

export interface FleetBenchResult {
  readonly run: FleetRunResult;
  readonly cpuMsPerRequest: number;
  readonly costs: readonly FleetCost[];
}

export async function fleetBench(endpoints: LocalAwsEndpoints, quick: boolean): Promise<FleetBenchResult> {
  const run = await runFleet(endpoints, quick ? FLEET_QUICK : FLEET_FULL);
  const cpuMsPerRequest = (run.cpuMsPerSourceSecond * run.sources * (run.wallMs / 1000)) / Math.max(1, run.bitrix24Requests);
  const costs = [1, 100, 1000].map((sources) =>
    fleetCostPerSourceMonth({
      sources,
      sourcesPerInvocation: 50,
      spareShards: sources === 1 ? 0 : 1,
      cpuMsPerRequest,
      heapBytesPerSource: run.heapBytesPerSource,
      idlePollSeconds: 30,
      refreshSeconds: 15,
      dutyCycle: 52 / 60,
      minMemoryMb: 256,
      cpuHeadroom: 0.5,
      registryItemBytes: 400,
    }),
  );
  return { run, cpuMsPerRequest, costs };
}

const usd = (v: number) => `$${v < 0.01 ? v.toFixed(4) : v.toFixed(2)}`;

export async function writeFleetResults(outDir: string, baseName: string, date: string, command: string, result: FleetBenchResult): Promise<{ json: string; markdown: string; svg: string; text: string }> {
  const { run, costs } = result;
  const runRows: Cell[][] = [
    ['sources (added through the CLI while traffic flowed)', `${run.sources} (${run.lateSources})`],
    ['portals / shards / sources per invocation', `${run.portals} / ${run.shards} / ${run.sourcesPerInvocation}`],
    ['events created / handled / lost / handled twice', `${run.eventsCreated} / ${run.eventsHandled} / ${run.lost} / ${run.handledTwice}`],
    ['QUERY_LIMIT_EXCEEDED answers', run.queryLimitExceeded],
    ['portal request rate: budget / highest 10-s window / mean', `${run.portalRate.budgetPerSecond} / ${round(run.portalRate.maxWindowPerSecond, 2)} / ${round(run.portalRate.meanPerSecond, 2)} req/s`],
    ['event → consumer latency p50 / p99 / max (ms)', `${round(run.latencyMs.p50, 0)} / ${round(run.latencyMs.p99, 0)} / ${round(run.latencyMs.max, 0)}`],
    ['per-source p99 latency: median / worst source (ms)', `${round(run.perSourceP99Ms.p50, 0)} / ${round(run.perSourceP99Ms.max, 0)}`],
    [
      'killed shard: sources held / adopted / all adopted within',
      run.killed === undefined ? '–' : `shard ${run.killed.shard}: ${run.killed.held} / ${run.killed.adopted} / ${run.killed.allAdoptedWithinMs === undefined ? 'after the traffic' : `${round(run.killed.allAdoptedWithinMs / 1000, 1)} s`}`,
    ],
    ['sources polled per shard', run.sourcesPolledPerShard.join(' / ')],
    ['CPU per Bitrix24 request (whole process, upper bound)', `${round(result.cpuMsPerRequest, 1)} ms`],
    ['source runs by stop reason', Object.entries(run.stopReasons).map(([k, v]) => `${k} ${v}`).join(', ')],
    ['failed polls by code', Object.entries(run.errorCodes).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'],
    ['heap per held source', `${round(run.heapBytesPerSource / 1024, 1)} KiB`],
  ];
  const costRows: Cell[][] = costs.map((c) => [c.sources, c.shards, c.memoryMb, usd(c.lambdaUsd), usd(c.pollWritesUsd), usd(c.refreshReadsUsd), usd(c.perSourceUsd), usd(c.perSourceWithSecretUsd)]);
  const costHeaders = ['sources', 'shards', 'MB', 'Lambda', 'poll writes', 'refresh reads', 'per source-month', 'with a secret per source'];
  const svg = renderBarChartSvg({
    title: `Bitrix24 requests/s per portal, highest 10-s window (dashed red = the portal's budget) — ${date}`,
    unit: 'req/s',
    bars: run.portalRate.perPortalMaxWindowPerSecond.map((rate, i) => ({ label: `portal ${i}`, value: round(rate, 2), marker: run.portalRate.budgetPerSecond, color: '#2563eb' })),
    note: `${run.sources} sources, ${run.shards} shards (one killed), ${run.queryLimitExceeded} QUERY_LIMIT_EXCEEDED, ${run.lost} lost, ${run.handledTwice} handled twice`,
  });
  const markdown = [
    `# Fleet run — ${date}`,
    '',
    `Command: \`${command}\`. ${run.sources} sources over ${run.portals} portal simulators (Bitrix24's leaky bucket, 2/s, 50), ${run.shards} poller shards as separate handler containers in one process, every Bitrix24 request through the shared portal budget (DynamoDB Local), the real consumers with idempotency; shard ${run.killed?.shard ?? '–'} killed mid-run.`,
    '',
    `![per-portal request rate](${baseName}.svg)`,
    '',
    renderMarkdownTable(['figure', 'measured'], runRows),
    '',
    '## Cost per continuous source-month (idle sources polled every 30 s, 50 per shard, one spare shard)',
    '',
    'From the CPU and heap measured above (whole-process CPU, so conservative); Lambda memory = max(256 MB, what the CPU needs at 50 % of its vCPU share, 128 MB + heap); us-east-1 list prices (bench/pricing.ts). Events cost extra per million (the main bench).',
    '',
    renderMarkdownTable(costHeaders, costRows),
    '',
  ].join('\n');
  const text = [renderTextTable(['fleet', 'measured'], runRows), '', renderTextTable(costHeaders, costRows)].join('\n');
  const paths = await writeResults(outDir, baseName, { json: { date, command, ...result }, markdown, svg });
  return { ...paths, text };
}
