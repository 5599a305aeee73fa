// Portal faults over real HTTP: rate-limit storms, 5xx bursts, timeouts,
// connection resets, malformed and HTML bodies, OPERATION_TIME_LIMIT, and bad
// pages. Nothing is lost, the offset never regresses, errors are logged by code.
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollSource, quarantineKeyPrefix, sourceStateKey, type PollerDependencies, type PollReport } from '../../../functions/poller/index.js';
import { POLLER_METRICS } from '../../../functions/shared/observability.js';
import type { SourceConfig } from '../../../functions/shared/config.js';
import { drainQueues, offsetViolations, RewritingPortalProxy, startRig, type Reader, type Rig } from './harness.js';

const GET = 'im.v2.Event.get';

/** Records every offset committed through the real store. */
function recordCommits(deps: PollerDependencies, into: number[]): PollerDependencies {
  return {
    ...deps,
    state: {
      acquire: (i) => deps.state.acquire(i),
      renew: (l, i) => deps.state.renew(l, i),
      markSubscribed: (l, i) => deps.state.markSubscribed(l, i),
      release: (l, i) => deps.state.release(l, i),
      commit: async (l, i) => {
        const lease = await deps.state.commit(l, i);
        into.push(i.nextOffset);
        return lease;
      },
    },
  };
}

async function runUntilDrained(rig: Rig, source: SourceConfig, reader: Reader, commits: number[], maxRuns = 20): Promise<PollReport[]> {
  const reports: PollReport[] = [];
  for (let run = 0; run < maxRuns; run += 1) {
    const deps = recordCommits(rig.deps(source, reader, { retryDelayMs: 500, rateLimitBackoffMs: 1_000 }), commits);
    const report = await pollSource(deps, source, { deadline: rig.time.now() + 120_000, mode: 'per-schedule', ownerId: `run-${run}` });
    reports.push(report);
    if (report.stoppedBecause === 'drained' && rig.sim.pendingEvents({ userId: reader.userId }).length <= source.pageLimit) break;
    rig.time.advance(60_000);
  }
  return reports;
}

function expectNothingLostAndMonotonic(rig: Rig, reader: Reader, source: SourceConfig, queuedIds: Set<number>, commits: number[]): void {
  const emitted = rig.sim.emittedEvents({ userId: reader.userId }).map((e) => e.eventId);
  expect(emitted.filter((id) => !queuedIds.has(id))).toEqual([]);
  expect(commits).toEqual([...commits].sort((a, b) => a - b));
  // in the order the portal received them (a call held back by a latency fault is answered late)
  const sent = rig.sim.calls
    .filter((c) => c.method === GET && c.userId === reader.userId && c.offset !== undefined)
    .sort((a, b) => a.arrival - b.arrival)
    .map((c) => c.offset ?? 0);
  expect(sent).toEqual([...sent].sort((a, b) => a - b));
  expect(offsetViolations(rig, reader.userId)).toEqual([]);
  // error logs carry codes and redacted messages, never the webhook's secret code
  const webhookCode = new URL(reader.webhookUrl).pathname.split('/')[3] ?? '';
  expect(webhookCode.length).toBeGreaterThan(4);
  expect(JSON.stringify(rig.logger.lines)).not.toContain(webhookCode);
  expect(rig.logger.lines.some((l) => l.level === 'warn' && l.fields.sourceId === source.id) || commits.length > 0).toBe(true);
}

