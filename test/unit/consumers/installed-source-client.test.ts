// InstalledSourceClient (ctx.bitrix24 of an app-install source) with fakes:
// one client per version of the credentials, checked at most every
// checkEveryMs; a credential refusal re-checks the install now (uninstalled →
// AppNotInstalledError; changed → one rebuild and one repeat; unchanged → the
// refusal), and the cached app secret is dropped first.
import { describe, expect, it } from 'vitest';
import type { Bitrix24Client, Bitrix24Credentials } from '../../../functions/bitrix24/client.js';
import { InvalidClientError, NoAuthFoundError } from '../../../functions/bitrix24/errors.js';
import { InMemoryTokenStore } from '../../../functions/bitrix24/token-store.js';
import { InstalledSourceClient } from '../../../functions/consumers/installed-source-client.js';
import { AppNotInstalledError } from '../../../functions/install/errors.js';
import type { InstalledSourceCredentials } from '../../../functions/install/install-credentials.js';

interface Fixture {
  version: string;
  installed: boolean;
  checks: number;
  invalidations: number;
  built: { version: string; closed: boolean; fail?: Error }[];
  clock: number;
}

function fixture(): { f: Fixture; client: InstalledSourceClient } {
  const f: Fixture = { version: 'v1', installed: true, checks: 0, invalidations: 0, built: [], clock: 0 };
  const credentials = (): Bitrix24Credentials => ({ kind: 'oauth', clientEndpoint: 'https://example.bitrix24.com/rest/', clientId: 'app', clientSecret: 's', tokenStore: new InMemoryTokenStore() });
  const client = new InstalledSourceClient({
    sourceId: 'm1-bot',
    memberId: 'm1',
    installed: (memberId): Promise<InstalledSourceCredentials> => {
      f.checks += 1;
      if (!f.installed) return Promise.reject(new AppNotInstalledError(memberId));
      return Promise.resolve({ credentials: credentials(), portal: 'example.bitrix24.com', version: f.version });
    },
    createClient: () => {
      const entry: Fixture['built'][number] = { version: f.version, closed: false };
      f.built.push(entry);
      return {
        portal: 'example.bitrix24.com',
        call: <T>(method: string) => {
          if (entry.fail !== undefined) {
            const error = entry.fail;
            delete entry.fail;
            return Promise.reject(error);
          }
          return Promise.resolve({ result: `${method}@${entry.version}` as T });
        },
        close: () => {
          entry.closed = true;
          return Promise.resolve();
        },
      } as unknown as Bitrix24Client;
    },
    invalidateAppSecret: () => {
      f.invalidations += 1;
    },
    checkEveryMs: 60_000,
    now: () => f.clock,
  });
  return { f, client };
}

describe('InstalledSourceClient', () => {
  it('keeps one client while the credentials\' version holds, checks them at most once a minute, rebuilds on a new version', async () => {
    const { f, client } = fixture();

    await client.call('server.time', {});
    f.clock += 30_000;
    await client.call('server.time', {});
    f.version = 'v2';
    f.clock += 31_000;
    const after = await client.call('server.time', {});

    expect(f.checks).toBe(2);
    expect(f.built.map((b) => b.version)).toEqual(['v1', 'v2']);
    expect(f.built[0]?.closed).toBe(true);
    expect(after.result).toBe('server.time@v2');
  });

  it('after an uninstall: a refused call (the tokens were revoked) re-checks now and fails with AppNotInstalledError; so does the next call', async () => {
    const { f, client } = fixture();
    await client.call('server.time', {});
    f.installed = false;
    const first = f.built[0];
    if (first !== undefined) first.fail = new NoAuthFoundError({ code: 'NO_AUTH_FOUND', method: 'server.time' });

    await expect(client.call('server.time', {})).rejects.toBeInstanceOf(AppNotInstalledError);
    await expect(client.call('server.time', {})).rejects.toBeInstanceOf(AppNotInstalledError);
    expect(f.built[0]?.closed).toBe(true);
    expect(f.invalidations).toBe(1);
  });

  it('invalid_client with a rotated app secret: one rebuild and one repeat; with the same secret the refusal stands', async () => {
    const { f, client } = fixture();
    await client.call('server.time', {});
    const first = f.built[0];
    if (first !== undefined) first.fail = new InvalidClientError({});
    f.version = 'v2'; // the operator rotated the app secret

    expect((await client.call('im.message.add', {})).result).toBe('im.message.add@v2');

    const second = f.built[1];
    if (second !== undefined) second.fail = new InvalidClientError({});
    await expect(client.call('im.message.add', {})).rejects.toBeInstanceOf(InvalidClientError);
    expect(f.invalidations).toBe(2);
    expect(f.built).toHaveLength(2);
  });
});
