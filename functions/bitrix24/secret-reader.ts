// Reads source secrets from Secrets Manager with a small in-memory cache, so a
// warm Lambda does not call GetSecretValue on every invocation. The fetch is
// a port (tests pass a fake); the default adapter uses the AWS SDK client.
// The Secrets Manager client is loaded on the first read (dynamic import), so a
// consumer that never calls ctx.bitrix24 never evaluates it (docs/package.md).
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretReadError } from './errors.js';

export type FetchSecret = (secretName: string) => Promise<string>;

export interface SecretReaderOptions {
  /** Fetches the secret string. @default GetSecretValue through `client` */
  readonly fetch?: FetchSecret;
  /** Used by the default fetch. @default new SecretsManagerClient({}) */
  readonly client?: SecretsManagerClient;
  /** How long a value is reused, in ms. @default 300000 (5 min: a changed secret is picked up within it, at once after a credential refusal) */
  readonly maxAgeMs?: number;
  /** Clock, ms epoch. @default Date.now */
  readonly now?: () => number;
}

export interface SecretReader {
  /** The secret string, from the cache when younger than maxAgeMs. Concurrent reads share one fetch. */
  read(secretName: string): Promise<string>;
  /** Drops a cached value (after the credentials were refused: SecretFollowingClient re-reads at once). */
  invalidate(secretName?: string): void;
}

export function secretsManagerFetch(client: SecretsManagerClient): FetchSecret {
  return async (secretName) => {
    let answer;
    try {
      const { GetSecretValueCommand } = await import('./secrets-manager.js');
      answer = await client.send(new GetSecretValueCommand({ SecretId: secretName }));
    } catch (error) {
      const safe = new Error(error instanceof Error ? error.message.slice(0, 200) : 'unknown error');
      safe.name = error instanceof Error ? error.name : 'Error';
      throw new SecretReadError(secretName, `GetSecretValue failed (${safe.name})`, safe);
    }
    if (typeof answer.SecretString !== 'string') throw new SecretReadError(secretName, 'it has no SecretString (binary secrets are not supported)');
    return answer.SecretString;
  };
}

/** GetSecretValue through a SecretsManagerClient created on the first fetch. */
function defaultFetch(): FetchSecret {
  let client: Promise<SecretsManagerClient> | undefined;
  return async (secretName) => {
    client ??= import('./secrets-manager.js').then(({ SecretsManagerClient: Client }) => new Client({}));
    return await secretsManagerFetch(await client)(secretName);
  };
}

export function createSecretReader(options: SecretReaderOptions = {}): SecretReader {
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  const now = options.now ?? Date.now;
  let fetchSecret = options.fetch;
  const cache = new Map<string, { value: Promise<string>; fetchedAt: number }>();
  return {
    async read(secretName) {
      const hit = cache.get(secretName);
      if (hit !== undefined && now() - hit.fetchedAt < maxAgeMs) return await hit.value;
      fetchSecret ??= options.client === undefined ? defaultFetch() : secretsManagerFetch(options.client);
      const value = fetchSecret(secretName);
      cache.set(secretName, { value, fetchedAt: now() });
      try {
        return await value;
      } catch (error) {
        // Never cache a failure.
        if (cache.get(secretName)?.value === value) cache.delete(secretName);
        throw error;
      }
    },
    invalidate(secretName) {
      if (secretName === undefined) cache.clear();
      else cache.delete(secretName);
    },
  };
}
