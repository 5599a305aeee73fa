import { describe, expect, it } from 'vitest';
import { InMemoryTokenStore } from '../../../functions/bitrix24/token-store.js';
import { SecretReadError, SourceSecretError } from '../../../functions/bitrix24/errors.js';
import { loadSourceCredentials } from '../../../functions/bitrix24/credentials-from-secret.js';
import { parseSourceSecret } from '../../../functions/bitrix24/source-secret.js';
import { createSecretReader } from '../../../functions/bitrix24/secret-reader.js';

const WEBHOOK = 'https://p.bitrix24.com/rest/7/c0de-secret/';

function thrown(fn: () => unknown): SourceSecretError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SourceSecretError);
    return error as SourceSecretError;
  }
  throw new Error('expected a throw');
}

describe('parseSourceSecret', () => {
  it('parses webhook and oauth secrets from a string or an object', () => {
    expect(parseSourceSecret(JSON.stringify({ webhookUrl: WEBHOOK, botToken: 'bt', other: 1 }), 'webhook')).toEqual({ webhookUrl: WEBHOOK, botToken: 'bt' });
    expect(parseSourceSecret({ clientId: 'app.1', clientSecret: 'cs-secret', refreshToken: 'rt-secret' }, 'oauth')).toEqual({ clientId: 'app.1', clientSecret: 'cs-secret', refreshToken: 'rt-secret' });
  });

  it.each([
    ['not JSON', '{', 'webhook', '(root)'],
    ['an array', [], 'webhook', '(root)'],
    ['no webhookUrl', {}, 'webhook', 'webhookUrl'],
    ['a webhookUrl of the wrong shape', { webhookUrl: 'https://p.bitrix24.com/rest/c0de-secret/' }, 'webhook', 'webhookUrl'],
    ['plain http to a portal', { webhookUrl: 'http://p.bitrix24.com/rest/7/c0de-secret/' }, 'webhook', 'webhookUrl'],
    ['an empty botToken', { webhookUrl: WEBHOOK, botToken: '' }, 'webhook', 'botToken'],
    ['no clientSecret', { clientId: 'a', refreshToken: 'rt-secret' }, 'oauth', 'clientSecret'],
    ['no refreshToken', { clientId: 'a', clientSecret: 'cs-secret' }, 'oauth', 'refreshToken'],
    ['a numeric clientId', { clientId: 5, clientSecret: 'cs-secret', refreshToken: 'rt-secret' }, 'oauth', 'clientId'],
    ['an insecure token URL', { clientId: 'a', clientSecret: 'cs-secret', refreshToken: 'rt-secret', oauthTokenUrl: 'http://oauth.example.com/t/' }, 'oauth', 'oauthTokenUrl'],
  ] as const)('rejects %s, naming the field and never a value', (_label, json, auth, field) => {
    const error = thrown(() => parseSourceSecret(json, auth, 'b24/sources/s1'));
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    expect(error.message).toContain('b24/sources/s1');
    for (const secret of ['c0de-secret', 'cs-secret', 'rt-secret']) expect(error.message + JSON.stringify(error)).not.toContain(secret);
  });
});

describe('loadSourceCredentials', () => {
  it('builds webhook credentials and checks the portal', () => {
    const loaded = loadSourceCredentials({ source: { id: 's1', portal: 'p.bitrix24.com', auth: 'webhook' }, secretJson: { webhookUrl: WEBHOOK, botToken: 'bt' }, tokenStoreFactory: () => new InMemoryTokenStore() });
    expect(loaded).toEqual({ credentials: { kind: 'webhook', webhookUrl: WEBHOOK }, botToken: 'bt' });
    const error = thrown(() => loadSourceCredentials({ source: { id: 's1', portal: 'other.bitrix24.com', auth: 'webhook' }, secretJson: { webhookUrl: WEBHOOK }, tokenStoreFactory: () => new InMemoryTokenStore() }));
    expect(error.field).toBe('webhookUrl');
    expect(error.message).not.toContain('c0de-secret');
  });

  it('builds oauth credentials with a store seeded from the secret', async () => {
    let seedSourceId = '';
    const loaded = loadSourceCredentials({
      source: { id: 's2', portal: 'p.bitrix24.com', auth: 'oauth' },
      secretJson: JSON.stringify({ clientId: 'app.1', clientSecret: 'cs-secret', refreshToken: 'rt-secret' }),
      tokenStoreFactory: ({ sourceId, initial }) => {
        seedSourceId = sourceId;
        return { load: initial, save: () => Promise.resolve() };
      },
    });
    expect(seedSourceId).toBe('s2');
    expect(loaded.credentials).toMatchObject({ kind: 'oauth', clientEndpoint: 'https://p.bitrix24.com/rest/', clientId: 'app.1' });
    if (loaded.credentials.kind !== 'oauth') throw new Error('oauth expected');
    await expect(loaded.credentials.tokenStore.load()).resolves.toEqual({ accessToken: '', refreshToken: 'rt-secret', expiresAt: 0 });
  });
});

describe('createSecretReader', () => {
  it('caches for maxAgeMs, shares concurrent reads and never caches failures', async () => {
    let clock = 0;
    let fetches = 0;
    let fail = true;
    const reader = createSecretReader({
      now: () => clock,
      maxAgeMs: 1000,
      fetch: (name) => {
        fetches += 1;
        if (fail) return Promise.reject(new SecretReadError(name, 'test'));
        return Promise.resolve(`value-${fetches}`);
      },
    });
    await expect(reader.read('s')).rejects.toBeInstanceOf(SecretReadError);
    fail = false;
    const [a, b] = await Promise.all([reader.read('s'), reader.read('s')]);
    expect([a, b, fetches]).toEqual(['value-2', 'value-2', 2]);
    clock = 999;
    expect(await reader.read('s')).toBe('value-2');
    clock = 1000;
    expect(await reader.read('s')).toBe('value-3');
    reader.invalidate('s');
    expect(await reader.read('s')).toBe('value-4');
  });
});
