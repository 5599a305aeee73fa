// The `--out` file of dev mode: one JSON line per completed handler run, a
// view of the completion journal (completion-journal.ts). A line is written
// right after the event's completion is journalled; a crash between the two
// leaves the line missing, so when a redelivered event is found already
// journalled its line is written then — unless the file has it already, which
// is checked against the file itself (read once, the first time it matters:
// only after a crash). Each line therefore appears exactly once.
//
// The same file holds a line per call a handler made through ctx that Bitrix24
// acknowledged — replies, typing, read marks, reactions, edits (`action`
// instead of `event`). The outbox never sends an acknowledged write twice, so
// neither is its line; a read-kind call (typing, read) re-sent after a crash
// is a second call and gets a second line.
import { appendFile, readFile } from 'node:fs/promises';
import { idempotencyKey } from '../shared/envelope.js';

export interface HandledLine {
  /** When the handler's completion was journalled, ISO 8601. */
  readonly handledAt: string;
  readonly sourceId: string;
  readonly route: string | undefined;
  /** The handler key that ran: the event type or '*'. */
  readonly handler: string;
  /** The event as the handler got it (typed or raw); written whole. */
  readonly event: { readonly eventId: number; readonly type: string };
}

/** What a handler sent through ctx, as Bitrix24 acknowledged it. */
export interface ActionLine {
  /** When Bitrix24 answered, ISO 8601. */
  readonly sentAt: string;
  readonly sourceId: string;
  readonly action: 'reply' | 'typing' | 'read' | 'react' | 'edit' | 'call';
  readonly method: string;
  readonly dialogId?: string;
  /** The text sent, whole (replies and edits). */
  readonly text?: string;
}

export interface HandledLog {
  /** Appends the line of a completion journalled just now. */
  append(line: HandledLine): Promise<void>;
  /** Appends the line of a call Bitrix24 acknowledged. */
  appendAction(line: ActionLine): Promise<void>;
  /** Appends the line of a completion journalled by an earlier run, unless the file already holds it. */
  appendIfMissing(line: HandledLine): Promise<void>;
}

function keyOf(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { sourceId?: unknown; event?: { eventId?: unknown } };
    return typeof parsed.sourceId === 'string' && typeof parsed.event?.eventId === 'number' ? idempotencyKey(parsed.sourceId, parsed.event.eventId) : undefined;
  } catch {
    return undefined;
  }
}

export function handledLog(path: string): HandledLog {
  /** Keys of the lines in the file; loaded on the first appendIfMissing. */
  let present: Promise<Set<string>> | undefined;
  const load = async (): Promise<Set<string>> => {
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return new Set(text.split('\n').map(keyOf).filter((key) => key !== undefined));
  };
  const write = async (line: HandledLine): Promise<void> => {
    const key = idempotencyKey(line.sourceId, line.event.eventId);
    if (present !== undefined) (await present).add(key);
    await appendFile(path, `${JSON.stringify(line)}\n`);
  };
  return {
    append: write,
    appendAction: async (line) => {
      await appendFile(path, `${JSON.stringify(line)}\n`);
    },
    async appendIfMissing(line) {
      // A failed read is tried again by the next call rather than remembered.
      present ??= load().catch((error: unknown) => {
        present = undefined;
        throw error;
      });
      const keys = await present;
      if (keys.has(idempotencyKey(line.sourceId, line.event.eventId))) return;
      await write(line);
    },
  };
}
