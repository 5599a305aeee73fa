// One poll run of one source: the delivery protocol, as a plain function over
// the ports. Invariant (checked by every integration test): an offset is sent
// to Bitrix24 only after every event below it was acknowledged by SQS, because
// the only offsets ever sent are the ones this loop committed, and it commits a
// page's nextOffset only after the sink acknowledged the whole page.
//
//   acquire lease ─busy→ exit 'lease-busy'
//     └→ wait out the previous run's pacing (its last Event.get time is in the state item)
//        └→ subscribe on a cold start / new credentials / hourly, unless an operator unsubscribed (record it)
//           └→ fetch(committed offset) → quarantine invalid events → publish the valid ones → commit nextOffset ─┐
//                 ↑   hasMore: after the drain pacing (≥ 2 s between calls)                                   │
//                 └── drained: 'per-schedule' exits; 'continuous' waits the idle ─────────────────────────────┘
//                     interval and polls again until the safety margin before the deadline
//   exit: release the lease (unless it was lost: then stop at once, commit nothing)
//
// PollSucceeded (the staleness heartbeat) counts commits, not fetches: a run
// that fetches but cannot publish or commit must go stale.
import { randomUUID } from 'node:crypto';
import type { SourceConfig } from '../shared/config.js';
import type { EventPage } from '../shared/event-types.js';
import { POLLER_METRICS } from '../shared/observability.js';
import { routeFor } from '../shared/topology.js';
import { recordBotRemoval, reportStandingBotRemoval, botRemovalIn, standingBotRemoval } from './bot-removed.js';
import { classifyFailure, describeError } from './error-policy.js';
import { LeaseBusyError, LeaseLostError, OffsetMovedError, PollerError } from './errors.js';
import { nextIdleDelayMs } from './idle-interval.js';
import type { EventSink, EventSource, Lease, PollerLogger, PollerMetrics, QuarantineStore, SourceState, SourceStateStore } from './ports.js';

export interface PollerTuning {
  /** Lease duration; every renewal and commit extends it by this much, in ms. @default 90000 */
  readonly leaseMs: number;
  /** Renew the lease before a fetch when less than this remains, in ms. @default 45000 */
  readonly renewBeforeMs: number;
  /** Time kept free at the end of a run for publish + commit + release, in ms. @default 8000 */
  readonly safetyMarginMs: number;
  /** A fetch is not started with less time than this before the safety margin, in ms. @default 2000 */
  readonly minFetchMs: number;
  /** Minimum time between Event.get starts while hasMore (Bitrix24 asks for ≥ 2 s), in ms. @default 2000 */
  readonly drainIntervalMs: number;
  /** First back-off after QUERY_LIMIT_EXCEEDED, doubled on each repeat, in ms. @default 5000 */
  readonly rateLimitBackoffMs: number;
  /** Longest back-off after QUERY_LIMIT_EXCEEDED, in ms. @default 60000 */
  readonly maxRateLimitBackoffMs: number;
  /** Pause after OPERATION_TIME_LIMIT when the reset time is unknown, in ms. @default 60000 */
  readonly operationLimitPauseMs: number;
  /** Delay before retrying after a transient failure (5xx, network, bad page), doubled on repeats, in ms. @default 2000 */
  readonly retryDelayMs: number;
  /** Consecutive failed polls after which the run stops with the last error code. @default 8 */
  readonly maxConsecutiveFailures: number;
  /** im.v2.Event.subscribe is repeated (it is idempotent) when the last one is older than this, in ms. @default 3600000 */
  readonly resubscribeIntervalMs: number;
}

export const DEFAULT_TUNING: PollerTuning = {
  leaseMs: 90_000,
  renewBeforeMs: 45_000,
  safetyMarginMs: 8_000,
  minFetchMs: 2_000,
  drainIntervalMs: 2_000,
  rateLimitBackoffMs: 5_000,
  maxRateLimitBackoffMs: 60_000,
  operationLimitPauseMs: 60_000,
  retryDelayMs: 2_000,
  maxConsecutiveFailures: 8,
  resubscribeIntervalMs: 3_600_000,
};

export interface PollerDependencies {
  readonly events: EventSource;
  readonly sink: EventSink;
  readonly state: SourceStateStore;
  /** Where invalid events are kept (the page is committed past them). */
  readonly quarantine: QuarantineStore;
  readonly logger: PollerLogger;
  readonly metrics: PollerMetrics;
  /** ms epoch. @default Date.now */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Event type → route key (for per-route counts in logs). */
  readonly routes: Readonly<Record<string, string>>;
  readonly tuning: PollerTuning;
}

