// Dev mode's completion journal: the commit point of a handler run.
//
// Why it exists (issue 11 §5): the consumer framework marks an event done in
// two steps — the user's handler returns, then Powertools writes the
// idempotency record COMPLETED to DynamoDB (tens of ms on DynamoDB Local), and
// only after that is the SQS message deleted. A `kill -9` between the two left
// the record INPROGRESS; it expired, and the restarted run called the handler
// again for an event it had finished (2–3 events per kill in
// test/integration/local/signals.test.ts, always with their handler returned
// and the COMPLETED write in flight).
//
// The journal closes that window in dev mode. Right after the handler returns
// its event key is appended here and fdatasync'd; only then does the run go on
// to the idempotency record and the SQS delete. Before calling a handler, dev
// mode looks the key up: journalled means completed, and the handler is not
// called again (the idempotency record is then completed and the message
// deleted as usual). A handler counts as *completed* from the moment its line
// is durable — there is no earlier moment a crash-proof record can name:
//
//   handler running ─ returns ─ journal append+fsync ─ COMPLETED ─ SQS delete
//   kill here: not completed,          │  kill from here on: completed,
//   runs again after the restart       │  never runs again
//
// A run killed before its line is durable (mid-handler, or in the
// microseconds between the return and the write) runs again: its Bitrix24
// writes went through ctx.bitrix24 / ctx.outbox (functions/consumers/outbox.ts),
// which hands back an acknowledged write instead of sending it twice.
//
// Weighed and left: a shorter INPROGRESS expiry changes nothing (it is already
// the fake Lambda's ≤ 5 s, shorter than a restart; the re-run came from the
// record never reaching COMPLETED, not from a long wait); holding the poller's
// commit until dev mode has handled an event would make dev mode's delivery
// protocol differ from the deployed one it exists to rehearse, and the
// persisted workspace already keeps every confirmed event. A local file
// rather than a DynamoDB item: one fdatasync (~2 ms) is the cheapest durable
// write there is, and it needs no change to the consumer framework.
//
// Format: one JSON line per completion, `{"key":"<source>#<eventId>","completedAt":"<ISO>"}`.
// A line torn by a crash (no final newline) was never acknowledged to anyone:
// it is cut off when the journal is opened. Appends are group-committed (one
// write and one fdatasync for every completion that arrived meanwhile).
import { type FileHandle, open, readFile, truncate } from 'node:fs/promises';
import { CompletionJournalError } from './errors.js';

export interface CompletionJournal {
  /** When the event's handler completed in this workspace (this run or an earlier one), ISO 8601; undefined if it never did. */
  completedAt(eventKey: string): string | undefined;
  /** Records the completion durably (written and fdatasync'd) and resolves to its time; an already journalled key keeps its first time. */
  record(eventKey: string): Promise<string>;
  /** Completions loaded from disk when the journal was opened (earlier runs). */
  readonly loaded: number;
  close(): Promise<void>;
}

interface JournalLine {
  readonly key: string;
  readonly completedAt: string;
}

function parseLine(line: string): JournalLine | undefined {
  try {
    const parsed = JSON.parse(line) as Partial<JournalLine>;
    return typeof parsed.key === 'string' && typeof parsed.completedAt === 'string' ? { key: parsed.key, completedAt: parsed.completedAt } : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the journal's completions, cutting off a torn last line. */
async function loadCompletions(path: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new CompletionJournalError(`Cannot read the dev completion journal ${path}: ${(error as Error).message}`, { cause: error });
  }
  const complete = text.lastIndexOf('\n') + 1;
  if (complete < text.length) await truncate(path, Buffer.byteLength(text.slice(0, complete)));
  const completions = new Map<string, string>();
  for (const line of text.slice(0, complete).split('\n')) {
    const entry = line === '' ? undefined : parseLine(line);
    if (entry !== undefined && !completions.has(entry.key)) completions.set(entry.key, entry.completedAt);
  }
  return completions;
}

interface PendingAppend {
  readonly line: string;
  resolve(): void;
  reject(error: Error): void;
}

/** Opens (or creates, mode 0600) the journal file at `path`. */
export async function openCompletionJournal(path: string, now: () => number = Date.now): Promise<CompletionJournal> {
  const completions = await loadCompletions(path);
  const loaded = completions.size;
  let handle: FileHandle;
  try {
    handle = await open(path, 'a', 0o600);
  } catch (error) {
    throw new CompletionJournalError(`Cannot open the dev completion journal ${path}: ${(error as Error).message}`, { cause: error });
  }
  let pending: PendingAppend[] = [];
  let flushing: Promise<void> | undefined;
  let broken: CompletionJournalError | undefined;
  /** Keys being written: a second record() of one key waits for the first instead of writing it again. */
  const inFlight = new Map<string, Promise<string>>();

  const flush = async (): Promise<void> => {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        if (broken !== undefined) throw broken;
        await handle.write(batch.map((entry) => entry.line).join(''));
        await handle.datasync();
        for (const entry of batch) entry.resolve();
      } catch (error) {
        // A failed write may have left part of a line: every later append
        // fails too, and the next run cuts the torn line off when it opens.
        broken ??= new CompletionJournalError(`Cannot write the dev completion journal ${path} (${(error as Error).message}); check the disk, then restart \`npm run dev\`.`, { cause: error });
        for (const entry of batch) entry.reject(broken);
      }
    }
    flushing = undefined;
  };

  return {
    loaded,
    completedAt: (eventKey) => completions.get(eventKey),
    record(eventKey) {
      const known = completions.get(eventKey);
      if (known !== undefined) return Promise.resolve(known);
      const writing = inFlight.get(eventKey);
      if (writing !== undefined) return writing;
      const completedAt = new Date(now()).toISOString();
      const line = `${JSON.stringify({ key: eventKey, completedAt } satisfies JournalLine)}\n`;
      const written = new Promise<string>((resolve, reject) => {
        pending.push({
          line,
          resolve: () => {
            completions.set(eventKey, completedAt);
            inFlight.delete(eventKey);
            resolve(completedAt);
          },
          reject: (error) => {
            inFlight.delete(eventKey);
            reject(error);
          },
        });
        flushing ??= flush();
      });
      inFlight.set(eventKey, written);
      return written;
    },
    async close() {
      await flushing;
      await handle.close();
    },
  };
}

/** A journal in memory, for runs whose emulators keep nothing on disk either (tests, experiments). */
export function inMemoryCompletionJournal(now: () => number = Date.now): CompletionJournal {
  const completions = new Map<string, string>();
  return {
    loaded: 0,
    completedAt: (eventKey) => completions.get(eventKey),
    record(eventKey) {
      const completedAt = completions.get(eventKey) ?? new Date(now()).toISOString();
      completions.set(eventKey, completedAt);
      return Promise.resolve(completedAt);
    },
    close: () => Promise.resolve(),
  };
}
