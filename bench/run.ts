// `npm run bench`: every benchmark in one run, side by side, each figure next
// to a baseline measured in the same run. Writes bench/results/<date>.json,
// <date>.md and <date>.svg and prints a table.
//
//   npm run bench                  full run (~5 min): 100k-event backlogs
//   npm run bench -- --quick       small sizes (smoke test, < 1 min)
//   npm run bench -- --out <dir>   results directory (default bench/results)
//   npm run bench -- --fleet-only  only the fleet run (200 sources, ~2 min; with --quick 40 sources)
import { cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalAws } from '../functions/local/aws-emulators.js';
import { coldStartBench } from './cold-start-bench.js';
import { probeConsumers, probeIdleSource } from './cost-probes.js';
import { costPerMillionEvents, fixedCostPerSourceMonth, perThousand } from './cost.js';
import { probePublishLatency, PUBLISH_LATENCY_CONCURRENCIES } from './publish-latency.js';
import { drainWithNaivePoller, drainWithRealPoller, ENTERPRISE_PLAN, probeSqsCeiling, STANDARD_PLAN, type DrainResult } from './drain.js';
import { fleetBench, writeFleetResults } from './fleet-bench.js';
import { measureLatency } from './latency.js';
import { PRICE_REGION, PRICES, PRICES_AS_OF } from './pricing.js';
import { renderBarChartSvg, renderMarkdownTable, renderTextTable, writeResults, type Cell } from './report.js';
import { round } from './stats.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    backlog: { type: 'string' },
    'fleet-only': { type: 'boolean', default: false },
  },
});

const quick = args.quick === true;
const SIZES = {
  backlog: Number(args.backlog ?? (quick ? 4000 : 100_000)),
  defaultPacingBacklog: quick ? 3000 : 10_000,
  naiveBacklog: quick ? 500 : 5000,
  realNoLimitBacklog: quick ? 4000 : 20_000,
  latencySeconds: quick ? 5 : 20,
  latencyRate: 5,
  consumerProbe: quick ? 300 : 2000,
  idleRuns: quick ? 2 : 5,
  coldRepetitions: quick ? 1 : 5,
};
const LAMBDA = { pollerMemoryMb: 256, consumerMemoryMb: 256, pollerTimeoutSeconds: 60, scheduleMinutes: 1 };
const LATENCY_IDLE = { minSeconds: 1, maxSeconds: 5 };

const repoRoot = resolve(import.meta.dirname, '..');
const outDir = resolve(args.out ?? resolve(repoRoot, 'bench/results'));

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function pct(v: number | undefined): string {
  return v === undefined ? '–' : `${(v * 100).toFixed(1)} %`;
}