export type StopReason = 'deadline' | 'drained' | 'lease-lost' | 'lease-busy' | 'fatal-error' | 'bot-removed' | 'stopped';

export interface PollReport {
  readonly sourceId: string;
  readonly pages: number;
  readonly eventsReceived: number;
  readonly eventsPublished: number;
  /** Invalid events put into quarantine (and committed past). */
  readonly eventsQuarantined: number;
  /** Events published per event type. */
  readonly byType: Record<string, number>;
  /** The committed offset at the end of the run (undefined before the first commit). */
  readonly committedOffset?: number;
  readonly stoppedBecause: StopReason;
  /** The code of the error that stopped the run (or of the last failure before the deadline). */
  readonly errorCode?: string;
  /** Failed polls per error code during the run. */
  readonly errors: Record<string, number>;
}

export interface PollOptions {
  /** ms epoch: the run must be finished (committed, lease released) by then. */
  readonly deadline: number;
  /** Lease owner id. @default a random UUID */
  readonly ownerId?: string;
  /** @default source.mode */
  readonly mode?: 'continuous' | 'per-schedule';
  /**
   * Asked before and after every wait between polls: true ends the run there ('stopped'), with everything
   * fetched published and committed and the lease released (a poller shard dropping a disabled source).
   * @default never
   */
  readonly shouldStop?: () => boolean;
}

function needsSubscription(source: SourceConfig): boolean {
  return source.kind === 'user' || source.withUserEvents;
}

/**
 * Event sources (one per client, so per credentials) that subscribed in this
 * process. A new source — a cold start, or a client rebuilt after the secret
 * changed — subscribes again: a subscription dropped by Bitrix24 or a secret
 * switched to another user is never left unsubscribed.
 */
const subscribedSources = new WeakSet<EventSource>();

class PollRun {
  private lease: Lease | undefined;
  private offset: number | undefined;
  private subscription: Pick<SourceState, 'subscribed' | 'subscribedAt' | 'unsubscribedAt'> = { subscribed: false };
  private pages = 0;
  private eventsReceived = 0;
  private eventsPublished = 0;
  private eventsQuarantined = 0;
  private readonly byType: Record<string, number> = {};
  private readonly errors: Record<string, number> = {};
  private errorCode: string | undefined;
  private consecutiveFailures = 0;
  private rateLimitBackoffMs: number;
  private retryDelayMs: number;
  private readonly owner: string;
  private readonly mode: 'continuous' | 'per-schedule';
  private readonly log: Record<string, unknown>;

  constructor(
    private readonly deps: PollerDependencies,
    private readonly source: SourceConfig,
    private readonly options: PollOptions,
  ) {
    this.owner = options.ownerId ?? randomUUID();
    this.mode = options.mode ?? source.mode;
    this.rateLimitBackoffMs = deps.tuning.rateLimitBackoffMs;
    this.retryDelayMs = deps.tuning.retryDelayMs;
    this.log = { sourceId: source.id, owner: this.owner };
  }

  private report(stoppedBecause: StopReason): PollReport {
    return {
      sourceId: this.source.id,
      pages: this.pages,
      eventsReceived: this.eventsReceived,
      eventsPublished: this.eventsPublished,
      eventsQuarantined: this.eventsQuarantined,
      byType: { ...this.byType },
      ...(this.offset === undefined ? {} : { committedOffset: this.offset }),
      stoppedBecause,
      ...(this.errorCode === undefined ? {} : { errorCode: this.errorCode }),
      errors: { ...this.errors },
    };
  }

  /** The latest moment a fetch may still start. */
  private get lastFetchStart(): number {
    return this.options.deadline - this.deps.tuning.safetyMarginMs - this.deps.tuning.minFetchMs;
  }

