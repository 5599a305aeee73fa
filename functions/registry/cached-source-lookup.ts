// A source lookup with a cache in front of the registry, for warm Lambdas that
// read a source on every record (consumers' ctx.bitrix24). A hit younger than
// maxAgeMs is served from memory; an older one is read again, so a change in
// the registry (portal, secret, bot, disabled) reaches a warm consumer within
// maxAgeMs. An unknown id is asked again after missRetryMs (a source the CLI
// just added is found quickly without hammering the table for a bad id).
// When the registry cannot be read, a stale entry is served rather than
// failing the record (the source existed a moment ago); with none, the error
// is thrown.
import type { RegisteredSource, SourceRegistry } from './source-registry.js';

export interface CachedSourceLookupOptions {
  readonly registry: SourceRegistry;
  /** How long a found source is served from memory, in ms. @default 60000 */
  readonly maxAgeMs?: number;
  /** How long "not registered" is remembered, in ms. @default 5000 */
  readonly missRetryMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Entry {
  readonly source: RegisteredSource | undefined;
  readonly readAt: number;
}

export class CachedSourceLookup {
  readonly #registry: SourceRegistry;
  readonly #maxAgeMs: number;
  readonly #missRetryMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<RegisteredSource | undefined>>();

  constructor(options: CachedSourceLookupOptions) {
    this.#registry = options.registry;
    this.#maxAgeMs = options.maxAgeMs ?? 60_000;
    this.#missRetryMs = options.missRetryMs ?? 5_000;
    this.#now = options.now ?? Date.now;
  }

  /** The registered source, or undefined when it is not registered. */
  async get(sourceId: string): Promise<RegisteredSource | undefined> {
    const entry = this.#entries.get(sourceId);
    if (entry !== undefined && this.#now() - entry.readAt < (entry.source === undefined ? this.#missRetryMs : this.#maxAgeMs)) return entry.source;
    let pending = this.#pending.get(sourceId);
    if (pending === undefined) {
      pending = this.#read(sourceId, entry);
      this.#pending.set(sourceId, pending);
      void pending.finally(() => this.#pending.delete(sourceId)).catch(() => undefined);
    }
    return await pending;
  }

  /** Forgets a source, e.g. after its credentials were refused. */
  invalidate(sourceId: string): void {
    this.#entries.delete(sourceId);
  }

  async #read(sourceId: string, stale: Entry | undefined): Promise<RegisteredSource | undefined> {
    try {
      const source = await this.#registry.get(sourceId);
      this.#entries.set(sourceId, { source, readAt: this.#now() });
      return source;
    } catch (error) {
      if (stale?.source !== undefined) return stale.source;
      throw error;
    }
  }
}
