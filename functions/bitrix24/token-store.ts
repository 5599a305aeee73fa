// The port through which OAuth tokens are kept between runs. Refresh tokens
// are single-use and rotate on every renewal, so `save` is conditional: it
// succeeds only if `previous` is still what is stored, and otherwise throws
// TokenConflictError (another process renewed first; reload its tokens).
import { createHash } from 'node:crypto';
import { TokenConflictError } from './errors.js';

export interface StoredTokens {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** When the access token expires, ms since epoch. */
  readonly expiresAt: number;
}

export interface TokenStore {
  load(): Promise<StoredTokens | undefined>;
  /** Conditional on `previous` still being stored (`undefined`: nothing stored). Throws TokenConflictError otherwise. */
  save(next: StoredTokens, previous: StoredTokens | undefined): Promise<void>;
}

/**
 * A seed's version: the SHA-256 of its refresh token. Stores keep these (never
 * the seed itself) to tell a new seed — a human re-authorised the app and put
 * a fresh refresh token in the source secret — from an old one that a warm
 * process still holds after the chain moved on.
 */
export function seedVersionOf(seed: StoredTokens): string {
  return createHash('sha256').update(seed.refreshToken).digest('hex');
}

/** The seeds a stored chain knows: the one it descends from and every seed adopted before it. */
export interface SeedLineage {
  /** The seed the stored chain descends from; undefined when unknown (the chain was saved without a seed). */
  readonly current: string | undefined;
  readonly seen: readonly string[];
}

/**
 * Whether a seed should replace the stored chain. Only a seed this chain has
 * never seen is newer: a seed it descends from, or one an earlier re-seed
 * replaced, is older than the chain, and using it would spend a dead refresh
 * token (invalid_grant) or overwrite the good chain. A chain of unknown
 * lineage is kept (nothing says the seed is newer).
 */
export function seedReplacesChain(seedVersion: string, lineage: SeedLineage): boolean {
  if (lineage.current === undefined) return false;
  return seedVersion !== lineage.current && !lineage.seen.includes(seedVersion);
}

/** A process-local TokenStore with the same conditional semantics (tests, the local demo). */
export class InMemoryTokenStore implements TokenStore {
  #tokens: StoredTokens | undefined;

  constructor(initial?: StoredTokens) {
    this.#tokens = initial;
  }

  load(): Promise<StoredTokens | undefined> {
    return Promise.resolve(this.#tokens);
  }

  save(next: StoredTokens, previous: StoredTokens | undefined): Promise<void> {
    if (this.#tokens?.refreshToken !== previous?.refreshToken) {
      return Promise.reject(new TokenConflictError());
    }
    this.#tokens = next;
    return Promise.resolve();
  }

  toString(): string {
    return 'InMemoryTokenStore';
  }

  toJSON(): string {
    return this.toString();
  }
}
