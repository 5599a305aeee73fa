// The poll loop against in-memory ports: the delivery protocol, pacing,
// the idle interval, error handling and the lease.
import { describe, expect, it } from 'vitest';
import { NoAuthFoundError, OperationTimeLimitError, QueryLimitExceededError, ServerError } from '../../../functions/bitrix24/errors.js';
import { PublishError } from '../../../functions/poller/errors.js';
import { pollSource } from '../../../functions/poller/poll-loop.js';
import { POLLER_METRICS } from '../../../functions/shared/observability.js';
import { harness, makeEvent, userSource } from './fakes.js';

const method = 'im.v2.Event.get';

describe('pollSource: delivery protocol', () => {
  it('per-schedule: drains every page, commits each nextOffset after publishing it, releases the lease', async () => {
    const h = harness({ limit: 3 });
    h.source.emit(7);

    const report = await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule', ownerId: 'a' });

    expect(report).toMatchObject({ stoppedBecause: 'drained', pages: 3, eventsReceived: 7, eventsPublished: 7, committedOffset: 8, byType: { ONIMV2MESSAGEADD: 7 } });
    expect(h.sink.published.map((e) => e.eventId)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(h.source.fetches.map((f) => f.offset)).toEqual([undefined, 4, 7]);
    expect(h.state.commits.map((c) => c.nextOffset)).toEqual([4, 7, 8]);
    expect(h.state.owner).toBeUndefined();
    expect(h.metrics.total(POLLER_METRICS.pollSucceeded)).toBe(3);
    expect(h.metrics.total(POLLER_METRICS.eventsPublished, { EventType: 'ONIMV2MESSAGEADD' })).toBe(7);
    expect(h.metrics.flushes).toBe(1);
  });

  it('records with each commit how old the page’s oldest event was (0 for an empty page)', async () => {
    const h = harness({ limit: 10 });
    h.clock.nowMs = Date.parse('2025-01-15T10:31:00+02:00');
    h.source.emit(3);

    await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule', ownerId: 'a' });
    await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule', ownerId: 'a' });

    const [withEvents, empty] = h.state.commits;
    expect(withEvents?.events).toBe(3);
    expect(withEvents?.oldestEventAgeMs).toBeGreaterThanOrEqual(60_000);
    expect(withEvents?.oldestEventAgeMs).toBeLessThan(70_000);
    expect(empty).toMatchObject({ events: 0, oldestEventAgeMs: 0 });
  });

  it('waits at least drainIntervalMs between Event.get starts while hasMore', async () => {
    const h = harness({ limit: 2 });
    h.source.latencyMs = 300;
    h.source.emit(6);

    await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });

    const starts = h.source.fetches.map((f) => f.at);
    const gaps = starts.slice(1).map((at, i) => at - (starts[i] ?? 0));
    expect(gaps).toEqual([2000, 2000]);
  });

  it('subscribes once when the state says not subscribed, and records it', async () => {
    const h = harness();
    await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });
    await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });
    expect(h.source.subscribeCalls).toBe(1);
    expect(h.state.subscribed).toBe(true);
  });

  it('bot sources without withUserEvents never subscribe', async () => {
    const h = harness();
    await pollSource(h.deps, userSource({ kind: 'bot', botId: 7 }), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });
    expect(h.source.subscribeCalls).toBe(0);
  });

  it('continuous: polls with an adaptive idle interval until the safety margin before the deadline', async () => {
    const h = harness({ limit: 10, tuning: { safetyMarginMs: 8_000, minFetchMs: 2_000 } });
    h.source.emit(2);
    const start = h.clock.now();

    const report = await pollSource(h.deps, userSource({ idleInterval: { minSeconds: 5, maxSeconds: 30 } }), { deadline: start + 120_000 });

    expect(report.stoppedBecause).toBe('deadline');
    const offsets = h.source.fetches.map((f) => f.at - start);
    // first poll finds events → 5 s; then empty polls: 10, 20, 30, 30 … until 110 s (deadline − margin − minFetch)
    expect(offsets).toEqual([0, 5_000, 15_000, 35_000, 65_000, 95_000]);
    expect(h.source.fetches.every((f) => f.at <= start + 110_000)).toBe(true);
    expect(h.state.owner).toBeUndefined();
  });

  it('an idle interval resets to the minimum after activity', async () => {
    const h = harness({ limit: 10 });
    const start = h.clock.now();
    const fake = h.source;
    const events = {
      portal: fake.portal,
      subscribe: () => fake.subscribe(),
      fetch: async (offset: number | undefined) => {
        if (fake.fetches.length === 2) fake.emit(1);
        return await fake.fetch(offset);
      },
    };

    await pollSource({ ...h.deps, events }, userSource(), { deadline: start + 60_000 });

    const at = fake.fetches.map((f) => f.at - start);
    // empty (→ 5 s), empty (→ 10 s), one event (→ back to 5 s), empty (→ 10 s)
    expect(at.slice(0, 5)).toEqual([0, 5_000, 15_000, 20_000, 30_000]);
  });
});

