// The port through which OAuth tokens are kept between runs. Refresh tokens
// are single-use and rotate on every renewal, so `save` is conditional: it
// succeeds only if `previous` is still what is stored, and otherwise throws
// TokenConflictError (another process renewed first; reload its tokens).
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