describe('faults from the portal', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ clientMaxAttempts: 2, headersTimeoutMs: 1_500 });
  });
  afterAll(async () => {
    await rig.stop();
  });

  it('5xx bursts, resets, timeouts, malformed and HTML bodies, OPERATION_TIME_LIMIT: nothing lost, offset monotonic, errors logged by class and code', async () => {
    const reader = rig.reader();
    const source = rig.source({ pageLimit: 8 });
    rig.sim.subscribe(reader.userId);
    rig.sim.activity.generate({ userId: reader.userId }, 40);
    // Each fault kind and the error class the poller must log for it. The
    // latency fault is far longer than the client's headers timeout, and that
    // timeout is roomy, so a stalled event loop on a busy CI machine cannot
    // turn a reset into a timeout.
    const steps = [
      { fault: { kind: 'error', status: 500, code: 'INTERNAL_SERVER_ERROR', times: 3 }, logs: 'ServerError' },
      { fault: { kind: 'reset', times: 2 }, logs: 'NetworkError' },
      { fault: { kind: 'malformed', times: 2 }, logs: 'MalformedResponseError' },
      { fault: { kind: 'html', times: 2 }, logs: 'ServerError' }, // a proxy's HTML 502 page is a gateway error
      { fault: { kind: 'latency', ms: 4_000, times: 2 }, logs: 'RequestTimeoutError' },
      { fault: { kind: 'operation-time-limit', resetInSeconds: 7, times: 2 }, logs: 'OperationTimeLimitError' },
      { fault: { kind: 'error', status: 503, code: 'QUERY_LIMIT_EXCEEDED', times: 4 }, logs: 'QueryLimitExceededError' },
    ] as const;
    const commits: number[] = [];
    // a few good pages, then each fault kind in turn
    await runUntilDrained(rig, source, reader, commits, 1);
    const logged: Array<{ kind: string; errors: string[] }> = [];
    for (const { fault } of steps) {
      const firstLine = rig.logger.lines.length;
      rig.sim.activity.generate({ userId: reader.userId }, 10);
      rig.sim.faults.inject({ method: GET, ...fault });
      await runUntilDrained(rig, source, reader, commits);
      const errors = rig.logger.lines
        .slice(firstLine)
        .flatMap((l) => (typeof l.fields.errorCode === 'string' ? [`${String(l.fields.errorName)}:${l.fields.errorCode}`] : []));
      logged.push({ kind: fault.kind, errors });
    }

    const queued = new Set((await drainQueues(rig)).filter((m) => m.body.sourceId === source.id).map((m) => m.eventId));
    expectNothingLostAndMonotonic(rig, reader, source, queued, commits);
    // every fault was served, and each step logged its own error class (with the code)
    expect(rig.sim.faults.injectedCount).toBe(steps.reduce((n, s) => n + s.fault.times, 0));
    expect(logged.map((step) => ({ kind: step.kind, errorClasses: [...new Set(step.errors.map((e) => e.split(':')[0]))] }))).toEqual(
      steps.map((s) => ({ kind: s.fault.kind, errorClasses: [s.logs] })),
    );
    const codes = new Set(logged.flatMap((step) => step.errors.map((e) => e.split(':')[1])));
    for (const code of ['INTERNAL_SERVER_ERROR', 'MALFORMED_RESPONSE', 'UND_ERR_HEADERS_TIMEOUT', 'OPERATION_TIME_LIMIT', 'QUERY_LIMIT_EXCEEDED']) expect(codes).toContain(code);
  });
});

describe('invalid events and pages, over HTTP through a rewriting proxy', () => {
  let rig: Rig;
  let proxy: RewritingPortalProxy;
  let via: string;
  beforeAll(async () => {
    rig = await startRig({ clientMaxAttempts: 1 });
    proxy = new RewritingPortalProxy(rig.sim.baseUrl);
    via = await proxy.start();
  });
  afterAll(async () => {
    await proxy.stop();
    await rig.stop();
  });

  const stateItem = async (source: SourceConfig) =>
    (await rig.aws.dynamoDb.send(new GetItemCommand({ TableName: rig.pipeline.stateTableName, Key: { pk: { S: sourceStateKey(source.id) } }, ConsistentRead: true }))).Item;

  // Before: the client accepted `date: ""` and the poller's own page check refused it, so the page
  // was rejected on every run, nothing was committed and Bitrix24 expired everything behind it.
  it('an event with date "" is quarantined (raw + reason) and the source commits past it: nothing behind it stalls', async () => {
    const reader = rig.reader({ via });
    const source = rig.source({ pageLimit: 5 });
    rig.sim.subscribe(reader.userId);
    const emitted = rig.sim.activity.generate({ userId: reader.userId }, 12);
    const badId = emitted[6]?.eventId ?? 0;
    proxy.rewrite = (result) => ({
      ...result,
      events: (result.events as Array<Record<string, unknown>>).map((e) => (e.eventId === badId ? { ...e, date: '' } : e)),
    });
    const commits: number[] = [];
    try {
      await runUntilDrained(rig, source, reader, commits, 4);
    } finally {
      proxy.rewrite = undefined;
    }

    const queued = new Set((await drainQueues(rig)).filter((m) => m.body.sourceId === source.id).map((m) => m.eventId));
    expect(emitted.map((e) => e.eventId).filter((id) => id !== badId && !queued.has(id))).toEqual([]);
    expect(queued.has(badId)).toBe(false);
    const item = await stateItem(source);
    expect(Number(item?.committedOffset?.N)).toBeGreaterThan(emitted.at(-1)?.eventId ?? Infinity);
    expect(item?.quarantinedTotal?.N).toBe('1');
    expect(item?.lastQuarantineReason?.S).toContain('date is not an ISO 8601 date ("")');

    const quarantined = await rig.aws.dynamoDb.send(
      new GetItemCommand({ TableName: rig.pipeline.stateTableName, Key: { pk: { S: `${quarantineKeyPrefix(source.id)}${badId}` } }, ConsistentRead: true }),
    );
    expect(quarantined.Item?.eventId?.N).toBe(String(badId));
    expect(JSON.parse(quarantined.Item?.raw?.S ?? '{}')).toMatchObject({ eventId: badId, date: '', type: emitted[6]?.type });
    expect(rig.metrics.total(POLLER_METRICS.eventsQuarantined)).toBe(1);
  });

  it('a page that breaks the protocol (nextOffset behind the offset sent) is refused whole and the offset untouched', async () => {
    const reader = rig.reader({ via });
    const source = rig.source({ pageLimit: 5 });
    rig.sim.subscribe(reader.userId);
    rig.sim.activity.generate({ userId: reader.userId }, 7);
    const commits: number[] = [];
    await runUntilDrained(rig, source, reader, commits, 1);
    const before = (await stateItem(source))?.committedOffset?.N;
    expect(before).toBeDefined();

    rig.sim.activity.generate({ userId: reader.userId }, 3);
    proxy.rewrite = (result) => ({ ...result, nextOffset: Number(before) - 3 });
    try {
      const deps = rig.deps(source, reader, { maxConsecutiveFailures: 1 });
      const report = await pollSource(deps, source, { deadline: rig.time.now() + 60_000, mode: 'per-schedule' });
      expect(report).toMatchObject({ stoppedBecause: 'fatal-error', errorCode: 'MALFORMED_RESPONSE', eventsPublished: 0 });
    } finally {
      proxy.rewrite = undefined;
    }
    expect((await stateItem(source))?.committedOffset?.N).toBe(before);
    const messages = rig.logger.lines.filter((l) => l.fields.errorCode === 'MALFORMED_RESPONSE').map((l) => String(l.fields.errorMessage));
    expect(messages.some((m) => m.includes('result.nextOffset') && m.includes('behind the offset sent'))).toBe(true);

    await runUntilDrained(rig, source, reader, commits);
    const queued = new Set((await drainQueues(rig)).filter((m) => m.body.sourceId === source.id).map((m) => m.eventId));
    expectNothingLostAndMonotonic(rig, reader, source, queued, commits);
  });
});

