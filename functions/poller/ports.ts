// The poller's ports (after grammyjs/runner's source/sink split): a *source*
// of pages read from an offset, a *sink* that puts a page durably into the
// queues, and the *state store* that owns the lease and the committed offset.
// The loop (poll-loop.ts) joins them; AWS and HTTP live in the adapters.
import type { EventPage, RawBitrixEvent, RejectedEvent } from '../shared/event-types.js';

export interface FetchOptions {
  /** ms epoch: the client stops retrying at this point and throws its last error. */
  readonly deadline: number;
}

/** Reads one source's event stream. */
export interface EventSource {
  /** Portal host (never a secret), for logs and envelopes. */
  readonly portal: string;
  /**
   * One Event.get: `offset` confirms every event below it; `undefined` on a source's first read.
   * The page is validated (functions/bitrix24/response.ts validateEventPage): invalid events come in `rejected`.
   */
  fetch(offset: number | undefined, options: FetchOptions): Promise<EventPage>;
  /** im.v2.Event.subscribe (idempotent). */
  subscribe(options: FetchOptions): Promise<void>;
}

export interface PublishInput {
  readonly events: readonly RawBitrixEvent[];
  /** When the page arrived, ms epoch (goes into every envelope). */
  readonly receivedAt: number;
}

export interface PublishResult {
  /** Events put into each route's queue. */
  readonly byRoute: Readonly<Record<string, number>>;
  /** Events sent through the claim-check bucket because they exceed the SQS message size. */
  readonly oversize: number;
}

/** Puts events durably into the queues. */
export interface EventSink {
  /** Resolves only when SQS acknowledged every event; throws PublishError otherwise (retries happen inside). */
  publish(input: PublishInput): Promise<PublishResult>;
}

/** The lease a run holds: every conditional write names it. */
export interface Lease {
  readonly sourceId: string;
  readonly owner: string;
  /** Monotonic over the source's life: each acquisition increments it. */
  readonly fencingToken: number;
  /** ms epoch. */
  readonly expiresAt: number;
}

export interface SourceState {
  readonly lease: Lease;
  /** The offset the next Event.get sends; undefined before the first commit. */
  readonly committedOffset?: number;
  readonly subscribed: boolean;
  /** Last successful im.v2.Event.subscribe recorded by a poller or the CLI, ms epoch. */
  readonly subscribedAt?: number;
  /** Set by the CLI's `unsubscribe` (cleared by its `subscribe`): the poller must not re-subscribe, ms epoch. */
  readonly unsubscribedAt?: number;
  /** When the Event.get of the last committed page started (any run), ms epoch: pacing across runs. */
  readonly lastFetchAt?: number;
  /** Whether that page said hasMore. */
  readonly lastFetchHadMore?: boolean;
  /** The source's bot was removed (ONIMBOTV2DELETE): the poller stops polling it (bot-removed.ts). */
  readonly botRemoved?: BotRemoval;
}

/** Which bot was removed, by which event, when (ms epoch). */
export interface BotRemoval {
  readonly botId: number;
  readonly eventId: number;
  readonly at: number;
}

export interface CommitInput {
  /** The offset the page was fetched with (undefined on the first read). */
  readonly fromOffset: number | undefined;
  readonly nextOffset: number;
  /** Events in the page (added to the item's counters). */
  readonly events: number;
  /** Age of the page's oldest event when it was received (how far behind the source was), 0 for an empty page, in ms. */
  readonly oldestEventAgeMs?: number;
  readonly now: number;
  /** The lease is extended to `now + leaseMs` in the same write. */
  readonly leaseMs: number;
  /** When the page's Event.get started, ms epoch (kept for the next run's pacing). */
  readonly fetchedAt?: number;
  /** The page's hasMore (kept for the next run's pacing). */
  readonly hasMore?: boolean;
  /** Events of the page put into quarantine (added to the item's counter), and the last one's reason. */
  readonly quarantined?: { readonly count: number; readonly lastReason: string };
}

/** The source's state item: lease, committed offset, subscription, counters. */
export interface SourceStateStore {
  /** Takes the lease if free or expired (or already ours: a retried acquire); throws LeaseBusyError otherwise. */
  acquire(input: { owner: string; now: number; leaseMs: number }): Promise<SourceState>;
  /** Extends the lease; throws LeaseLostError if it is no longer ours. */
  renew(lease: Lease, input: { now: number; leaseMs: number }): Promise<Lease>;
  /**
   * Moves the offset from `fromOffset` to `nextOffset` and extends the lease in one conditional write:
   * LeaseLostError when the lease is not ours, OffsetMovedError when the stored offset is no longer `fromOffset`
   * (an operator's reset-offset). A retried commit that already landed is recognised as done.
   */
  commit(lease: Lease, input: CommitInput): Promise<Lease>;
  /** Records a successful Event.subscribe (conditional on the lease). */
  markSubscribed(lease: Lease, input: { now: number }): Promise<void>;
  /** Records that the source's bot was removed (conditional on the lease). Optional: a store without it polls on. */
  markBotRemoved?(lease: Lease, removal: BotRemoval): Promise<void>;
  /** Gives the lease up (conditional on still holding it; a lost lease is not an error here). */
  release(lease: Lease, input: { now: number }): Promise<void>;
}

/** Where invalid events go: kept whole with the reason, so the source can commit past them. */
export interface QuarantineStore {
  /** Stores each rejected event durably (idempotent: the same event lands on the same key); throws when it could not. */
  put(input: { readonly fromOffset: number | undefined; readonly events: readonly RejectedEvent[]; readonly now: number }): Promise<void>;
}

export type LogFields = Record<string, unknown>;

/** Structured logging port (Powertools Logger in Lambda). Fields never carry secrets. */
export interface PollerLogger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Metrics port (Powertools Metrics / EMF in Lambda). The SourceId dimension is the adapter's business. */
export interface PollerMetrics {
  count(name: string, value: number, dimensions?: Readonly<Record<string, string>>): void;
  milliseconds(name: string, value: number, dimensions?: Readonly<Record<string, string>>): void;
  /** Writes what is buffered (end of a run). */
  flush(): void;
}