describe('pollSource: failures', () => {
  it('a publish failure commits nothing, stops with PUBLISH_FAILED and releases the lease', async () => {
    const h = harness();
    h.source.emit(3);
    h.sink.failures.push(new PublishError('boom.', [1]));

    const report = await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });

    expect(report).toMatchObject({ stoppedBecause: 'fatal-error', errorCode: 'PUBLISH_FAILED', eventsPublished: 0 });
    expect(h.metrics.entries.filter((e) => e.name === POLLER_METRICS.pollerErrors)).toEqual([
      { name: POLLER_METRICS.pollerErrors, value: 1 },
      { name: POLLER_METRICS.pollerErrors, value: 1, dimensions: { ErrorCode: 'PUBLISH_FAILED' } },
    ]);
    expect(h.state.commits).toEqual([]);
    expect(h.state.committedOffset).toBeUndefined();
    expect(h.state.owner).toBeUndefined();
  });

  it('backs off with a growing delay on QUERY_LIMIT_EXCEEDED, then carries on', async () => {
    const h = harness({ tuning: { rateLimitBackoffMs: 5_000 } });
    h.source.emit(2);
    const limit = () => new QueryLimitExceededError({ code: 'QUERY_LIMIT_EXCEEDED', httpStatus: 503, method });
    h.source.failures.push(limit(), limit(), limit());

    const report = await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 120_000, mode: 'per-schedule' });

    expect(report).toMatchObject({ stoppedBecause: 'drained', eventsPublished: 2, errors: { QUERY_LIMIT_EXCEEDED: 3 } });
    expect(h.clock.sleeps.slice(0, 3)).toEqual([5_000, 10_000, 20_000]);
    expect(h.metrics.total(POLLER_METRICS.pollerErrors, { ErrorCode: 'QUERY_LIMIT_EXCEEDED' })).toBe(3);
    // The aggregate series (source dimensions only), which the poller-errors alarm watches.
    expect(h.metrics.entries.filter((e) => e.name === POLLER_METRICS.pollerErrors && e.dimensions === undefined).reduce((sum, e) => sum + e.value, 0)).toBe(3);
  });

  it('pauses until operating_reset_at on OPERATION_TIME_LIMIT', async () => {
    const h = harness();
    h.source.emit(1);
    h.source.failures.push(new OperationTimeLimitError({ code: 'OPERATION_TIME_LIMIT', httpStatus: 429, method, resetAt: h.clock.now() + 17_000 }));

    const report = await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });

    expect(report.stoppedBecause).toBe('drained');
    expect(h.clock.sleeps[0]).toBe(17_000);
  });

  it('a pause that would run past the deadline ends the run cleanly', async () => {
    const h = harness();
    h.source.emit(1);
    h.source.failures.push(new OperationTimeLimitError({ code: 'OPERATION_TIME_LIMIT', httpStatus: 429, method, resetAt: h.clock.now() + 600_000 }));

    const report = await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });

    expect(report).toMatchObject({ stoppedBecause: 'deadline', errorCode: 'OPERATION_TIME_LIMIT', pages: 0 });
    expect(h.state.owner).toBeUndefined();
  });

  it('an auth failure stops the run with its code and an AuthFailures metric', async () => {
    const h = harness();
    h.source.failures.push(new NoAuthFoundError({ code: 'NO_AUTH_FOUND', httpStatus: 401, method }));

    const report = await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000 });

    expect(report).toMatchObject({ stoppedBecause: 'fatal-error', errorCode: 'NO_AUTH_FOUND' });
    expect(h.metrics.total(POLLER_METRICS.authFailures)).toBe(1);
    expect(h.source.fetches).toHaveLength(1);
    expect(h.state.owner).toBeUndefined();
  });

  it('persistent 5xx stops after maxConsecutiveFailures with the last code', async () => {
    const h = harness({ tuning: { maxConsecutiveFailures: 3, retryDelayMs: 100 } });
    for (let i = 0; i < 5; i += 1) h.source.failures.push(new ServerError({ code: 'INTERNAL_SERVER_ERROR', httpStatus: 500, method }));

    const report = await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000 });

    expect(report).toMatchObject({ stoppedBecause: 'fatal-error', errorCode: 'INTERNAL_SERVER_ERROR', errors: { INTERNAL_SERVER_ERROR: 3 } });
  });

  it('rejects a page whose nextOffset is behind the committed offset, offset untouched', async () => {
    const h = harness({ tuning: { maxConsecutiveFailures: 2 } });
    h.state.committedOffset = 50;
    h.source.pageOverrides.push({ events: [], nextOffset: 10, hasMore: false }, { events: [], nextOffset: 10, hasMore: false });

    const report = await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });

    expect(report).toMatchObject({ stoppedBecause: 'fatal-error', errorCode: 'BAD_PAGE', committedOffset: 50 });
    expect(h.state.committedOffset).toBe(50);
    expect(h.state.commits).toEqual([]);
    expect(h.sink.published).toEqual([]);
  });

  it('rejects pages with non-integer or non-increasing ids and retries the same offset', async () => {
    const h = harness();
    h.source.emit(2);
    const bad = { ...makeEvent(1), eventId: 1.5 };
    h.source.pageOverrides.push({ events: [bad], nextOffset: 3, hasMore: false }, { events: [makeEvent(2), makeEvent(1)], nextOffset: 3, hasMore: false });

    const report = await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });

    expect(report).toMatchObject({ stoppedBecause: 'drained', errors: { BAD_PAGE: 2 }, eventsPublished: 2, committedOffset: 3 });
    expect(h.source.fetches.map((f) => f.offset)).toEqual([undefined, undefined, undefined]);
  });
});

