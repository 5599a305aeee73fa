// The OAuth app flow of a Marketplace/local app on the simulated portal: the
// portal POSTs ONAPPINSTALL to the app's install handler right after the app
// is installed, and ONAPPUNINSTALL when it is removed — form-encoded, as the
// queue server sends every event (api-reference/events/index.md "What Comes
// to the Handler": `application/x-www-form-urlencoded`, `auth[member_id]=…`).
//
// ONAPPINSTALL (api-reference/common/events/on-app-install.md): `event`,
// `data {VERSION, ACTIVE, INSTALLED, LANGUAGE_ID}`, `ts`, `auth {domain, scope,
// access_token, refresh_token, expires_in, server_endpoint, status,
// client_endpoint, member_id, application_token}` — the tokens are real
// tokens of this simulator's OAuth server, so the handler can renew them.
// ONAPPUNINSTALL (on-app-uninstall.md): `data {LANGUAGE_ID, CLEAN}`, `auth
// {domain, server_endpoint, client_endpoint, member_id, application_token}` —
// no tokens (safe-event-handlers.md: "no authorization data is passed"); the
// app's tokens are revoked before the event is sent.
import { SimulatorOptionError } from './errors.js';
import type { PortalState } from './portal-state.js';

export interface InstallAppInput {
  /** The app's install handler (the "Event installation handler URL" of the app card), http(s) on loopback in tests. */
  readonly handlerUrl: string;
  /** The app (from `registerApp()`). */
  readonly clientId: string;
  /** The administrator who installs the app; its tokens go to the handler. */
  readonly userId: number;
  /** `data.VERSION`. @default "1" */
  readonly version?: string;
  /** `data.LANGUAGE_ID`. @default "en" */
  readonly languageId?: string;
  /** `auth.status`: L local, F free, D demo, T trial, P paid. @default "F" */
  readonly status?: 'L' | 'F' | 'D' | 'T' | 'P';
  /** Send this `application_token` instead of the install's (a forged or stale request). */
  readonly applicationToken?: string;
}

export interface UninstallAppInput {
  /**
   * Nothing to give: like Bitrix24, the portal posts ONAPPUNINSTALL to the handlers the app bound to it
   * with event.bind (settings/app-uninstallation.md: "the application must add an OnAppUninstall event
   * handler"); an app that bound none hears nothing.
   */
  readonly clientId: string;
  /** `data.CLEAN`: the "Clear application data" option. @default 0 */
  readonly clean?: 0 | 1;
  readonly languageId?: string;
  /** Send this `application_token` instead of the install's (a forged request; the app stays installed). */
  readonly applicationToken?: string;
}

/** What the handler answered, and the install facts a test checks against. */
export interface AppEventDelivery {
  readonly event: 'ONAPPINSTALL' | 'ONAPPUNINSTALL';
  /** HTTP status of the handler's answer (0: no answer). */
  readonly status: number;
  readonly body: string;
  readonly memberId: string;
  readonly applicationToken: string;
  /** ONAPPINSTALL only: the tokens sent (a test registers them as secrets to scan for). */
  readonly accessToken?: string;
  readonly refreshToken?: string;
  /** ONAPPUNINSTALL only: how many handlers the app had bound for it (event.bind) and got it; 0: nobody heard it. */
  readonly handlers?: number;
}

export interface AppEventRecord {
  readonly event: 'ONAPPINSTALL' | 'ONAPPUNINSTALL';
  /** Host of the handler URL (never a secret). */
  readonly handlerHost: string;
  readonly status: number;
  readonly at: number;
}

export interface AppInstallEnvironment {
  readonly state: PortalState;
  readonly now: () => number;
  readonly baseUrl: () => string;
  readonly portalHost: () => string;
  readonly record: (record: AppEventRecord) => void;
}

type FormValue = string | number | { readonly [key: string]: FormValue };

/** PHP-style form encoding of a nested event (`auth[member_id]=…`), every scalar a string. */
export function encodeAppEventForm(fields: Readonly<Record<string, FormValue>>): string {
  const form = new URLSearchParams();
  const add = (key: string, value: FormValue): void => {
    if (typeof value === 'object') {
      for (const [inner, innerValue] of Object.entries(value)) add(`${key}[${inner}]`, innerValue);
    } else {
      form.append(key, String(value));
    }
  };
  for (const [key, value] of Object.entries(fields)) add(key, value);
  return form.toString();
}