  async execute(): Promise<PollReport> {
    const { deps } = this;
    let state: SourceState;
    try {
      state = await deps.state.acquire({ owner: this.owner, now: deps.now(), leaseMs: deps.tuning.leaseMs });
      this.lease = state.lease;
      this.offset = state.committedOffset;
      this.subscription = state;
    } catch (error) {
      if (error instanceof LeaseBusyError) {
        deps.metrics.count(POLLER_METRICS.leaseConflicts, 1);
        deps.logger.info('lease busy: another run is polling this source', { ...this.log, holder: error.holder, leaseExpiresAt: error.expiresAt });
        this.flushMetrics();
        return this.report('lease-busy');
      }
      this.noteError(error, 'acquiring the lease failed');
      this.flushMetrics();
      return this.report('fatal-error');
    }
    deps.logger.info('lease acquired', { ...this.log, fencingToken: this.lease.fencingToken, committedOffset: this.offset, mode: this.mode });
    const removed = standingBotRemoval(state, this.source);
    if (removed !== undefined) {
      reportStandingBotRemoval(deps, this.source.id, removed, this.log);
      await this.release();
      this.flushMetrics();
      return this.report('bot-removed');
    }

    let stoppedBecause: StopReason;
    try {
      stoppedBecause = await this.loop(this.pacingAfterPreviousRun(state));
    } catch (error) {
      if (error instanceof LeaseLostError || error instanceof OffsetMovedError) {
        deps.metrics.count(POLLER_METRICS.leaseConflicts, 1);
        deps.logger.warn('lease lost: stopping without committing', { ...this.log, ...describeError(error) });
        this.errorCode = error.code;
        this.lease = undefined;
        stoppedBecause = 'lease-lost';
      } else {
        this.noteError(error, 'poll run failed');
        stoppedBecause = 'fatal-error';
      }
    }
    await this.release();
    const report = this.report(stoppedBecause);
    deps.logger.info('poll run finished', { ...this.log, ...report });
    this.flushMetrics();
    return report;
  }

  private flushMetrics(): void {
    try {
      this.deps.metrics.flush();
    } catch (error) {
      this.deps.logger.warn('flushing metrics failed', { ...this.log, ...describeError(error) });
    }
  }

  /** PollerErrors twice: the aggregate per-source series (alarmed on) and the per-code one. */
  private countPollerError(code: string): void {
    this.deps.metrics.count(POLLER_METRICS.pollerErrors, 1);
    this.deps.metrics.count(POLLER_METRICS.pollerErrors, 1, { ErrorCode: code });
  }

  private noteError(error: unknown, message: string): void {
    const code = error instanceof PollerError ? error.code : classifyFailure(error).code;
    this.errorCode = code;
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    this.countPollerError(code);
    this.deps.logger.error(message, { ...this.log, errorCode: code, committedOffset: this.offset, ...describeError(error) });
  }

  private async release(): Promise<void> {
    const lease = this.lease;
    if (lease === undefined) return;
    this.lease = undefined;
    try {
      await this.deps.state.release(lease, { now: this.deps.now() });
      this.deps.logger.debug('lease released', { ...this.log, fencingToken: lease.fencingToken });
    } catch (error) {
      // The lease then simply expires; nothing published is at risk.
      this.deps.logger.warn('releasing the lease failed; it will expire on its own', { ...this.log, ...describeError(error) });
    }
  }

  private currentLease(): Lease {
    if (this.lease === undefined) throw new PollerError('internal: the run has no lease', 'NO_LEASE');
    return this.lease;
  }

  private async renewIfNeeded(): Promise<void> {
    const { deps } = this;
    const lease = this.currentLease();
    const now = deps.now();
    if (lease.expiresAt - now >= deps.tuning.renewBeforeMs) return;
    this.lease = await deps.state.renew(lease, { now, leaseMs: deps.tuning.leaseMs });
  }

  /** Sleeps `ms` unless that would run past the last fetch start; returns false when the run should end. */
  private async waitFor(ms: number): Promise<boolean> {
    const { deps } = this;
    if (this.stopRequested()) return false;
    if (ms > 0) {
      if (deps.now() + ms > this.lastFetchStart) return false;
      await deps.sleep(ms);
    }
    return !this.stopRequested() && deps.now() <= this.lastFetchStart;
  }

  private stopRequested(): boolean {
    return this.options.shouldStop?.() === true;
  }

  private fetchDeadline(): number {
    const lease = this.currentLease();
    // Stop the client's retries before the lease could run out under us.
    return Math.min(this.options.deadline - this.deps.tuning.safetyMarginMs, lease.expiresAt - 1_000);
  }

