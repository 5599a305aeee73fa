// ctx.bitrix24 / ctx.reply for a source the install endpoint added
// (`credentials: {kind: 'app-install', memberId}`): a Bitrix24 client built
// from the portal's install record and the app secret
// (functions/install/install-credentials.ts, the same factory the poller
// uses), renewing through the install item's token chain.
//
//   call ─► credentials checked at most every checkEveryMs ─ same version ─► the client built before (its tokens kept)
//                                      │ new version (endpoints or app secret changed) ─► a new client
//                                      └ no install record ─► AppNotInstalledError (the app was uninstalled)
//   a call refused for its credentials (isCredentialFailure: invalid_client after the app secret rotated,
//   NO_AUTH_FOUND after an uninstall revoked the tokens, …) ─► the app secret re-read and the record checked now:
//        record gone ─► AppNotInstalledError · changed ─► one rebuild, one repeat · unchanged ─► the refusal
//
// Such refusals come before the method runs, so the repeat cannot post a
// write twice. A call that fails with AppNotInstalledError (the chain was
// deleted under a live client) drops the client.
import { type Bitrix24Client, type Bitrix24Credentials, type CallOptions } from '../bitrix24/client.js';
import { type Bitrix24Logger, silentLogger } from '../bitrix24/logger.js';
import { isCredentialFailure } from '../bitrix24/secret-following-client.js';
import { AppNotInstalledError } from '../install/errors.js';
import { type InstalledCredentialsFactory } from '../install/install-credentials.js';

export interface InstalledSourceClientOptions {
  readonly sourceId: string;
  readonly memberId: string;
  readonly installed: InstalledCredentialsFactory;
  readonly createClient: (credentials: Bitrix24Credentials) => Bitrix24Client;
  /** Drops the cached app secret before a rebuild after invalid_client. */
  readonly invalidateAppSecret: () => void;
  /** How often the install record and the app secret are checked for a change, in ms. @default 60000 */
  readonly checkEveryMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Receives rebuild notices (no secrets). @default silent */
  readonly logger?: Bitrix24Logger;
}

interface Built {
  readonly version: string;
  readonly client: Bitrix24Client;
  checkedAt: number;
}

export class InstalledSourceClient {
  readonly #o: InstalledSourceClientOptions;
  readonly #now: () => number;
  readonly #logger: Bitrix24Logger;
  #built: Built | undefined;
  #checking: Promise<Built> | undefined;

  constructor(options: InstalledSourceClientOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger ?? silentLogger;
  }

  async call<T = unknown>(method: string, params: Record<string, unknown> | undefined, options?: CallOptions): Promise<{ result: T; time?: unknown }> {
    const built = await this.#current(false);
    try {
      return await built.client.call<T>(method, params, options);
    } catch (error) {
      if (error instanceof AppNotInstalledError) this.#drop(built);
      if (!isCredentialFailure(error)) throw error;
      this.#logger.warn('bitrix24: credentials refused; re-checking the install and the app secret', { sourceId: this.#o.sourceId, method, code: error.code });
      this.#o.invalidateAppSecret();
      const rebuilt = await this.#current(true);
      if (rebuilt === built) throw error;
      return await rebuilt.client.call<T>(method, params, options);
    }
  }

  #drop(built: Built): void {
    if (this.#built !== built) return;
    this.#built = undefined;
    void built.client.close().catch(() => undefined);
  }

  async #current(force: boolean): Promise<Built> {
    const built = this.#built;
    if (!force && built !== undefined && this.#now() - built.checkedAt < (this.#o.checkEveryMs ?? 60_000)) return built;
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return await this.#checking;
  }

  async #check(): Promise<Built> {
    let found;
    try {
      found = await this.#o.installed(this.#o.memberId);
    } catch (error) {
      if (error instanceof AppNotInstalledError && this.#built !== undefined) this.#drop(this.#built);
      throw error;
    }
    const previous = this.#built;
    if (previous?.version === found.version) {
      previous.checkedAt = this.#now();
      return previous;
    }
    const next: Built = { version: found.version, client: this.#o.createClient(found.credentials), checkedAt: this.#now() };
    this.#built = next;
    if (previous !== undefined) {
      this.#logger.info('bitrix24: rebuilt the client (install or app secret changed)', { sourceId: this.#o.sourceId });
      void previous.client.close().catch(() => undefined);
    }
    return next;
  }
}
