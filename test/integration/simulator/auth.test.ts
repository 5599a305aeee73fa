// Webhook and OAuth authentication, the token endpoint and unknown methods.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPortalSimulator, type PortalSimulator } from '../../../functions/simulator/index.js';
import { get, manualClock, post, type ErrorBody } from './http.js';

interface TokenBody {
  access_token: string;
  refresh_token: string;
  expires: number;
  expires_in: number;
  client_endpoint: string;
  member_id: string;
  user_id: number;
  scope: string;
  status: string;
}

describe('simulator: authentication', () => {
  let sim: PortalSimulator;
  let clock: ReturnType<typeof manualClock>;
  let userId: number;

  beforeEach(async () => {
    clock = manualClock();
    sim = await startPortalSimulator({ now: clock.now, rateLimit: false, accessTokenTtlSeconds: 3600 });
    userId = sim.addUser().id;
  });
  afterEach(async () => {
    await sim.stop();
  });

  const renew = (q: Record<string, string>) => get(`${sim.oauthTokenUrl}?${new URLSearchParams({ grant_type: 'refresh_token', ...q }).toString()}`);

  it('a wrong webhook code or user answers 401 NO_AUTH_FOUND; an unknown method 404', async () => {
    const hook = sim.createWebhook(userId);
    const wrongCode = hook.replace(/\/rest\/(\d+)\/[^/]+\//, '/rest/$1/0000000000000000/');
    const wrongUser = hook.replace(`/rest/${userId}/`, '/rest/99/');
    for (const url of [wrongCode, wrongUser]) {
      const answer = await post(`${url}im.v2.Event.get`);
      expect(answer.status).toBe(401);
      expect(answer.json<ErrorBody>().error).toBe('NO_AUTH_FOUND');
    }
    const unknown = await post(`${hook}im.v2.Nothing.here`);
    expect(unknown.status).toBe(404);
    expect(unknown.json<ErrorBody>().error).toBe('ERROR_METHOD_NOT_FOUND');
  });

  it('OAuth calls pass auth in the body; an unknown token is NO_AUTH_FOUND, an expired one expired_token', async () => {
    const app = sim.registerApp();
    const tokens = sim.authorizeApp(app.clientId, userId);
    expect(tokens).toMatchObject({ expiresIn: 3600, clientEndpoint: `${sim.baseUrl}/rest/` });

    const ok = await post(`${tokens.clientEndpoint}im.v2.Event.subscribe`, { auth: tokens.accessToken });
    expect(ok.status).toBe(200);
    expect(sim.calls.at(-1)).toMatchObject({ method: 'im.v2.Event.subscribe', auth: 'oauth', userId, status: 200 });

    const viaForm = await post(`${tokens.clientEndpoint}im.v2.Event.get.json`, { auth: tokens.accessToken, limit: '5' }, { form: true });
    expect(viaForm.status).toBe(200);

    const noAuth = await post(`${tokens.clientEndpoint}im.v2.Event.get`, {});
    expect([noAuth.status, noAuth.json<ErrorBody>().error]).toEqual([401, 'NO_AUTH_FOUND']);
    const wrong = await post(`${tokens.clientEndpoint}im.v2.Event.get`, { auth: 'not-a-token' });
    expect([wrong.status, wrong.json<ErrorBody>().error]).toEqual([401, 'NO_AUTH_FOUND']);

    clock.advance(3600_000);
    const expired = await post(`${tokens.clientEndpoint}im.v2.Event.get`, { auth: tokens.accessToken });
    expect([expired.status, expired.json<ErrorBody>().error]).toEqual([401, 'expired_token']);

    // expireAccessTokens() does the same without moving the clock.
    const fresh = sim.authorizeApp(app.clientId, userId);
    expect((await post(`${fresh.clientEndpoint}im.v2.Event.get`, { auth: fresh.accessToken })).status).toBe(200);
    sim.expireAccessTokens(app.clientId);
    expect((await post(`${fresh.clientEndpoint}im.v2.Event.get`, { auth: fresh.accessToken })).json<ErrorBody>().error).toBe('expired_token');
  });

  it('renewal rotates the refresh token: the old one is single-use (invalid_grant)', async () => {
    const app = sim.registerApp();
    const initial = sim.authorizeApp(app.clientId, userId);
    clock.advance(3600_000);

    const first = await renew({ client_id: app.clientId, client_secret: app.clientSecret, refresh_token: initial.refreshToken });
    expect(first.status).toBe(200);
    const body = first.json<TokenBody>();
    expect(body).toMatchObject({
      expires_in: 3600,
      expires: Math.floor(clock.now() / 1000) + 3600,
      client_endpoint: `${sim.baseUrl}/rest/`,
      user_id: userId,
      member_id: (expect.any(String) as unknown),
      scope: (expect.any(String) as unknown),
      status: (expect.any(String) as unknown),
    });
    expect(body.refresh_token).not.toBe(initial.refreshToken);
    expect(body.access_token).not.toBe(initial.accessToken);

    // The new access token works, the old refresh token does not.
    expect((await post(`${body.client_endpoint}im.v2.Event.get`, { auth: body.access_token })).status).toBe(200);
    const reused = await renew({ client_id: app.clientId, client_secret: app.clientSecret, refresh_token: initial.refreshToken });
    expect([reused.status, reused.json<ErrorBody>().error]).toEqual([400, 'invalid_grant']);

    // The rotated one works exactly once.
    const second = await renew({ client_id: app.clientId, client_secret: app.clientSecret, refresh_token: body.refresh_token });
    expect(second.status).toBe(200);
    expect(sim.calls.filter((c) => c.method === 'oauth.token').map((c) => [c.status, c.errorCode])).toEqual([
      [200, undefined],
      [400, 'invalid_grant'],
      [200, undefined],
    ]);
  });

  it('a wrong client id or secret is invalid_client and does not burn the refresh token', async () => {
    const app = sim.registerApp();
    const other = sim.registerApp();
    const tokens = sim.authorizeApp(app.clientId, userId);
    const wrongSecret = await renew({ client_id: app.clientId, client_secret: 'wrong', refresh_token: tokens.refreshToken });
    expect([wrongSecret.status, wrongSecret.json<ErrorBody>().error]).toEqual([401, 'invalid_client']);
    const unknownClient = await renew({ client_id: 'local.nobody', client_secret: app.clientSecret, refresh_token: tokens.refreshToken });
    expect(unknownClient.json<ErrorBody>().error).toBe('invalid_client');
    // Another app's valid credentials cannot use this app's refresh token.
    const otherApp = await renew({ client_id: other.clientId, client_secret: other.clientSecret, refresh_token: tokens.refreshToken });
    expect([otherApp.status, otherApp.json<ErrorBody>().error]).toEqual([400, 'invalid_grant']);
    expect((await renew({ client_id: app.clientId, client_secret: app.clientSecret, refresh_token: tokens.refreshToken })).status).toBe(200);
  });

  it('never puts a secret in the call record', async () => {
    const app = sim.registerApp();
    const tokens = sim.authorizeApp(app.clientId, userId);
    const hook = sim.createWebhook(userId);
    await post(`${hook}im.v2.Event.get`);
    await post(`${tokens.clientEndpoint}im.v2.Event.get`, { auth: tokens.accessToken });
    await renew({ client_id: app.clientId, client_secret: app.clientSecret, refresh_token: tokens.refreshToken });
    const recorded = JSON.stringify(sim.calls);
    const code = /\/rest\/\d+\/([^/]+)\//.exec(hook)?.[1] ?? 'missing';
    for (const secret of [code, tokens.accessToken, tokens.refreshToken, app.clientSecret]) expect(recorded).not.toContain(secret);
    expect(sim.calls).toHaveLength(3);
  });
});
