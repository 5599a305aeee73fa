// Ctrl-C for the demo and dev mode: the first signal asks for a clean stop
// (commit what was published, release the lease, drain, summary); a second
// Ctrl-C exits at once.
//
// One Ctrl-C in a terminal signals the whole foreground process group, so
// this process may see the same SIGINT more than once: from the terminal and
// relayed by npm (which forwards SIGINT/SIGTERM to its child) a moment later.
// Signals that arrive within `sameSignalWindowMs` of the first one are that
// same Ctrl-C, not a second one (`classifySignal`, pure).
//
// The emulators install their own signal hooks, which exit immediately:
// while this takeover is active they are set aside, and their process 'exit'
// hook (which kills the emulators' process groups) stays as the backstop.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

type Listener = (...args: unknown[]) => void;

/** Signals closer than this to the first one are the same Ctrl-C delivered twice (terminal + npm's relay). */
export const SAME_SIGNAL_WINDOW_MS = 1500;

export type SignalVerdict = 'stop' | 'duplicate' | 'quit';

/**
 * What a signal means, given when the first one of this run arrived
 * (undefined: none yet): the first asks for a clean stop; one within the
 * window is a duplicate of it; a later one quits at once.
 */
export function classifySignal(firstAt: number | undefined, now: number, windowMs = SAME_SIGNAL_WINDOW_MS): SignalVerdict {
  if (firstAt === undefined) return 'stop';
  return now - firstAt < windowMs ? 'duplicate' : 'quit';
}

export interface SignalTakeover {
  /** Aborted on the first signal. */
  readonly signal: AbortSignal;
  /** Puts the set-aside listeners back and removes ours. */
  restore(): void;
}

export interface TakeOverOptions {
  /** Listeners registered before the emulators (left in place). */
  readonly keep?: ReadonlyMap<string, readonly Listener[]>;
  /** Called once, on the first signal. */
  readonly onFirst?: (signal: string) => void;
  /** Exit code of a quit at once (second Ctrl-C). @default 130 */
  readonly exitCode?: number;
  /** @default SAME_SIGNAL_WINDOW_MS */
  readonly sameSignalWindowMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default process.exit */
  readonly exit?: (code: number) => void;
}

/**
 * Call after the emulators started. `keep` lists listeners registered before
 * them (left in place); every later one is set aside until restore().
 */
export function takeOverSignals(options: TakeOverOptions = {}): SignalTakeover {
  const controller = new AbortController();
  const setAside = new Map<string, Listener[]>();
  const ours = new Map<string, Listener>();
  const now = options.now ?? Date.now;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let firstAt: number | undefined;
  for (const name of SIGNALS) {
    const keep = options.keep?.get(name) ?? [];
    const foreign = (process.listeners(name) as Listener[]).filter((listener) => !keep.includes(listener));
    for (const listener of foreign) process.removeListener(name, listener);
    setAside.set(name, foreign);
    const mine: Listener = () => {
      const at = now();
      switch (classifySignal(firstAt, at, options.sameSignalWindowMs)) {
        case 'stop':
          firstAt = at;
          options.onFirst?.(name);
          controller.abort(new Error(`received ${name}`));
          return;
        case 'duplicate':
          return;
        case 'quit':
          exit(options.exitCode ?? 130);
      }
    };
    process.on(name, mine);
    ours.set(name, mine);
  }
  return {
    signal: controller.signal,
    restore() {
      for (const name of SIGNALS) {
        const mine = ours.get(name);
        if (mine !== undefined) process.removeListener(name, mine);
        for (const listener of setAside.get(name) ?? []) process.on(name, listener);
      }
    },
  };
}

/** The listeners currently registered, to pass as `keep` later. */
export function currentSignalListeners(): Map<string, Listener[]> {
  return new Map(SIGNALS.map((name) => [name, process.listeners(name) as Listener[]]));
}
