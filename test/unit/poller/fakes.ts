// In-memory stand-ins for the poller's ports, with Bitrix24's offset semantics
// and the lease state machine, for unit tests of the loop.
import type { EventPage, RawBitrixEvent, RejectedEvent } from '../../../functions/shared/event-types.js';
import { LeaseBusyError, LeaseLostError, OffsetMovedError } from '../../../functions/poller/errors.js';
import { DEFAULT_TUNING, type PollerDependencies, type PollerTuning } from '../../../functions/poller/poll-loop.js';
import type {
  CommitInput,
  EventSink,
  EventSource,
  Lease,
  PollerMetrics,
  PublishInput,
  PublishResult,
  QuarantineStore,
  SourceState,
  SourceStateStore,
} from '../../../functions/poller/ports.js';
import { silentLogger } from '../../../functions/poller/observability.js';
import { parseSourceConfig, type SourceConfig, type SourceConfigInput } from '../../../functions/shared/config.js';

export class FakeClock {
  constructor(public nowMs = 1_700_000_000_000) {}
  readonly now = (): number => this.nowMs;
  readonly sleeps: number[] = [];
  readonly sleep = (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.nowMs += ms;
    return Promise.resolve();
  };
}

export function makeEvent(eventId: number, type = 'ONIMV2MESSAGEADD', chat = 'chat1'): RawBitrixEvent {
  return { eventId, type, date: '2025-01-15T10:30:00+02:00', data: { chat: { id: 1, dialogId: chat }, message: { id: eventId, text: `m${eventId}` } } };
}

/** Bitrix24's Event.get semantics: an offset confirms (deletes) everything below it. */
export class FakeEventSource implements EventSource {
  readonly portal = 'example.bitrix24.com';
  pending: RawBitrixEvent[] = [];
  readonly fetches: Array<{ offset: number | undefined; at: number }> = [];
  subscribeCalls = 0;
  /** Errors thrown by the next fetches, in order. */
  failures: Error[] = [];
  /** Replaces the next page (bad-page tests). */
  pageOverrides: EventPage[] = [];
  latencyMs = 0;
  private nextId = 1;

  constructor(
    private readonly clock: FakeClock,
    private readonly limit = 3,
  ) {}

  emit(count: number, type = 'ONIMV2MESSAGEADD'): RawBitrixEvent[] {
    const made = Array.from({ length: count }, () => makeEvent(this.nextId++, type));
    this.pending.push(...made);
    return made;
  }

  fetch(offset: number | undefined): Promise<EventPage> {
    this.fetches.push({ offset, at: this.clock.now() });
    this.clock.nowMs += this.latencyMs;
    const failure = this.failures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    if (offset !== undefined) this.pending = this.pending.filter((e) => e.eventId >= offset);
    const override = this.pageOverrides.shift();
    if (override !== undefined) return Promise.resolve(override);
    const events = this.pending.slice(0, this.limit);
    const last = events.at(-1);
    return Promise.resolve({
      events,
      nextOffset: last === undefined ? (offset ?? this.nextId) : last.eventId + 1,
      hasMore: this.pending.length > events.length,
    });
  }

  subscribe(): Promise<void> {
    this.subscribeCalls += 1;
    return Promise.resolve();
  }
}

export class FakeSink implements EventSink {
  readonly published: RawBitrixEvent[] = [];
  failures: Error[] = [];
  publish(input: PublishInput): Promise<PublishResult> {
    const failure = this.failures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    this.published.push(...input.events);
    return Promise.resolve({ byRoute: {}, oversize: 0 });
  }
}

/** The DynamoDB store's state machine, in memory. */
export class InMemoryStateStore implements SourceStateStore {
  owner: string | undefined;
  expiresAt = 0;
  token = 0;
  committedOffset: number | undefined;
  subscribed = false;
  subscribedAt: number | undefined;
  unsubscribedAt: number | undefined;
  lastFetchAt: number | undefined;
  lastFetchHadMore: boolean | undefined;
  commits: CommitInput[] = [];
  releases = 0;
  writes = 0;

  constructor(private readonly sourceId = 'src') {}

  private lost(lease: Lease): LeaseLostError | undefined {
    if (this.owner === lease.owner && this.token === lease.fencingToken) return undefined;
    return new LeaseLostError({ sourceId: this.sourceId, owner: lease.owner, fencingToken: lease.fencingToken, currentToken: this.token });
  }

  acquire(input: { owner: string; now: number; leaseMs: number }): Promise<SourceState> {
    this.writes += 1;
    if (this.owner !== undefined && this.expiresAt >= input.now) {
      return Promise.reject(new LeaseBusyError({ sourceId: this.sourceId, holder: this.owner, expiresAt: this.expiresAt }));
    }
    this.owner = input.owner;
    this.token += 1;
    this.expiresAt = input.now + input.leaseMs;
    const lease = { sourceId: this.sourceId, owner: input.owner, fencingToken: this.token, expiresAt: this.expiresAt };
    const optional = (name: string, value: number | boolean | undefined) => (value === undefined ? {} : { [name]: value });
    return Promise.resolve({
      lease,
      subscribed: this.subscribed,
      ...optional('committedOffset', this.committedOffset),
      ...optional('subscribedAt', this.subscribedAt),
      ...optional('unsubscribedAt', this.unsubscribedAt),
      ...optional('lastFetchAt', this.lastFetchAt),
      ...optional('lastFetchHadMore', this.lastFetchHadMore),
    });
  }