async function post(url: string, body: string): Promise<{ status: number; body: string }> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SimulatorOptionError('installApp/uninstallApp: handlerUrl is not an absolute URL.');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new SimulatorOptionError('installApp/uninstallApp: handlerUrl must be http(s).');
  try {
    const response = await fetch(parsed, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    return { status: response.status, body: await response.text() };
  } catch {
    // Bitrix24 does not retry a failed event delivery (events/index.md "No retries").
    return { status: 0, body: '' };
  }
}

export class AppInstallFlow {
  readonly #env: AppInstallEnvironment;

  constructor(env: AppInstallEnvironment) {
    this.#env = env;
  }

  #common(): { domain: string; server_endpoint: string; client_endpoint: string; member_id: string } {
    const base = this.#env.baseUrl();
    return {
      domain: this.#env.portalHost(),
      // The OAuth server of this simulator; the real one is https://oauth.bitrix.info/rest/.
      server_endpoint: `${base}/oauth/rest/`,
      client_endpoint: `${base}/rest/`,
      member_id: this.#env.state.memberId,
    };
  }

  /** Installs the app for `userId` (idempotent: a second call re-sends ONAPPINSTALL with the same application_token and fresh tokens). */
  async install(input: InstallAppInput): Promise<AppEventDelivery> {
    const { state } = this.#env;
    const { applicationToken } = state.installApp(input.clientId, input.userId);
    const tokens = state.authorizeApp(input.clientId, input.userId);
    const now = this.#env.now();
    const sentToken = input.applicationToken ?? applicationToken;
    const body = encodeAppEventForm({
      event: 'ONAPPINSTALL',
      data: { VERSION: input.version ?? '1', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: input.languageId ?? 'en' },
      ts: Math.floor(now / 1000),
      auth: {
        access_token: tokens.accessToken,
        expires: Math.floor(tokens.expiresAt / 1000),
        expires_in: Math.round((tokens.expiresAt - now) / 1000),
        scope: 'im,imbot',
        ...this.#common(),
        status: input.status ?? 'F',
        refresh_token: tokens.refreshToken,
        application_token: sentToken,
      },
    });
    const answer = await post(input.handlerUrl, body);
    this.#env.record({ event: 'ONAPPINSTALL', handlerHost: new URL(input.handlerUrl).host, status: answer.status, at: this.#env.now() });
    return { event: 'ONAPPINSTALL', ...answer, memberId: state.memberId, applicationToken: sentToken, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
  }

  /** A new version: the app's event handlers are dropped, then the installer runs again (PortalSimulator.updateApp). */
  async update(input: InstallAppInput & { readonly version: string }): Promise<AppEventDelivery> {
    if (this.#env.state.installOf(input.clientId) === undefined) throw new SimulatorOptionError('updateApp: the app is not installed on this portal; call installApp() first.');
    this.#env.state.dropEventBindings(input.clientId);
    return await this.install(input);
  }

  /**
   * Removes the app (its tokens revoked, its event handlers deleted) and posts ONAPPUNINSTALL to the
   * handlers it had bound for it; with a forged `applicationToken` the app stays installed (a request
   * the app must refuse). `handlers` says how many were posted to: 0 when the app bound none.
   */
  async uninstall(input: UninstallAppInput): Promise<AppEventDelivery> {
    const { state } = this.#env;
    const install = state.installOf(input.clientId);
    if (install === undefined) throw new SimulatorOptionError('uninstallApp: the app is not installed on this portal; call installApp() first.');
    const handlers = state
      .eventBindingsOf(input.clientId)
      .filter((binding) => binding.event === 'ONAPPUNINSTALL')
      .map((binding) => binding.handler);
    const forged = input.applicationToken !== undefined;
    if (!forged) state.uninstallApp(input.clientId);
    const sentToken = input.applicationToken ?? install.applicationToken;
    const body = encodeAppEventForm({
      event: 'ONAPPUNINSTALL',
      data: { LANGUAGE_ID: input.languageId ?? 'en', CLEAN: input.clean ?? 0 },
      ts: Math.floor(this.#env.now() / 1000),
      auth: { ...this.#common(), application_token: sentToken },
    });
    let first: { status: number; body: string } = { status: 0, body: '' };
    for (const [index, handlerUrl] of handlers.entries()) {
      const answer = await post(handlerUrl, body);
      this.#env.record({ event: 'ONAPPUNINSTALL', handlerHost: new URL(handlerUrl).host, status: answer.status, at: this.#env.now() });
      if (index === 0) first = answer;
    }
    return { event: 'ONAPPUNINSTALL', ...first, memberId: state.memberId, applicationToken: sentToken, handlers: handlers.length };
  }
}