function rateText(r: DrainResult['rateLimit']): string {
  return r === false ? 'off' : `${r.drainPerSecond} req/s (burst ${r.maxQueued})`;
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const loadAtStart = loadavg().map((v) => round(v, 1));
  log(`starting emulators (quick=${String(quick)})`);
  // fauxqs in its own process: as SQS is remote to a Lambda, its work must not queue behind the poller's on one event loop.
  const aws = await startLocalAws({ sqs: { placement: 'child-process' } });
  // The shards' EMF metrics would flood stdout; the bench reads its figures from the run itself.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const runFleetStep = async (): Promise<string> => {
    const date = startedAt.toISOString().slice(0, 10);
    const baseName = `${quick ? `${date}-quick` : date}-fleet`;
    const command = `npm run bench --${quick ? ' --quick' : ''}${args['fleet-only'] === true ? ' --fleet-only' : ''}`;
    log(`fleet run (${quick ? 'quick' : '200 sources'}) …`);
    const t = Date.now();
    const fleet = await fleetBench(aws, quick);
    log(`fleet run done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const written = await writeFleetResults(outDir, baseName, date, command, fleet);
    return `${written.text}\n\nwrote ${written.json}\n      ${written.markdown}\n      ${written.svg}\n`;
  };
  if (args['fleet-only'] === true) {
    try {
      process.stdout.write(await runFleetStep());
      return 0;
    } finally {
      await aws.stop();
    }
  }
  try {
    const drains: DrainResult[] = [];
    const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      log(`${name} …`);
      const t = Date.now();
      const out = await run();
      log(`${name} done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      return out;
    };

    // 1. Drain vs the API ceiling: pacing matched to the plan's drain rate, and the shipped default pacing.
    drains.push(
      await step(`drain ${SIZES.backlog} @ standard, pacing 500 ms`, () =>
        drainWithRealPoller(aws, { name: 'drain-standard', backlog: SIZES.backlog, rateLimit: STANDARD_PLAN, tuning: { drainIntervalMs: 500 } }),
      ),
    );
    drains.push(
      await step(`drain ${SIZES.backlog} @ enterprise, pacing 200 ms`, () =>
        drainWithRealPoller(aws, { name: 'drain-enterprise', backlog: SIZES.backlog, rateLimit: ENTERPRISE_PLAN, tuning: { drainIntervalMs: 200 } }),
      ),
    );
    drains.push(
      await step(`drain ${SIZES.defaultPacingBacklog} @ standard, default pacing`, () =>
        drainWithRealPoller(aws, { name: 'drain-default', backlog: SIZES.defaultPacingBacklog, rateLimit: STANDARD_PLAN }),
      ),
    );
    // 2. Against the naive poller, rate limit off.
    const naive = await step(`naive poller ${SIZES.naiveBacklog}`, () => drainWithNaivePoller(aws, { name: 'naive', backlog: SIZES.naiveBacklog }));
    drains.push(naive);
    const realDefault = await step(`real poller ${SIZES.defaultPacingBacklog}, no limit, default pacing`, () =>
      drainWithRealPoller(aws, { name: 'real-nolimit-paced', backlog: SIZES.defaultPacingBacklog, rateLimit: false }),
    );
    drains.push(realDefault);
    const realUnpaced = await step(`real poller ${SIZES.realNoLimitBacklog}, no limit, no pacing`, () =>
      drainWithRealPoller(aws, { name: 'real-nolimit-unpaced', backlog: SIZES.realNoLimitBacklog, rateLimit: false, tuning: { drainIntervalMs: 0 } }),
    );
    drains.push(realUnpaced);

    // What the SQS emulator alone accepts on this machine (the local bound on any drain).
    const sqsCeiling = await step('SQS emulator ceiling', () => probeSqsCeiling(aws, quick ? 2000 : 10_000));

    // What bounds a page in AWS, where each SQS call is a network round trip.
    const publishRtt = await step('publish one page with 20 ms per SQS call', () =>
      probePublishLatency(aws, { latencyMs: 20, concurrencies: PUBLISH_LATENCY_CONCURRENCIES }),
    );

    // 3. Latency.
    const latency = await step(`latency ${SIZES.latencyRate} ev/s for ${SIZES.latencySeconds} s`, () =>
      measureLatency(aws, { eventsPerSecond: SIZES.latencyRate, durationSeconds: SIZES.latencySeconds, idleInterval: LATENCY_IDLE }),
    );

    // 4. Cold start.
    const cold = await step(`cold start × ${SIZES.coldRepetitions}`, () => coldStartBench(aws, { repetitions: SIZES.coldRepetitions, repoRoot }));

    // 5. Requests and cost.
    const idle = await step('idle source probe', () => probeIdleSource(aws, SIZES.idleRuns));
    const consumer = await step(`consumer probe ${SIZES.consumerProbe}`, () => probeConsumers(aws, SIZES.consumerProbe));

    const headline = drains[0];
    if (headline === undefined) throw new Error('no drain result');
    const pollerK = perThousand(headline.counts, headline.bitrix24Calls, headline.eventsPublished);
    const naiveK = perThousand(naive.counts, naive.bitrix24Calls, naive.eventsPublished);
    const consumerK = perThousand(consumer.counts, 0, consumer.events);
    const consumerGbSecondsK = (consumer.invocationMs / 1000) * (LAMBDA.consumerMemoryMb / 1024) * (1000 / consumer.events);
    const consumerInvocationsK = consumer.invocations * (1000 / consumer.events);
    const pollerGbSecondsK = (headline.wallMs / 1000) * (LAMBDA.pollerMemoryMb / 1024) * (1000 / headline.eventsPublished);
    const variable = costPerMillionEvents(pollerK, consumerK, pollerGbSecondsK + consumerGbSecondsK, consumerInvocationsK);
    const naiveVariable = costPerMillionEvents(naiveK, consumerK, (naive.wallMs / 1000) * (LAMBDA.pollerMemoryMb / 1024) * (1000 / naive.eventsPublished) + consumerGbSecondsK, consumerInvocationsK);
    const safetyMarginSeconds = 8;
    const fixed = fixedCostPerSourceMonth({
      memoryMb: LAMBDA.pollerMemoryMb,
      scheduleMinutes: LAMBDA.scheduleMinutes,
      idleInvocationMs: idle.perScheduleRunMs,
      idleInvocationReadUnits: idle.perScheduleRun.readUnits,
      idleInvocationWriteUnits: idle.perScheduleRun.writeUnits,
      continuousIdlePollSeconds: 30,
      idlePollReadUnits: idle.continuousIdle.readUnitsPerPoll,
      idlePollWriteUnits: idle.continuousIdle.writeUnitsPerPoll,
      continuousDutyCycle: (LAMBDA.pollerTimeoutSeconds - safetyMarginSeconds) / (LAMBDA.scheduleMinutes * 60),
    });

    // ---- Report ----
    const drainHeaders = ['scenario', 'poller', 'rate limit', 'pacing ms', 'events', 'seconds', 'events/s', 'ceiling ev/s', '% of ceiling', 'steady ev/s', '503s'];
    const drainRows: Cell[][] = drains.map((d) => [
      d.name,
      d.poller,
      rateText(d.rateLimit),
      d.drainIntervalMs ?? '–',
      d.eventsPublished,
      round(d.wallMs / 1000, 1),
      round(d.eventsPerSecond, 0),
      d.ceilingEventsPerSecond ?? '–',
      pct(d.ratioToCeiling),
      d.steadyEventsPerSecond === undefined ? '–' : round(d.steadyEventsPerSecond, 0),
      d.rateLimitedCalls,
    ]);
    const limitRows: Cell[][] = drains.map((d) => [
      d.name,
      d.perPageMs === undefined ? '–' : `${round(d.perPageMs.fetch, 0)} / ${round(d.perPageMs.publish, 0)} / ${round(d.perPageMs.commit, 0)} / ${round(d.perPageMs.sleep, 0)}`,
      d.limitedBy,
    ]);
    const sqsCeilingLine = `SQS emulator alone (SendMessageBatch × 10, concurrency ${sqsCeiling.concurrency}, same envelopes, nothing else): **${Math.round(sqsCeiling.eventsPerSecond)} events/s** — the local upper bound on any drain on this machine.`;
    const publishRttLine =
      `Publishing one ${publishRtt.events}-event page (${publishRtt.chats} chats, ${publishRtt.calls} SendMessageBatch calls) with ${publishRtt.addedLatencyMs} ms added to every SQS call, as in AWS: ` +
      publishRtt.publishMs.map((p) => `${p.ms} ms at ${p.concurrency} in flight`).join(', ') +
      `. Calls of one chat run one after another (FIFO order): the page is cut per chat, so the longest such line is ${publishRtt.chainDepth.perChat} calls (cut into consecutive runs of 10 it would be ${publishRtt.chainDepth.consecutive}).`;
    const ratioDefault = realDefault.eventsPerSecond / naive.eventsPerSecond;
    const ratioUnpaced = realUnpaced.eventsPerSecond / naive.eventsPerSecond;
    const latencyRows: Cell[][] = [
      ['created → in SQS (SentTimestamp)', round(latency.toSqsMs.p50, 0), round(latency.toSqsMs.p99, 0), round(latency.toSqsMs.max, 0), latency.toSqsMs.count],
      ['created → consumer function start', round(latency.toConsumerMs.p50, 0), round(latency.toConsumerMs.p99, 0), round(latency.toConsumerMs.max, 0), latency.toConsumerMs.count],
    ];
    const coldRows: Cell[][] = cold.results.map((r) => [
      r.name,
      round(r.bytesMinified / 1024, 0),
      round(r.bytesGzipped / 1024, 0),
      round(r.importMs, 0),
      round(r.firstCallMs, 0),
      round(r.importMs + r.firstCallMs, 0),
      round(r.processMs, 0),
      r.firstCallError ?? 'ok',
    ]);
    const costRows: Cell[][] = [
      ['real poller (standard, 100k drain)', round(pollerK.bitrix24Calls, 2), round(pollerK.sqsRequests, 1), round(pollerK.sqsBilledRequests, 1), round(pollerK.dynamoDbReadUnits, 2), round(pollerK.dynamoDbWriteUnits, 2)],
      ['naive poller', round(naiveK.bitrix24Calls, 2), round(naiveK.sqsRequests, 1), round(naiveK.sqsBilledRequests, 1), round(naiveK.dynamoDbReadUnits, 2), round(naiveK.dynamoDbWriteUnits, 2)],
      ['consumers (receive, delete, idempotency)', 0, round(consumerK.sqsRequests, 1), round(consumerK.sqsBilledRequests, 1), round(consumerK.dynamoDbReadUnits, 2), round(consumerK.dynamoDbWriteUnits, 2)],
    ];
    const usd = (v: number) => `$${v < 0.01 ? v.toFixed(4) : v.toFixed(2)}`;
    const moneyRows: Cell[][] = [
      ['per million events — real poller + consumers', usd(variable.sqsUsd), usd(variable.dynamoDbUsd), usd(variable.lambdaUsd), usd(variable.totalUsd)],
      ['per million events — naive poller + same consumers', usd(naiveVariable.sqsUsd), usd(naiveVariable.dynamoDbUsd), usd(naiveVariable.lambdaUsd), usd(naiveVariable.totalUsd)],
    ];
    const fixedRows: Cell[][] = (['perSchedule', 'continuous'] as const).map((mode) => {
      const f = fixed[mode];
      return [mode === 'perSchedule' ? 'per-schedule (1 run/min, drain and exit)' : 'continuous (polls until the next run)', round(f.lambdaGbSeconds, 0), usd(f.lambdaUsd), usd(f.schedulerUsd), usd(f.dynamoDbUsd), usd(f.secretUsd), usd(f.totalUsd), Math.round(f.bitrix24CallsPerMonth)];
    });

    const goals = [
      { goal: 'drain ≥ 95 % of the API ceiling (standard, pacing = bucket rate)', measured: pct(drains[0]?.ratioToCeiling), met: (drains[0]?.ratioToCeiling ?? 0) >= 0.95 },
      { goal: 'drain ≥ 95 % of the API ceiling (enterprise, pacing = bucket rate)', measured: pct(drains[1]?.ratioToCeiling), met: (drains[1]?.ratioToCeiling ?? 0) >= 0.95 },
      { goal: 'drain ≥ 95 % of the API ceiling (standard, shipped default pacing 2 s)', measured: pct(drains[2]?.ratioToCeiling), met: (drains[2]?.ratioToCeiling ?? 0) >= 0.95 },
      { goal: '≥ 10× the naive poller (default pacing)', measured: `${ratioDefault.toFixed(1)}×`, met: ratioDefault >= 10 },
      { goal: '≥ 10× the naive poller (pacing 0, rate limit off)', measured: `${ratioUnpaced.toFixed(1)}×`, met: ratioUnpaced >= 10 },
    ];

    const date = startedAt.toISOString().slice(0, 10);
    const baseName = quick ? `${date}-quick` : date;
    const machine = { loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg().map((v) => round(v, 1)), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: round(totalmem() / 2 ** 30, 1), node: process.version, platform: process.platform };
    const text = [
      renderTextTable(drainHeaders, drainRows),
      '',
      renderTextTable(['scenario', 'per page ms: fetch / publish / commit / sleep', 'limited by'], limitRows),
      '',
      sqsCeilingLine.replace(/\*\*/g, ''),
      '',
      publishRttLine,
      '',
      renderTextTable(['latency (trickle)', 'p50 ms', 'p99 ms', 'max ms', 'events'], latencyRows),
      '',
      renderTextTable(['cold start (median)', 'KiB min', 'KiB gz', 'import ms', '1st call ms', 'total ms', 'process ms', 'first call'], coldRows),
      '',
      renderTextTable(['per 1000 events', 'Bitrix24 calls', 'SQS requests', 'SQS billed', 'DynamoDB RRU', 'DynamoDB WRU'], costRows),
      '',
      renderTextTable(['cost', 'SQS', 'DynamoDB', 'Lambda', 'total'], moneyRows),
      '',
      renderTextTable(['fixed per source per month', 'GB-s', 'Lambda', 'Scheduler', 'DynamoDB', 'Secret', 'total', 'Event.get calls'], fixedRows),
      '',
      renderTextTable(['goal', 'measured', 'met'], goals.map((g) => [g.goal, g.measured, g.met ? 'yes' : 'NO'])),
    ].join('\n');

    const svg = renderBarChartSvg({
      title: `Drain throughput, events/s (dashed red = API ceiling) — ${date}`,
      unit: 'ev/s',
      logScale: true,
      bars: drains.map((d) => ({
        label: `${d.name} (${d.poller}, ${d.rateLimit === false ? 'no limit' : `${d.rateLimit.drainPerSecond} req/s`})`,
        value: d.eventsPerSecond,
        ...(d.ceilingEventsPerSecond === undefined ? {} : { marker: d.ceilingEventsPerSecond }),
        color: d.poller === 'naive' ? '#9ca3af' : '#2563eb',
      })),
      note: `log scale; ${machine.cpus} CPUs shared, Node ${machine.node}; poller in its own process; fauxqs (own process) + DynamoDB Local + portal simulator on loopback`,
    });

    const markdown = [
      `# Benchmark results — ${date}${quick ? ' (quick run, small sizes)' : ''}`,
      '',
      `Command: \`npm run bench${quick ? ' -- --quick' : ''}\`. Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, Node ${machine.node}; load average ${machine.loadAverageAtStart.join(' / ')} at start, ${machine.loadAverageAtEnd.join(' / ')} at the end (the machine was shared with other work: figures are conservative).`,
      'Everything runs locally on loopback: the portal simulator (rate limit in real time), fauxqs (SQS/S3, in its own process) and DynamoDB Local; the real poller (`pollSource`, in its own process for the drains, as in its Lambda) and the real consumers (`createConsumerHandler` driven by the local SQS event source).',
      '',
      '![drain throughput](' + `${baseName}.svg` + ')',
      '',
      '## 1–2. Drain throughput',
      '',
      renderMarkdownTable(drainHeaders, drainRows),
      '',
      renderMarkdownTable(['scenario', 'per page ms: fetch / publish / commit / sleep', 'limited by'], limitRows),
      '',
      sqsCeilingLine,
      '',
      publishRttLine,
      '',
      `Real poller vs naive (rate limit off): **${ratioDefault.toFixed(1)}×** with the shipped 2 s pacing, **${ratioUnpaced.toFixed(1)}×** with pacing 0.`,
      '',
      '## 3. Latency (continuous mode, steady trickle)',
      '',
      `${latency.eventsPerSecond} events/s for ${latency.durationSeconds} s, idle interval ${latency.idleInterval.minSeconds}–${latency.idleInterval.maxSeconds} s, standard rate limit, consumer long-poll ${latency.consumerWaitTimeSeconds} s, ${latency.polls} polls.`,
      '',
      renderMarkdownTable(['latency', 'p50 ms', 'p99 ms', 'max ms', 'events'], latencyRows),
      '',
      '## 4. Cold start',
      '',
      `esbuild as the CDK bundles (ESM, node22, minified, SDK bundled); median of ${SIZES.coldRepetitions} fresh \`node\` processes; first call against the local rig.`,
      '',
      renderMarkdownTable(['bundle', 'KiB minified', 'KiB gzipped', 'import ms', 'first call ms', 'import + call ms', 'whole process ms', 'first call'], coldRows),
      ...(cold.skipped.length > 0 ? ['', `Not measured (entry missing): ${cold.skipped.join(', ')}`] : []),
      '',
      '## 5. Requests and cost',
      '',
      `List prices, ${PRICE_REGION}, as of ${PRICES_AS_OF}: Lambda arm64 $${PRICES.lambdaArmPerGbSecond}/GB-s + $0.20/M requests; EventBridge Scheduler $1.00/M; SQS FIFO $0.50/M requests (64 KiB chunks); DynamoDB on-demand $0.625/M WRU, $0.125/M RRU; Secrets Manager $0.40/secret/month. No free tier. KMS and CloudWatch Logs not included.`,
      '',
      renderMarkdownTable(['per 1000 events', 'Bitrix24 calls', 'SQS requests', 'SQS billed', 'DynamoDB RRU', 'DynamoDB WRU'], costRows),
      '',
      renderMarkdownTable(['cost', 'SQS', 'DynamoDB', 'Lambda', 'total'], moneyRows),
      '',
      `Fixed cost of one idle source per month (poller ${LAMBDA.pollerMemoryMb} MB, schedule every ${LAMBDA.scheduleMinutes} min, timeout ${LAMBDA.pollerTimeoutSeconds} s; idle per-schedule run measured at ${round(idle.perScheduleRunMs, 0)} ms locally; continuous idle polls every 30 s):`,
      '',
      renderMarkdownTable(['mode', 'GB-s', 'Lambda', 'Scheduler', 'DynamoDB', 'Secret', 'total', 'Event.get calls'], fixedRows),
      '',
      '## Goals',
      '',
      renderMarkdownTable(['goal', 'measured', 'met'], goals.map((g) => [g.goal, g.measured, g.met ? 'yes' : '**no**'])),
      '',
    ].join('\n');

    const json = {
      date,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      quick,
      machine,
      sizes: SIZES,
      lambda: LAMBDA,
      prices: { asOf: PRICES_AS_OF, region: PRICE_REGION, ...PRICES },
      drains,
      sqsCeiling,
      publishWithNetworkLatency: publishRtt,
      naiveRatio: { defaultPacing: ratioDefault, noPacing: ratioUnpaced },
      latency,
      coldStart: cold,
      requestsPerThousandEvents: { poller: pollerK, naive: naiveK, consumer: consumerK },
      costPerMillionEvents: { real: variable, naive: naiveVariable },
      fixedCostPerSourceMonth: fixed,
      idle,
      consumerProbe: { ...consumer },
      goals,
    };
    const paths = await writeResults(outDir, baseName, { json, markdown, svg });
    process.stdout.write(`${text}\n\nwrote ${paths.json}\n      ${paths.markdown}\n      ${paths.svg}\n`);
    // 6. The fleet (issue 13): its own files, <date>-fleet.*.
    process.stdout.write(`\n${await runFleetStep()}`);
    return 0;
  } finally {
    await aws.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
