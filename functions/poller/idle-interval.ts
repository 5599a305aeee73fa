// How long to wait before the next poll once the stream is drained: short
// right after activity (a conversation is likely to continue), doubling on each
// empty poll up to the configured maximum (Bitrix24 asks for 5–30 s when idle).

export interface IdleIntervalConfig {
  readonly minSeconds: number;
  readonly maxSeconds: number;
}

/** The next idle wait in ms, given the previous one (undefined after a drain with events). */
export function nextIdleDelayMs(previousMs: number | undefined, pageHadEvents: boolean, config: IdleIntervalConfig): number {
  const minMs = config.minSeconds * 1000;
  const maxMs = config.maxSeconds * 1000;
  if (pageHadEvents || previousMs === undefined) return minMs;
  return Math.min(maxMs, Math.max(minMs, previousMs * 2));
}