  renew(lease: Lease, input: { now: number; leaseMs: number }): Promise<Lease> {
    this.writes += 1;
    const lost = this.lost(lease);
    if (lost !== undefined) return Promise.reject(lost);
    this.expiresAt = input.now + input.leaseMs;
    return Promise.resolve({ ...lease, expiresAt: this.expiresAt });
  }

  commit(lease: Lease, input: CommitInput): Promise<Lease> {
    this.writes += 1;
    const lost = this.lost(lease);
    if (lost !== undefined) return Promise.reject(lost);
    if (this.committedOffset !== input.fromOffset) {
      return Promise.reject(
        new OffsetMovedError({
          sourceId: this.sourceId,
          attemptedOffset: input.nextOffset,
          ...(input.fromOffset === undefined ? {} : { fromOffset: input.fromOffset }),
          ...(this.committedOffset === undefined ? {} : { storedOffset: this.committedOffset }),
        }),
      );
    }
    this.committedOffset = input.nextOffset;
    if (input.fetchedAt !== undefined) {
      this.lastFetchAt = input.fetchedAt;
      this.lastFetchHadMore = input.hasMore === true;
    }
    this.commits.push(input);
    this.expiresAt = input.now + input.leaseMs;
    return Promise.resolve({ ...lease, expiresAt: this.expiresAt });
  }

  markSubscribed(lease: Lease, input: { now: number }): Promise<void> {
    this.writes += 1;
    const lost = this.lost(lease);
    if (lost !== undefined) return Promise.reject(lost);
    this.subscribed = true;
    this.subscribedAt = input.now;
    return Promise.resolve();
  }

  release(lease: Lease): Promise<void> {
    this.writes += 1;
    if (this.owner === lease.owner && this.token === lease.fencingToken) {
      this.owner = undefined;
      this.releases += 1;
    }
    return Promise.resolve();
  }
}

export class FakeQuarantine implements QuarantineStore {
  readonly stored: Array<{ fromOffset: number | undefined; event: RejectedEvent }> = [];
  failures: Error[] = [];
  put(input: { fromOffset: number | undefined; events: readonly RejectedEvent[] }): Promise<void> {
    const failure = this.failures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    for (const event of input.events) this.stored.push({ fromOffset: input.fromOffset, event });
    return Promise.resolve();
  }
}

export class RecordingMetrics implements PollerMetrics {
  readonly entries: Array<{ name: string; value: number; dimensions?: Readonly<Record<string, string>> }> = [];
  flushes = 0;
  count(name: string, value: number, dimensions?: Readonly<Record<string, string>>): void {
    this.entries.push({ name, value, ...(dimensions === undefined ? {} : { dimensions }) });
  }
  milliseconds(name: string, value: number, dimensions?: Readonly<Record<string, string>>): void {
    this.count(name, value, dimensions);
  }
  flush(): void {
    this.flushes += 1;
  }
  total(name: string, dimensions?: Readonly<Record<string, string>>): number {
    return this.entries
      .filter((e) => e.name === name && (dimensions === undefined || Object.entries(dimensions).every(([k, v]) => e.dimensions?.[k] === v)))
      .reduce((sum, e) => sum + e.value, 0);
  }
}

export function userSource(overrides: Partial<SourceConfigInput> = {}): SourceConfig {
  return parseSourceConfig({ id: 'src', kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook', ...overrides });
}

export interface Harness {
  readonly clock: FakeClock;
  readonly source: FakeEventSource;
  readonly sink: FakeSink;
  readonly state: InMemoryStateStore;
  readonly quarantine: FakeQuarantine;
  readonly metrics: RecordingMetrics;
  readonly deps: PollerDependencies;
}

export function harness(options: { limit?: number; tuning?: Partial<PollerTuning> } = {}): Harness {
  const clock = new FakeClock();
  const source = new FakeEventSource(clock, options.limit ?? 3);
  const sink = new FakeSink();
  const state = new InMemoryStateStore();
  const quarantine = new FakeQuarantine();
  const metrics = new RecordingMetrics();
  return {
    clock,
    source,
    sink,
    state,
    quarantine,
    metrics,
    deps: {
      events: source,
      sink,
      state,
      quarantine,
      logger: silentLogger,
      metrics,
      now: clock.now,
      sleep: clock.sleep,
      routes: {},
      tuning: { ...DEFAULT_TUNING, ...options.tuning },
    },
  };
}
