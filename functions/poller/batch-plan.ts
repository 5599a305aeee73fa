// Which SendMessageBatch calls carry a queue's share of a page, and in what
// order. Pure.
//
// FIFO order is per message group (per chat), and two calls in flight at once
// may land in either order, so a call has to wait for every earlier call that
// shares a group with it. Cutting the page into consecutive runs of 10 puts
// nearly every chat in nearly every call when a user has a handful of busy
// chats, which chains the whole queue into one line of round trips. Instead:
//
//   1. each group's entries, in order, are cut into full calls of that group
//      alone — calls of different chats then run side by side;
//   2. each group's last, partial cut (its tail) is packed with other groups'
//      tails (first fit, largest first), so the request count stays within
//      one call of ceil(entries / 10) per queue in the common case.
//
// Tails come last, after their group's full calls, so "wait for the earlier
// calls sharing a group" still yields each chat's page order.

export interface PlannedEntry {
  readonly groupId: string;
  readonly bytes: number;
}

export interface BatchLimits {
  /** Entries per call (SQS: 10). */
  readonly maxEntries: number;
  /** Sum of bodies per call, bytes. */
  readonly maxBytes: number;
}

/** Consecutive cuts of `entries`, each within the limits (an entry alone may exceed maxBytes: it still gets its own cut). */
function cut<E extends PlannedEntry>(entries: readonly E[], limits: BatchLimits): E[][] {
  const cuts: E[][] = [];
  let current: E[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (current.length === limits.maxEntries || (current.length > 0 && bytes + entry.bytes > limits.maxBytes)) {
      cuts.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += entry.bytes;
  }
  if (current.length > 0) cuts.push(current);
  return cuts;
}

const sizeOf = (entries: readonly PlannedEntry[]): number => entries.reduce((sum, e) => sum + e.bytes, 0);

/**
 * The calls for one queue's entries (given in page order), listed so that each
 * group's calls appear in that group's order. Every entry appears exactly once.
 */
export function planBatches<E extends PlannedEntry>(entries: readonly E[], limits: BatchLimits): E[][] {
  const byGroup = new Map<string, E[]>();
  for (const entry of entries) {
    const list = byGroup.get(entry.groupId);
    if (list === undefined) byGroup.set(entry.groupId, [entry]);
    else list.push(entry);
  }
  const own: E[][] = [];
  const tails: E[][] = [];
  for (const groupEntries of byGroup.values()) {
    const cuts = cut(groupEntries, limits);
    const last = cuts.pop();
    own.push(...cuts);
    if (last !== undefined) (last.length === limits.maxEntries ? own : tails).push(last);
  }

  const bins: Array<{ entries: E[]; bytes: number }> = [];
  const largestFirst = [...tails].sort((a, b) => b.length - a.length || sizeOf(b) - sizeOf(a));
  for (const tail of largestFirst) {
    const bytes = sizeOf(tail);
    const bin = bins.find((b) => b.entries.length + tail.length <= limits.maxEntries && b.bytes + bytes <= limits.maxBytes);
    if (bin === undefined) bins.push({ entries: [...tail], bytes });
    else {
      bin.entries.push(...tail);
      bin.bytes += bytes;
    }
  }
  return [...own, ...bins.map((b) => b.entries)];
}

/**
 * The longest line of calls that must run one after another when each call
 * waits for the earlier calls sharing a group with it (what bounds a page's
 * publish time when SQS round trips dominate).
 */
export function chainDepth(batches: readonly (readonly PlannedEntry[])[]): number {
  const depthOfGroup = new Map<string, number>();
  let deepest = 0;
  for (const batch of batches) {
    const groups = [...new Set(batch.map((e) => e.groupId))];
    const depth = 1 + Math.max(0, ...groups.map((g) => depthOfGroup.get(g) ?? 0));
    for (const g of groups) depthOfGroup.set(g, depth);
    deepest = Math.max(deepest, depth);
  }
  return deepest;
}
