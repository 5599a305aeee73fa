// A TokenStore kept in a local file (mode 0600) for dev mode with OAuth:
// Bitrix24 rotates the refresh token on every renewal, so the rotated one must
// survive the run or the next run's refresh token from `.env` is already spent.
// Same conditional-save semantics as the DynamoDB store (single process).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TokenConflictError } from '../bitrix24/errors.js';
import type { StoredTokens, TokenStore } from '../bitrix24/token-store.js';

export class FileTokenStore implements TokenStore {
  readonly #path: string;
  readonly #initial: StoredTokens | undefined;

  /** `initial`: used while the file does not exist yet (e.g. the refresh token from `.env`). */
  constructor(path: string, initial?: StoredTokens) {
    this.#path = path;
    this.#initial = initial;
  }

  async load(): Promise<StoredTokens | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.#path, 'utf8')) as Partial<StoredTokens>;
      if (typeof parsed.refreshToken === 'string' && typeof parsed.accessToken === 'string' && typeof parsed.expiresAt === 'number') {
        return { accessToken: parsed.accessToken, refreshToken: parsed.refreshToken, expiresAt: parsed.expiresAt };
      }
      return this.#initial;
    } catch {
      return this.#initial;
    }
  }

  async save(next: StoredTokens, previous: StoredTokens | undefined): Promise<void> {
    const current = await this.load();
    if (current?.refreshToken !== previous?.refreshToken) throw new TokenConflictError();
    await mkdir(dirname(this.#path), { recursive: true });
    const temporary = `${this.#path}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(next), { mode: 0o600 });
    await rename(temporary, this.#path);
  }

  toString(): string {
    return 'FileTokenStore';
  }

  toJSON(): string {
    return this.toString();
  }
}
