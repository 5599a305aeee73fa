// Which sources a poller shard claims: pure decisions over the registry's
// enabled sources and what their state items say about their leases.
//
//   home shard of a source = FNV-1a(source id) mod shardCount   (stable: the same shard as long as shardCount stays)
//   1. the shard's own sources, free or expired, most stale first
//   2. then other shards' sources that have been free (released, expired or
//      never polled) for at least adoptAfterMs — a dead or overloaded shard's
//      sources are picked up, while a live home shard, which claims at once,
//      always wins the race for its own
//   up to sourcesPerInvocation sources held at a time.
// Claiming is only a try: the lease's conditional write in pollSource decides.

export interface LeaseView {
  /** Lease holder (absent when free). */
  readonly owner?: string;
  /** ms epoch. */
  readonly expiresAt?: number;
  /** Last release, ms epoch. */
  readonly releasedAt?: number;
  /** Last committed page (the staleness heartbeat), ms epoch. */
  readonly lastCommittedAt?: number;
}

export interface PlannedSource {
  readonly id: string;
  /** Registry updatedAt, ms epoch: when a never-polled source became pollable. */
  readonly registeredAt: number;
}

export interface ClaimPlanInput {
  readonly shard: number;
  readonly shardCount: number;
  readonly sourcesPerInvocation: number;
  readonly adoptAfterMs: number;
  readonly now: number;
  /** Enabled sources, any order. */
  readonly sources: readonly PlannedSource[];
  readonly leases: ReadonlyMap<string, LeaseView>;
  /** Sources this invocation is polling now (or must not retry yet). */
  readonly busy: ReadonlySet<string>;
}

/** FNV-1a 32-bit: a stable, well-spread hash of the source id (no crypto needed). */
export function homeShardOf(sourceId: string, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < sourceId.length; i += 1) {
    hash ^= sourceId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shardCount;
}

function freeSince(lease: LeaseView | undefined, source: PlannedSource, now: number): number | undefined {
  if (lease === undefined) return source.registeredAt;
  if (lease.owner !== undefined) return lease.expiresAt !== undefined && lease.expiresAt < now ? lease.expiresAt : undefined;
  return lease.releasedAt ?? lease.lastCommittedAt ?? source.registeredAt;
}

/** The source ids to try now, in order. */
export function planClaims(input: ClaimPlanInput): string[] {
  const slots = input.sourcesPerInvocation - input.busy.size;
  if (slots <= 0) return [];
  const own: Array<{ id: string; staleSince: number }> = [];
  const foreign: Array<{ id: string; staleSince: number }> = [];
  for (const source of input.sources) {
    if (input.busy.has(source.id)) continue;
    const lease = input.leases.get(source.id);
    const since = freeSince(lease, source, input.now);
    if (since === undefined) continue;
    const staleSince = lease?.lastCommittedAt ?? 0;
    if (homeShardOf(source.id, input.shardCount) === input.shard) own.push({ id: source.id, staleSince });
    else if (input.now - since >= input.adoptAfterMs) foreign.push({ id: source.id, staleSince });
  }
  const mostStaleFirst = (a: { id: string; staleSince: number }, b: { id: string; staleSince: number }) => a.staleSince - b.staleSince || a.id.localeCompare(b.id);
  return [...own.sort(mostStaleFirst), ...foreign.sort(mostStaleFirst)].slice(0, slots).map((s) => s.id);
}

/** Seconds since the source's last committed page (never polled: since it was registered). */
export function stalenessSeconds(source: PlannedSource, leases: ReadonlyMap<string, LeaseView>, now: number): number {
  const last = leases.get(source.id)?.lastCommittedAt ?? source.registeredAt;
  return Math.max(0, Math.round((now - last) / 1000));
}

/** The fleet-wide staleness: the enabled source longest without a committed page. */
export function worstStaleness(sources: readonly PlannedSource[], leases: ReadonlyMap<string, LeaseView>, now: number): { sourceId: string; seconds: number } | undefined {
  let worst: { sourceId: string; seconds: number } | undefined;
  for (const source of sources) {
    const seconds = stalenessSeconds(source, leases, now);
    if (worst === undefined || seconds > worst.seconds) worst = { sourceId: source.id, seconds };
  }
  return worst;
}
