// The poll loop against in-memory ports: the delivery protocol, pacing,
// the idle interval, error handling and the lease.
import { describe, expect, it } from 'vitest';
import { NoAuthFoundError, OperationTimeLimitError, QueryLimitExceededError, ServerError } from '../../../functions/bitrix24/errors.js';
import { PublishError, QuarantineError } from '../../../functions/poller/errors.js';
import { pollSource } from '../../../functions/poller/poll-loop.js';
import { POLLER_METRICS } from '../../../functions/shared/observability.js';
import { FakeEventSource, harness, makeEvent, userSource } from './fakes.js';

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

  it('quarantines the invalid events of a page, publishes the valid ones and commits past them', async () => {
    const h = harness();
    const rejected = { position: 1, eventId: 2, reason: 'result.events[1].date is not an ISO 8601 date ("")', raw: { ...makeEvent(2), date: '' } };
    h.source.pageOverrides.push({ events: [makeEvent(1), makeEvent(3)], nextOffset: 4, hasMore: false, rejected: [rejected] });

    const report = await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });

    expect(report).toMatchObject({ stoppedBecause: 'drained', eventsPublished: 2, eventsQuarantined: 1, committedOffset: 4 });
    expect(h.sink.published.map((e) => e.eventId)).toEqual([1, 3]);
    expect(h.quarantine.stored).toEqual([{ fromOffset: undefined, event: rejected }]);
    expect(h.state.commits[0]?.quarantined).toEqual({ count: 1, lastReason: rejected.reason });
    expect(h.metrics.total(POLLER_METRICS.eventsQuarantined)).toBe(1);
  });

  it('a quarantine failure commits nothing (the page is fetched again)', async () => {
    const h = harness({ tuning: { maxConsecutiveFailures: 1 } });
    h.quarantine.failures.push(new QuarantineError('boom.', 'src'));
    h.source.pageOverrides.push({ events: [makeEvent(1)], nextOffset: 3, hasMore: false, rejected: [{ position: 1, eventId: 2, reason: 'x', raw: {} }] });

    const report = await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });

    expect(report).toMatchObject({ stoppedBecause: 'fatal-error', errorCode: 'QUARANTINE_FAILED' });
    expect(h.state.commits).toEqual([]);
    expect(h.sink.published).toEqual([]);
  });

  it('counts PollSucceeded on commit only: a poller whose publishing always fails goes stale', async () => {
    const h = harness();
    h.source.emit(3);
    h.sink.failures.push(new PublishError('denied.', [1]));
    await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });
    expect(h.source.fetches).toHaveLength(1);
    expect(h.metrics.total(POLLER_METRICS.pollSucceeded)).toBe(0);

    await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });
    expect(h.metrics.total(POLLER_METRICS.pollSucceeded)).toBe(h.state.commits.length);
    expect(h.state.commits.length).toBeGreaterThan(0);
  });

  it('an operator\'s reset-offset under a running poll stops it without committing over the reset', async () => {
    const h = harness();
    h.source.emit(3);
    const fetch = h.source.fetch.bind(h.source);
    h.source.fetch = async (offset) => {
      const page = await fetch(offset);
      h.state.committedOffset = 100; // reset-offset lands while the page is in flight
      return page;
    };

    const report = await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });

    expect(report).toMatchObject({ stoppedBecause: 'lease-lost', errorCode: 'OFFSET_MOVED' });
    expect(h.state.committedOffset).toBe(100);
  });
});

describe('pollSource: subscription', () => {
  it('subscribes on every cold start (a new event source: new container or new credentials) even when the state says subscribed', async () => {
    const h = harness();
    h.state.subscribed = true;
    h.state.subscribedAt = h.clock.now();
    await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });
    expect(h.source.subscribeCalls).toBe(1);
    const rebuilt = { ...h.deps, events: new FakeEventSource(h.clock) };
    await pollSource(rebuilt, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });
    expect(rebuilt.events.subscribeCalls).toBe(1);
  });

  it('subscribes again once the last subscription is older than resubscribeIntervalMs', async () => {
    const h = harness({ tuning: { resubscribeIntervalMs: 3_600_000 } });
    await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });
    h.clock.nowMs += 3_000_000;
    await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });
    expect(h.source.subscribeCalls).toBe(1);
    h.clock.nowMs += 700_000;
    await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });
    expect(h.source.subscribeCalls).toBe(2);
    expect(h.state.subscribedAt).toBe(h.clock.now());
  });

  it('never re-subscribes a source an operator unsubscribed', async () => {
    const h = harness();
    h.state.unsubscribedAt = h.clock.now() - 1_000;
    h.source.emit(2);
    const report = await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });
    expect(h.source.subscribeCalls).toBe(0);
    expect(report).toMatchObject({ stoppedBecause: 'drained', eventsPublished: 2 });
  });
});

describe('pollSource: pacing across runs', () => {
  it('a new run waits drainIntervalMs after the previous run\'s last Event.get when it said hasMore', async () => {
    const h = harness({ limit: 2 });
    h.source.emit(4);
    // The first run ends right after a page that had more (its deadline stops it).
    await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 8_000 + 2_000 + 1, mode: 'per-schedule' });
    expect(h.state.lastFetchHadMore).toBe(true);
    const lastCall = h.source.fetches.at(-1)?.at ?? 0;
    h.clock.nowMs = lastCall + 50;

    await pollSource(h.deps, userSource(), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });

    const next = h.source.fetches.find((f) => f.at > lastCall);
    expect(next?.at).toBeGreaterThanOrEqual(lastCall + 2_000);
  });

  it('after an idle page, a new run waits the idle interval\'s minimum since the previous call', async () => {
    const h = harness();
    await pollSource(h.deps, userSource({ idleInterval: { minSeconds: 5, maxSeconds: 60 } }), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });
    const lastCall = h.source.fetches.at(-1)?.at ?? 0;
    h.clock.nowMs = lastCall + 20;
    await pollSource(h.deps, userSource({ idleInterval: { minSeconds: 5, maxSeconds: 60 } }), { deadline: h.clock.now() + 60_000, mode: 'per-schedule' });
    expect(h.source.fetches.at(-1)?.at).toBeGreaterThanOrEqual(lastCall + 5_000);
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
