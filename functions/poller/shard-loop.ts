// One poller shard invocation (issue 13 §2): many sources polled concurrently
// in one process, each by the unchanged per-source protocol (pollSource: the
// same fenced lease, publish-before-commit, per-source pacing).
//
//   every refreshIntervalMs until shortly before the deadline:
//     list the registry ─→ enabled sources (a registry failure keeps the current set)
//     read their leases (one BatchGetItem per 100) ─→ emit WorstSourceStalenessSeconds, name the worst source
//     stop runs of sources removed, disabled or changed (they end at their next wait: committed, lease released)
//     claim up to K: own shard's free sources, then others' long-free ones (fleet-plan.ts)
//     start pollSource for each claim (lease busy → it returns at once, nothing fetched)
//   at the end: wait for every run (each stops itself before the deadline and releases its lease)
//
// A busy source cannot starve the others: every source is its own task that
// yields at each await, waits only on its own pacing, and shares the portal's
// rate with the others through the portal budget's FIFO of reservations.
import { randomUUID } from 'node:crypto';
import type { RegisteredSource } from '../registry/source-registry.js';
import { classifyFailure, describeError } from './error-policy.js';
import { planClaims, stalenessSeconds, worstStaleness, type LeaseView, type PlannedSource } from './fleet-plan.js';
import type { LeaseViewReader } from './fleet-lease-view.js';
import { pollSource, type PollerDependencies, type PollReport } from './poll-loop.js';
import type { PollerLogger } from './ports.js';

/** The fleet's staleness metrics (functions/shared/observability.ts; the registry's alarms watch them). */
export interface FleetMetrics {
  /** FleetMaxStalenessSeconds: the stalest enabled source, dimensions { service }. */
  fleetMaxStaleness(seconds: number): void;
  /** SourceStalenessSeconds of one enabled source, dimensions { service, SourceId }. */
  sourceStaleness(sourceId: string, seconds: number): void;
}

export interface ShardDependencies {
  readonly registry: { list(): Promise<readonly RegisteredSource[]> };
  readonly leases: LeaseViewReader;
  /** The poller ports of a source (cached by the caller per credentials); throws when it cannot be polled (no secret…). */
  readonly pollerFor: (source: RegisteredSource) => Promise<PollerDependencies>;
  readonly logger: PollerLogger;
  readonly metrics: FleetMetrics;
  /** ms epoch. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface ShardOptions {
  /** This shard, 0 ≤ shard < shardCount. */
  readonly shard: number;
  readonly shardCount: number;
  /** Sources held at once (K). */
  readonly sourcesPerInvocation: number;
  /** ms epoch: every run is committed and released by then. */
  readonly deadline: number;
  /** Lease owner prefix (the invocation's request id); each source run appends its own suffix. @default a random UUID */
  readonly ownerId?: string;
  /** Between registry refreshes (new, disabled, removed sources; claims; staleness), in ms. @default 15000 */
  readonly refreshIntervalMs?: number;
  /** Another shard's source is adopted after being free this long (its home shard claims at once), in ms. @default 20000 */
  readonly adoptAfterMs?: number;
  /** No refresh (so no new run) this close to the deadline, in ms. @default 10000 */
  readonly stopClaimingBeforeMs?: number;
  /** A source whose run failed to start or stopped on an error is not retried by this invocation for this long, in ms. @default 60000 */
  readonly failureCooldownMs?: number;
  /** SourceStalenessSeconds of every enabled source is published at most this often (FleetMaxStalenessSeconds on every refresh), in ms. @default 60000 */
  readonly perSourceStalenessEveryMs?: number;
}

export interface ShardReport {
  readonly shard: number;
  readonly shardCount: number;
  /** Every run this invocation made, in the order they ended. */
  readonly runs: readonly PollReport[];
  readonly refreshes: number;
  readonly registryErrors: number;
  /** The last staleness seen. */
  readonly worst?: { readonly sourceId: string; readonly seconds: number };
  /** Claimed sources whose run could not start (no secret, app uninstalled: `APP_NOT_INSTALLED`, …), each cooled down. */
  readonly notPolled: readonly { readonly sourceId: string; readonly errorCode: string }[];
}

interface RunningSource {
  stop: boolean;
  readonly configKey: string;
  wake: () => void;
}

function configKeyOf(source: RegisteredSource): string {
  return JSON.stringify([source.config, source.credentials]);
}

class ShardRun {
  private readonly running = new Map<string, RunningSource>();
  private readonly done = new Set<Promise<void>>();
  private readonly cooldown = new Map<string, number>();
  private readonly runs: PollReport[] = [];
  private readonly notPolled: { sourceId: string; errorCode: string }[] = [];
  private refreshes = 0;
  private registryErrors = 0;
  private worst: { sourceId: string; seconds: number } | undefined;
  private perSourceStalenessAt: number | undefined;
  private readonly ownerId: string;
  private readonly log: Record<string, unknown>;

  constructor(
    private readonly deps: ShardDependencies,
    private readonly options: ShardOptions,
  ) {
    this.ownerId = options.ownerId ?? randomUUID();
    this.log = { shard: options.shard, shardCount: options.shardCount };
  }

