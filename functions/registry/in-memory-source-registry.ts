// The source registry in memory, for unit tests and single-process tools: the
// same validation and version rules as the DynamoDB adapter, no I/O.
import type { SourceConfig } from '../shared/config.js';
import { SourceNotFoundError, SourceVersionConflictError } from './errors.js';
import { sameRegistration, validateRegistration } from './registered-source.js';
import type { PutSourceOptions, RegisteredSource, SourceRegistry } from './source-registry.js';

export interface InMemorySourceRegistryOptions {
  /** @default Date.now */
  readonly now?: () => number;
}

export class InMemorySourceRegistry implements SourceRegistry {
  readonly #sources = new Map<string, RegisteredSource>();
  readonly #now: () => number;

  constructor(options: InMemorySourceRegistryOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  get(sourceId: string): Promise<RegisteredSource | undefined> {
    return Promise.resolve(this.#sources.get(sourceId));
  }

  list(): Promise<readonly RegisteredSource[]> {
    return Promise.resolve([...this.#sources.values()].sort((a, b) => (a.config.id < b.config.id ? -1 : a.config.id > b.config.id ? 1 : 0)));
  }

  put(config: SourceConfig, options: PutSourceOptions): Promise<RegisteredSource> {
    try {
      const registration = validateRegistration(config, options.credentials, options.origin);
      const sourceId = registration.config.id;
      const current = this.#sources.get(sourceId);
      const currentVersion = current?.version ?? 0;
      // As in DynamoDB: the same registration already written at expectedVersion + 1 is a repeated write, a success.
      if (current !== undefined && options.expectedVersion !== undefined && current.version === options.expectedVersion + 1 && sameRegistration(current, registration, options.origin)) {
        return Promise.resolve(current);
      }
      if (options.expectedVersion !== undefined && options.expectedVersion !== currentVersion) {
        throw new SourceVersionConflictError({ sourceId, expectedVersion: options.expectedVersion, actualVersion: currentVersion });
      }
      const stored: RegisteredSource = { ...registration, origin: options.origin, version: currentVersion + 1, updatedAt: new Date(this.#now()).toISOString() };
      this.#sources.set(sourceId, stored);
      return Promise.resolve(stored);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  setEnabled(sourceId: string, enabled: boolean): Promise<RegisteredSource> {
    const current = this.#sources.get(sourceId);
    if (current === undefined) return Promise.reject(new SourceNotFoundError(sourceId));
    const stored: RegisteredSource = { ...current, config: { ...current.config, enabled }, version: current.version + 1, updatedAt: new Date(this.#now()).toISOString() };
    this.#sources.set(sourceId, stored);
    return Promise.resolve(stored);
  }

  remove(sourceId: string): Promise<void> {
    this.#sources.delete(sourceId);
    return Promise.resolve();
  }
}
