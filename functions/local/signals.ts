// Ctrl-C for the demo and dev mode: the first signal asks for a clean stop
// (commit what was published, release the lease, drain, summary); a second
// one exits at once. The emulators install their own signal hooks, which exit
// immediately: while this takeover is active they are set aside, and their
// process 'exit' hook (which kills java) stays as the backstop.
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

type Listener = (...args: unknown[]) => void;

export interface SignalTakeover {
  /** Aborted on the first signal. */
  readonly signal: AbortSignal;
  /** Puts the set-aside listeners back and removes ours. */
  restore(): void;
}

/**
 * Call after the emulators started. `keep` lists listeners registered before
 * them (left in place); every later one is set aside until restore().
 */
export function takeOverSignals(options: { keep?: ReadonlyMap<string, readonly Listener[]>; onFirst?: (signal: string) => void; exitCode?: number } = {}): SignalTakeover {
  const controller = new AbortController();
  const setAside = new Map<string, Listener[]>();
  const ours = new Map<string, Listener>();
  for (const name of SIGNALS) {
    const keep = options.keep?.get(name) ?? [];
    const foreign = (process.listeners(name) as Listener[]).filter((listener) => !keep.includes(listener));
    for (const listener of foreign) process.removeListener(name, listener);
    setAside.set(name, foreign);
    const mine: Listener = () => {
      if (!controller.signal.aborted) {
        options.onFirst?.(name);
        controller.abort(new Error(`received ${name}`));
        return;
      }
      process.exit(options.exitCode ?? 130);
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