  /**
   * The wait before this run's first Event.get, so Bitrix24's pacing holds
   * across runs too: ≥ drainIntervalMs after a previous call that said hasMore,
   * ≥ the idle interval's minimum after one that did not.
   */
  private pacingAfterPreviousRun(state: SourceState): number {
    if (state.lastFetchAt === undefined) return 0;
    const gapMs = state.lastFetchHadMore === true ? this.deps.tuning.drainIntervalMs : this.source.idleInterval.minSeconds * 1000;
    return Math.max(0, state.lastFetchAt + gapMs - this.deps.now());
  }

  private subscriptionDue(): boolean {
    const { deps, source } = this;
    if (!needsSubscription(source)) return false;
    // An operator's `unsubscribe` stands until their `subscribe`.
    if (this.subscription.unsubscribedAt !== undefined) return false;
    if (!subscribedSources.has(deps.events) || !this.subscription.subscribed || this.subscription.subscribedAt === undefined) return true;
    return deps.now() - this.subscription.subscribedAt >= deps.tuning.resubscribeIntervalMs;
  }

  private async loop(initialDelayMs: number): Promise<StopReason> {
    const { deps, source } = this;
    let delayMs = initialDelayMs;
    let idleMs: number | undefined;
    if (needsSubscription(source) && this.subscription.unsubscribedAt !== undefined) {
      deps.logger.warn('source unsubscribed by an operator: not re-subscribing (Bitrix24 records no new events); run `b24-pipeline subscribe --source <id>` to resume', {
        ...this.log,
        unsubscribedAt: this.subscription.unsubscribedAt,
      });
    }
    for (;;) {
      if (!(await this.waitFor(delayMs))) return this.stopRequested() ? 'stopped' : 'deadline';
      const fetchStartedAt = deps.now();
      await this.renewIfNeeded();

      let page: EventPage;
      try {
        if (this.subscriptionDue()) await this.subscribe();
        page = await this.fetch();
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        const verdict = classifyFailure(error);
        this.countFailure(verdict.code, error);
        if (verdict.action === 'stop') {
          if (verdict.authFailure) deps.metrics.count(POLLER_METRICS.authFailures, 1);
          this.errorCode = verdict.code;
          return 'fatal-error';
        }
        this.consecutiveFailures += 1;
        if (this.consecutiveFailures >= deps.tuning.maxConsecutiveFailures) {
          deps.logger.error('too many consecutive failed polls: stopping the run', { ...this.log, errorCode: verdict.code, failures: this.consecutiveFailures });
          return 'fatal-error';
        }
        delayMs = this.delayAfter(verdict);
        continue;
      }
      this.consecutiveFailures = 0;
      this.rateLimitBackoffMs = deps.tuning.rateLimitBackoffMs;
      this.retryDelayMs = deps.tuning.retryDelayMs;
      this.errorCode = undefined;

      await this.deliver(page, fetchStartedAt);
      const removal = botRemovalIn(page.events, source, deps.now());
      if (removal !== undefined) {
        await recordBotRemoval(deps, this.currentLease(), removal, this.log);
        return 'bot-removed';
      }

      if (page.hasMore) {
        idleMs = undefined;
        delayMs = Math.max(0, fetchStartedAt + deps.tuning.drainIntervalMs - deps.now());
        continue;
      }
      if (this.mode === 'per-schedule') return 'drained';
      idleMs = nextIdleDelayMs(idleMs, page.events.length > 0, source.idleInterval);
      delayMs = idleMs;
    }
  }