describe('pollSource: lease', () => {
  it('exits lease-busy without fetching when another run holds the lease', async () => {
    const h = harness();
    await h.state.acquire({ owner: 'other', now: h.clock.now(), leaseMs: 90_000 });

    const report = await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000 });

    expect(report.stoppedBecause).toBe('lease-busy');
    expect(h.source.fetches).toEqual([]);
    expect(h.metrics.total(POLLER_METRICS.leaseConflicts)).toBe(1);
    expect(h.state.owner).toBe('other');
  });

  it('stops at once without committing when the lease was taken over', async () => {
    const h = harness();
    h.source.emit(2);
    const fake = h.source;
    const events = {
      portal: fake.portal,
      subscribe: () => fake.subscribe(),
      fetch: async (offset: number | undefined) => {
        // while this run fetches, its lease expires and another run takes over
        h.state.owner = 'thief';
        h.state.token += 1;
        return await fake.fetch(offset);
      },
    };

    const report = await pollSource({ ...h.deps, events }, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });

    expect(report).toMatchObject({ stoppedBecause: 'lease-lost', errorCode: 'LEASE_LOST' });
    expect(h.state.commits).toEqual([]);
    expect(h.state.owner).toBe('thief');
    expect(h.source.fetches).toHaveLength(1);
  });

  it('renews the lease before a fetch when it is about to run out', async () => {
    const h = harness({ tuning: { leaseMs: 20_000, renewBeforeMs: 15_000 } });
    const renewedAt: number[] = [];
    const state = h.deps.state;
    const counting = {
      ...h.deps,
      state: {
        acquire: (i: Parameters<typeof state.acquire>[0]) => state.acquire(i),
        commit: (l: Parameters<typeof state.commit>[0], i: Parameters<typeof state.commit>[1]) => state.commit(l, i),
        markSubscribed: (l: Parameters<typeof state.markSubscribed>[0], i: Parameters<typeof state.markSubscribed>[1]) => state.markSubscribed(l, i),
        release: (l: Parameters<typeof state.release>[0], i: Parameters<typeof state.release>[1]) => state.release(l, i),
        renew: async (lease: Parameters<typeof state.renew>[0], input: Parameters<typeof state.renew>[1]) => {
          renewedAt.push(input.now);
          return await state.renew(lease, input);
        },
      },
    };
    const start = h.clock.now();

    const report = await pollSource(counting, userSource({ idleInterval: { minSeconds: 10, maxSeconds: 10 } }), { deadline: start + 60_000 });

    expect(report.stoppedBecause).toBe('deadline');
    // each commit extends the lease to +20 s; after a 10 s idle wait only 10 s remain (< 15 s) → renew before each later fetch
    expect(renewedAt.map((t) => t - start)).toEqual(h.source.fetches.slice(1).map((f) => f.at - start));
    expect(renewedAt.length).toBeGreaterThan(2);
  });
});