  async execute(): Promise<ShardReport> {
    const { deps, options } = this;
    const refreshIntervalMs = options.refreshIntervalMs ?? 15_000;
    const lastRefresh = options.deadline - (options.stopClaimingBeforeMs ?? 10_000);
    deps.logger.info('shard started', { ...this.log, sourcesPerInvocation: options.sourcesPerInvocation, deadline: new Date(options.deadline).toISOString() });
    while (deps.now() <= lastRefresh) {
      await this.refresh();
      const waitMs = Math.min(refreshIntervalMs, lastRefresh - deps.now());
      if (waitMs <= 0) break;
      await deps.sleep(waitMs);
    }
    while (this.done.size > 0) await Promise.all([...this.done]);
    const report: ShardReport = {
      shard: options.shard,
      shardCount: options.shardCount,
      runs: this.runs,
      refreshes: this.refreshes,
      registryErrors: this.registryErrors,
      ...(this.worst === undefined ? {} : { worst: this.worst }),
      notPolled: this.notPolled,
    };
    deps.logger.info('shard finished', { ...this.log, runs: this.runs.length, refreshes: this.refreshes, registryErrors: this.registryErrors });
    return report;
  }

  private async refresh(): Promise<void> {
    const { deps, options } = this;
    this.refreshes += 1;
    let registered: readonly RegisteredSource[];
    try {
      registered = await deps.registry.list();
    } catch (error) {
      this.registryErrors += 1;
      deps.logger.warn('listing the source registry failed; keeping the sources held', { ...this.log, ...describeError(error) });
      return;
    }
    const enabled = new Map(registered.filter((s) => s.config.enabled).map((s) => [s.config.id, s]));
    for (const [id, run] of this.running) {
      const current = enabled.get(id);
      if (current !== undefined && configKeyOf(current) === run.configKey) continue;
      if (!run.stop) deps.logger.info(current === undefined ? 'source disabled or removed: stopping its run' : 'source changed: restarting its run', { ...this.log, sourceId: id });
      run.stop = true;
      run.wake();
    }
    let leases: ReadonlyMap<string, LeaseView>;
    try {
      leases = await deps.leases.read([...enabled.keys()]);
    } catch (error) {
      deps.logger.warn('reading the sources\' leases failed; no new claims this round', { ...this.log, ...describeError(error) });
      return;
    }
    const now = deps.now();
    const planned: PlannedSource[] = [...enabled.values()].map((s) => ({ id: s.config.id, registeredAt: Date.parse(s.updatedAt) || now }));
    const worst = worstStaleness(planned, leases, now);
    if (this.perSourceStalenessAt === undefined || now - this.perSourceStalenessAt >= (options.perSourceStalenessEveryMs ?? 60_000)) {
      this.perSourceStalenessAt = now;
      for (const source of planned) deps.metrics.sourceStaleness(source.id, stalenessSeconds(source, leases, now));
    }
    if (worst !== undefined) {
      this.worst = worst;
      deps.metrics.fleetMaxStaleness(worst.seconds);
      deps.logger.info('fleet staleness', { ...this.log, worstSourceId: worst.sourceId, worstStalenessSeconds: worst.seconds, enabledSources: enabled.size, held: this.running.size });
    }
    for (const [id, until] of this.cooldown) if (until <= now) this.cooldown.delete(id);
    const claims = planClaims({
      shard: options.shard,
      shardCount: options.shardCount,
      sourcesPerInvocation: options.sourcesPerInvocation,
      adoptAfterMs: options.adoptAfterMs ?? 20_000,
      now,
      sources: planned,
      leases,
      busy: new Set([...this.running.keys(), ...this.cooldown.keys()]),
    });
    for (const id of claims) {
      const source = enabled.get(id);
      if (source !== undefined) this.start(source);
    }
  }

  private start(source: RegisteredSource): void {
    const id = source.config.id;
    let wake: () => void = () => undefined;
    const woken = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const run: RunningSource = { stop: false, configKey: configKeyOf(source), wake };
    run.wake = wake;
    this.running.set(id, run);
    const task = this.poll(source, run, woken).finally(() => {
      this.running.delete(id);
      this.done.delete(task);
    });
    this.done.add(task);
  }

  private async poll(source: RegisteredSource, run: RunningSource, woken: Promise<void>): Promise<void> {
    const { deps, options } = this;
    const id = source.config.id;
    let pollerDeps: PollerDependencies;
    try {
      pollerDeps = await deps.pollerFor(source);
    } catch (error) {
      this.cooldown.set(id, deps.now() + (options.failureCooldownMs ?? 60_000));
      const { code } = classifyFailure(error);
      this.notPolled.push({ sourceId: id, errorCode: code });
      deps.logger.error('source cannot be polled (credentials or configuration); retried after the cooldown', { ...this.log, sourceId: id, errorCode: code, ...describeError(error) });
      return;
    }
    // Waits between polls end early when the source is dropped; the sink's own retry waits are untouched.
    const sleep = (ms: number): Promise<void> => Promise.race([pollerDeps.sleep(ms), woken]);
    const report = await pollSource({ ...pollerDeps, sleep }, source.config, {
      deadline: options.deadline,
      ownerId: `${this.ownerId}-${randomUUID().slice(0, 8)}`,
      mode: source.config.mode,
      shouldStop: () => run.stop,
    });
    this.runs.push(report);
    if (report.stoppedBecause === 'fatal-error' || report.stoppedBecause === 'bot-removed') this.cooldown.set(id, deps.now() + (options.failureCooldownMs ?? 60_000));
  }
}

/** Runs one shard invocation until shortly before `options.deadline`. Never throws for a source's failure. */
export async function runShard(deps: ShardDependencies, options: ShardOptions): Promise<ShardReport> {
  return await new ShardRun(deps, options).execute();
}