describe('rate-limit storm', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ rateLimit: { drainPerSecond: 2, maxQueued: 5 }, clientMaxAttempts: 1 });
  });
  afterAll(async () => {
    await rig.stop();
  });

  it('backs off on QUERY_LIMIT_EXCEEDED while another caller floods the portal, and loses nothing', async () => {
    const reader = rig.reader();
    const noisy = rig.reader();
    const source = rig.source({ pageLimit: 10 });
    rig.sim.subscribe(reader.userId);
    rig.sim.activity.generate({ userId: reader.userId }, 60);
    const commits: number[] = [];

    for (let storm = 0; storm < 3; storm += 1) {
      await Promise.allSettled(Array.from({ length: 12 }, () => noisy.client.getEvents({ limit: 1 })));
      await runUntilDrained(rig, source, reader, commits, 3);
    }
    await runUntilDrained(rig, source, reader, commits);

    const limited = rig.sim.calls.filter((c) => c.userId === reader.userId && c.errorCode === 'QUERY_LIMIT_EXCEEDED');
    expect(limited.length).toBeGreaterThan(0);
    expect(rig.logger.codes()).toContain('QUERY_LIMIT_EXCEEDED');
    const queued = new Set((await drainQueues(rig)).filter((m) => m.body.sourceId === source.id).map((m) => m.eventId));
    expectNothingLostAndMonotonic(rig, reader, source, queued, commits);
  });
});

describe('a portal on the Event.get format before BOT-BC-0325-1 (lastEventId, change-log.md)', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ eventGetFormat: 'lastEventId' });
  });
  afterAll(async () => {
    await rig.stop();
  });

  it('drains through lastEventId + 1, never loops on the same page, loses nothing', async () => {
    const reader = rig.reader();
    const source = rig.source({ pageLimit: 6 });
    rig.sim.subscribe(reader.userId);
    rig.sim.activity.generate({ userId: reader.userId }, 20);
    const commits: number[] = [];

    await runUntilDrained(rig, source, reader, commits, 3);
    rig.sim.activity.generate({ userId: reader.userId }, 2);
    await runUntilDrained(rig, source, reader, commits, 3);

    const gets = rig.sim.calls.filter((c) => c.method === GET && c.userId === reader.userId);
    expect(gets.every((c) => c.status === 200)).toBe(true);
    expect(gets.length).toBeLessThanOrEqual(8); // 22 events in pages of 6, plus the empty polls: no page read twice
    const queued = new Set((await drainQueues(rig)).filter((m) => m.body.sourceId === source.id).map((m) => m.eventId));
    expectNothingLostAndMonotonic(rig, reader, source, queued, commits);
  });
});
