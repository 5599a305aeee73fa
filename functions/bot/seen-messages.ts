// Which messages carried a slash command the router handled. A command
// arrives twice: as ONIMBOTV2COMMANDADD and as the ONIMBOTV2MESSAGEADD of the
// same message, with different event ids (imbot.v2/events/events.md), so the
// run-once guard per event does not catch it. The router remembers the message
// when it handles the command and skips the message handler for it.
//
// A small port: in memory for one process (tests, local runs), DynamoDB for
// Lambda, where the two events may be handled by different invocations.

export interface SeenMessages {
  /** Records `key`; resolves `true` if it had not been recorded (or had expired). */
  remember(key: string): Promise<boolean>;
  /** Whether `key` is recorded and not expired. */
  has(key: string): Promise<boolean>;
}

/** How long a mark is kept: Bitrix24 keeps events 24 h, so the twin event can come that late; twice that. */
export const SEEN_MESSAGE_TTL_SECONDS = 48 * 60 * 60;

/** The key of one message of one source and bot. */
export function seenMessageKey(sourceId: string, botId: number, messageId: number): string {
  return `${sourceId}#${botId}#${messageId}`;
}

export interface InMemorySeenMessagesOptions {
  /** Seconds a mark is kept. @default 172800 (SEEN_MESSAGE_TTL_SECONDS) */
  readonly ttlSeconds?: number;
  /** Most marks kept; the oldest go first. @default 10000 */
  readonly maxEntries?: number;
  /** ms epoch clock. @default Date.now */
  readonly now?: () => number;
}

/** One process only: a Lambda's twin events may land in another invocation — use DynamoDbSeenMessages there. */
export class InMemorySeenMessages implements SeenMessages {
  readonly #expiresAt = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: InMemorySeenMessagesOptions = {}) {
    this.#ttlMs = (options.ttlSeconds ?? SEEN_MESSAGE_TTL_SECONDS) * 1000;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  remember(key: string): Promise<boolean> {
    const fresh = !this.#live(key);
    this.#expiresAt.delete(key);
    this.#expiresAt.set(key, this.#now() + this.#ttlMs);
    while (this.#expiresAt.size > this.#maxEntries) {
      const oldest = this.#expiresAt.keys().next();
      if (oldest.done === true) break;
      this.#expiresAt.delete(oldest.value);
    }
    return Promise.resolve(fresh);
  }

  has(key: string): Promise<boolean> {
    return Promise.resolve(this.#live(key));
  }

  #live(key: string): boolean {
    const expiresAt = this.#expiresAt.get(key);
    return expiresAt !== undefined && expiresAt > this.#now();
  }
}
