// The live part of the dev/demo view: handler log lines, errors, bot replies
// and portal trouble, as they happen. On a terminal the last lines are drawn
// under the progress table (`recent()`); elsewhere each line is written at
// once. A line repeated back to back is shown once with a count, so a portal
// answering the same error every second does not scroll everything away.
// Pure bookkeeping plus one injected writer; no secrets pass through here
// (callers hand in messages that are already free of them).

export type LiveKind = 'handler' | 'reply' | 'error' | 'portal' | 'poller';

export interface LiveLogOptions {
  /** Writes a finished line at once (plain output). @default none: lines are only kept for recent() */
  readonly write?: (line: string) => void;
  /** Lines kept for recent(). @default 8 */
  readonly keep?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Entry {
  readonly kind: LiveKind;
  readonly text: string;
  readonly at: number;
  count: number;
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

export class LiveLog {
  private readonly entries: Entry[] = [];
  private readonly keep: number;
  private readonly now: () => number;
  private total = 0;

  constructor(private readonly options: LiveLogOptions = {}) {
    this.keep = options.keep ?? 8;
    this.now = options.now ?? Date.now;
  }

  /** Lines added so far, repeats included. */
  get size(): number {
    return this.total;
  }

  add(kind: LiveKind, text: string): void {
    this.total += 1;
    const line = text.replace(/\s+/g, ' ').trim().slice(0, 400);
    const last = this.entries.at(-1);
    if (last !== undefined && last.kind === kind && last.text === line) {
      last.count += 1;
      // plain output: say it again now and then, not on every repeat
      if (last.count === 2 || last.count % 10 === 0) this.options.write?.(this.format({ ...last, at: this.now() }));
      return;
    }
    const entry: Entry = { kind, text: line, at: this.now(), count: 1 };
    this.entries.push(entry);
    if (this.entries.length > this.keep) this.entries.shift();
    this.options.write?.(this.format(entry));
  }

  /** The last lines, oldest first, for the terminal view. */
  recent(): string[] {
    return this.entries.map((entry) => this.format(entry));
  }

  private format(entry: Entry): string {
    return `${clock(entry.at)} ${`[${entry.kind}]`.padEnd(9)} ${entry.text}${entry.count > 1 ? ` (×${entry.count})` : ''}`;
  }
}
