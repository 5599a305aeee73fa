// SecretFollowingClient's decisions with fakes: when it rebuilds, when it
// repeats a call, and that concurrent refusals share one rebuild. The real
// thing over HTTP and DynamoDB Local: test/integration/bitrix24/secret-follow.test.ts.
import { describe, expect, it } from 'vitest';
import {
  type Bitrix24Client,
  type Bitrix24Credentials,
  createSecretReader,
  InMemoryTokenStore,
  InvalidGrantError,
  isCredentialFailure,
  NoAuthFoundError,
  QueryLimitExceededError,
  SecretFollowingClient,
  BotOwnershipError,
  BotNotFoundError,
} from '../../../functions/bitrix24/index.js';

const SECRET = 'b24/sources/demo';
const source = { id: 'demo', portal: 'example.bitrix24.com', auth: 'webhook' } as const;
const webhook = (code: string) => JSON.stringify({ webhookUrl: `https://example.bitrix24.com/rest/1/${code}/` });

/** A client that answers with `answer(webhookUrl)` and records its calls. */
function fakeClients(answer: (webhookUrl: string, method: string) => Promise<unknown>) {
  const built: string[] = [];
  const closed: string[] = [];
  const calls: string[] = [];
  const createClient = (credentials: Bitrix24Credentials): Bitrix24Client => {
    if (credentials.kind !== 'webhook') throw new Error('webhook sources only in this fake');
    const url = credentials.webhookUrl;
    built.push(url);
    const unused = () => Promise.reject(new Error('not used'));
    return {
      portal: source.portal,
      getEvents: unused,
      getBotEvents: unused,
      subscribe: unused,
      unsubscribe: unused,
      call: async <T,>(method: string) => {
        calls.push(`${url} ${method}`);
        return { result: (await answer(url, method)) as T };
      },
      transportStats: { requests: 0, connectionsOpened: 0 },
      oauthRenewals: 0,
      close: () => {
        closed.push(url);
        return Promise.resolve();
      },
    };
  };
  return { built, closed, calls, createClient };
}

function setup(answer: (webhookUrl: string, method: string) => Promise<unknown>) {
  let clock = 0;
  let value = webhook('one');
  let fetches = 0;
  const secrets = createSecretReader({
    maxAgeMs: 1000,
    now: () => clock,
    fetch: () => {
      fetches += 1;
      return Promise.resolve(value);
    },
  });
  const fakes = fakeClients(answer);
  const client = new SecretFollowingClient({ source, secretName: SECRET, secrets, tokenStoreFactory: () => new InMemoryTokenStore(), createClient: fakes.createClient });
  return {
    client,
    fakes,
    setSecret: (next: string) => {
      value = next;
    },
    advance: (ms: number) => {
      clock += ms;
    },
    fetches: () => fetches,
  };
}

const refused = () => new NoAuthFoundError({ code: 'NO_AUTH_FOUND', httpStatus: 401, method: 'im.message.add' });

describe('isCredentialFailure', () => {
  it('is true for refusals a changed secret can cure, false for others', () => {
    expect(isCredentialFailure(refused())).toBe(true);
    expect(isCredentialFailure(new InvalidGrantError({ httpStatus: 400 }))).toBe(true);
    expect(isCredentialFailure(new BotOwnershipError({ httpStatus: 403 }))).toBe(true);
    expect(isCredentialFailure(new BotNotFoundError({ httpStatus: 400 }))).toBe(false);
    expect(isCredentialFailure(new QueryLimitExceededError({ code: 'QUERY_LIMIT_EXCEEDED', httpStatus: 503 }))).toBe(false);
    expect(isCredentialFailure(new Error('x'))).toBe(false);
  });
});

describe('SecretFollowingClient', () => {
  it('builds once while the secret is unchanged, rebuilds (and closes the old client) when it changes', async () => {
    const t = setup(() => Promise.resolve(1));
    await t.client.call('im.message.add');
    await t.client.call('im.message.add');
    t.setSecret(webhook('two'));
    await t.client.call('im.message.add'); // still cached
    t.advance(1000);
    await t.client.call('im.message.add');
    expect(t.fakes.built).toEqual(['https://example.bitrix24.com/rest/1/one/', 'https://example.bitrix24.com/rest/1/two/']);
    expect(t.fakes.closed).toEqual(['https://example.bitrix24.com/rest/1/one/']);
    expect(t.fakes.calls.map((call) => call.split('/')[5])).toEqual(['one', 'one', 'one', 'two']);
  });

  it('a refused call re-reads the secret at once, rebuilds and repeats the call once', async () => {
    const t = setup((url) => (url.includes('/one/') ? Promise.reject(refused()) : Promise.resolve(7)));
    t.setSecret(webhook('one'));
    await t.client.current();
    t.setSecret(webhook('two')); // cached reader still says "one"
    await expect(t.client.call('im.message.add')).resolves.toEqual({ result: 7 });
    expect(t.fakes.calls.map((call) => call.split('/')[5])).toEqual(['one', 'two']);
    expect(t.fetches()).toBe(2);
  });

  it('a refusal that persists after the rebuild is thrown; the call is made at most twice', async () => {
    const t = setup(() => Promise.reject(refused()));
    await expect(t.client.call('im.message.add')).rejects.toBeInstanceOf(NoAuthFoundError);
    expect(t.fakes.calls).toHaveLength(2);
    expect(t.fakes.built).toHaveLength(2);
  });

  it('other failures are thrown as they are, without a re-read or a repeat', async () => {
    const t = setup(() => Promise.reject(new QueryLimitExceededError({ code: 'QUERY_LIMIT_EXCEEDED', httpStatus: 503 })));
    await expect(t.client.call('im.message.add')).rejects.toBeInstanceOf(QueryLimitExceededError);
    expect(t.fakes.calls).toHaveLength(1);
    expect(t.fetches()).toBe(1);
  });

  it('concurrent refusals on one client share one re-read and one rebuild', async () => {
    const t = setup((url) => (url.includes('/one/') ? Promise.reject(refused()) : Promise.resolve(1)));
    await t.client.current();
    t.setSecret(webhook('two'));
    await Promise.all(Array.from({ length: 5 }, () => t.client.call('im.message.add')));
    expect(t.fakes.built).toHaveLength(2);
    expect(t.fetches()).toBe(2);
    expect(t.fakes.calls.filter((call) => call.includes('/two/'))).toHaveLength(5);
  });

  it('never shows the secret in its text forms', async () => {
    const t = setup(() => Promise.resolve(1));
    await t.client.current();
    expect(`${String(t.client)} ${JSON.stringify(t.client)}`).not.toContain('/rest/1/one');
  });
});