  private countFailure(code: string, error: unknown): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    this.errorCode = code;
    this.countPollerError(code);
    this.deps.logger.warn('poll failed', { ...this.log, errorCode: code, committedOffset: this.offset, ...describeError(error) });
  }

  private delayAfter(verdict: ReturnType<typeof classifyFailure>): number {
    const { tuning, now } = this.deps;
    switch (verdict.action) {
      case 'back-off': {
        const delay = this.rateLimitBackoffMs;
        this.rateLimitBackoffMs = Math.min(tuning.maxRateLimitBackoffMs, this.rateLimitBackoffMs * 2);
        return delay;
      }
      case 'pause':
        return verdict.resumeAt === undefined ? tuning.operationLimitPauseMs : Math.max(tuning.drainIntervalMs, verdict.resumeAt - now());
      default: {
        const delay = this.retryDelayMs;
        this.retryDelayMs = Math.min(tuning.maxRateLimitBackoffMs, this.retryDelayMs * 2);
        return delay;
      }
    }
  }

  private async subscribe(): Promise<void> {
    const { deps } = this;
    await deps.events.subscribe({ deadline: this.fetchDeadline() });
    const now = deps.now();
    await deps.state.markSubscribed(this.currentLease(), { now });
    subscribedSources.add(deps.events);
    this.subscription = { subscribed: true, subscribedAt: now };
    deps.logger.info('subscribed to the source\'s events (im.v2.Event.subscribe)', this.log);
  }

  private async fetch(): Promise<EventPage> {
    const { deps } = this;
    const startedAt = deps.now();
    const page = await deps.events.fetch(this.offset, { deadline: this.fetchDeadline() });
    deps.metrics.milliseconds(POLLER_METRICS.apiLatency, deps.now() - startedAt);
    return page;
  }

  /** Publish every event of the page, then commit its nextOffset: the heart of "nothing lost". */
  private async deliver(page: EventPage, fetchedAt: number): Promise<void> {
    const { deps } = this;
    const receivedAt = deps.now();
    const fromOffset = this.offset;
    const rejected = page.rejected ?? [];
    this.pages += 1;
    this.eventsReceived += page.events.length + rejected.length;
    deps.metrics.count(POLLER_METRICS.pages, 1);

    // Invalid events are stored whole with their reason before the commit moves past them: never lost, never a stall.
    if (rejected.length > 0) {
      await deps.quarantine.put({ fromOffset, events: rejected, now: receivedAt });
      this.eventsQuarantined += rejected.length;
      deps.metrics.count(POLLER_METRICS.eventsQuarantined, rejected.length);
      for (const event of rejected) {
        deps.logger.warn('invalid event quarantined; the source commits past it', { ...this.log, fromOffset, eventId: event.eventId, position: event.position, reason: event.reason });
      }
    }

    const typeCounts: Record<string, number> = {};
    let oldestDate = Number.POSITIVE_INFINITY;
    for (const event of page.events) {
      typeCounts[event.type] = (typeCounts[event.type] ?? 0) + 1;
      const date = Date.parse(event.date);
      if (Number.isFinite(date)) oldestDate = Math.min(oldestDate, date);
    }
    for (const [type, count] of Object.entries(typeCounts)) deps.metrics.count(POLLER_METRICS.eventsReceived, count, { EventType: type });
    if (Number.isFinite(oldestDate)) deps.metrics.milliseconds(POLLER_METRICS.eventAge, Math.max(0, receivedAt - oldestDate));

    if (page.events.length > 0) {
      const result = await deps.sink.publish({ events: page.events, receivedAt });
      this.eventsPublished += page.events.length;
      for (const [type, count] of Object.entries(typeCounts)) {
        this.byType[type] = (this.byType[type] ?? 0) + count;
        deps.metrics.count(POLLER_METRICS.eventsPublished, count, { EventType: type });
      }
      if (result.oversize > 0) deps.metrics.count(POLLER_METRICS.oversizeEvents, result.oversize);
    }

    this.lease = await deps.state.commit(this.currentLease(), {
      fromOffset,
      nextOffset: page.nextOffset,
      events: page.events.length,
      oldestEventAgeMs: Number.isFinite(oldestDate) ? Math.max(0, receivedAt - oldestDate) : 0,
      now: deps.now(),
      leaseMs: deps.tuning.leaseMs,
      fetchedAt,
      hasMore: page.hasMore,
      ...(rejected.length === 0 ? {} : { quarantined: { count: rejected.length, lastReason: rejected.at(-1)?.reason ?? '' } }),
    });
    this.offset = page.nextOffset;
    deps.metrics.count(POLLER_METRICS.pollSucceeded, 1);
    deps.logger.info('page delivered', {
      ...this.log,
      fromOffset,
      nextOffset: page.nextOffset,
      events: page.events.length,
      quarantined: rejected.length,
      hasMore: page.hasMore,
      byType: typeCounts,
      firstEventId: page.events[0]?.eventId,
      lastEventId: page.events.at(-1)?.eventId,
      routes: page.events.length === 0 ? undefined : [...new Set(Object.keys(typeCounts).map((t) => routeFor(deps.routes, t)))],
    });
  }
}

/** Runs one poll of `source` until drained ('per-schedule') or shortly before `deadline` ('continuous'). Never throws. */
export async function pollSource(deps: PollerDependencies, source: SourceConfig, options: PollOptions): Promise<PollReport> {
  return await new PollRun(deps, source, options).execute();
}
