// Parsing of the app events Bitrix24 POSTs to the install handler. The queue
// server sends `application/x-www-form-urlencoded` (api-reference/events/
// index.md "What Comes to the Handler"), PHP-style nested keys:
// `event=ONAPPINSTALL&data[VERSION]=1&ts=…&auth[member_id]=…`. A JSON body of
// the same shape is accepted too. Pure: no I/O.
//
// ONAPPINSTALL (common/events/on-app-install.md): auth {domain, scope,
//   access_token, refresh_token, expires_in, server_endpoint, status,
//   client_endpoint, member_id, application_token} — all required.
// ONAPPUNINSTALL (on-app-uninstall.md): auth {domain, server_endpoint,
//   client_endpoint, member_id, application_token}; data {LANGUAGE_ID, CLEAN}.
import { InstallRequestError } from './errors.js';

/** Fields common to both events. */
interface AppEventBase {
  readonly memberId: string;
  /** Portal address as sent in `auth.domain` (a host). */
  readonly domain: string;
  readonly clientEndpoint: string;
  readonly serverEndpoint: string;
  readonly applicationToken: string;
  /** `ts`, seconds epoch as sent. */
  readonly ts: number;
}

export interface AppInstallRequest extends AppEventBase {
  readonly event: 'ONAPPINSTALL';
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresInSeconds: number;
  readonly scope: string;
  /** L local, F free, D demo, T trial, P paid. */
  readonly status: string;
  readonly version: string;
  readonly languageId: string;
}

export interface AppUninstallRequest extends AppEventBase {
  readonly event: 'ONAPPUNINSTALL';
  /** The "Clear application data" option. */
  readonly clean: boolean;
  readonly languageId: string;
}

export type AppEventRequest = AppInstallRequest | AppUninstallRequest;

type Nested = { [key: string]: Nested | string };

const MAX_BODY_CHARS = 64 * 1024;
const MAX_DEPTH = 4;

/** `a[b][c]=v` → {a: {b: {c: v}}}; repeated or conflicting keys keep the first value. */
export function parseNestedForm(body: string): Nested {
  const root: Nested = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    if (match === null || match[1] === undefined) continue;
    const path = [match[1], ...[...(match[2] ?? '').matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1] ?? '')];
    if (path.length > MAX_DEPTH) continue;
    let node: Nested = root;
    path.forEach((segment, index) => {
      if (index === path.length - 1) {
        if (!(segment in node)) node[segment] = value;
        return;
      }
      const next = node[segment];
      if (next === undefined) {
        const created: Nested = {};
        node[segment] = created;
        node = created;
      } else if (typeof next === 'object') {
        node = next;
      }
    });
  }
  return root;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function text(obj: Record<string, unknown>, key: string, where: string): string {
  const value = obj[key];
  const scalar = typeof value === 'number' ? String(value) : value;
  if (typeof scalar !== 'string' || scalar.trim() === '') throw new InstallRequestError(`${where}${key}`, 'is missing or empty');
  if (scalar.length > 2048) throw new InstallRequestError(`${where}${key}`, 'is too long');
  return scalar.trim();
}

function optionalText(obj: Record<string, unknown>, key: string, fallback: string): string {
  const value = obj[key];
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, 64) : fallback;
}

function positiveInteger(obj: Record<string, unknown>, key: string, where: string): number {
  const raw = text(obj, key, where);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new InstallRequestError(`${where}${key}`, 'is not a positive integer');
  return value;
}

function url(obj: Record<string, unknown>, key: string): string {
  const value = text(obj, key, 'auth.');
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new InstallRequestError(`auth.${key}`, 'is not an http(s) URL');
  }
  return value;
}

/** The body as an object: form-encoded (what Bitrix24 sends) or JSON. */
function decodeBody(body: string, contentType: string | undefined): Record<string, unknown> {
  if (body.length > MAX_BODY_CHARS) throw new InstallRequestError('body', `is larger than ${MAX_BODY_CHARS} characters`);
  if (contentType?.toLowerCase().includes('application/json') === true) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new InstallRequestError('body', 'is not valid JSON');
    }
    const record = asRecord(parsed);
    if (record === undefined) throw new InstallRequestError('body', 'is not a JSON object');
    return record;
  }
  return parseNestedForm(body);
}

/**
 * Validates an app event request. Throws InstallRequestError (→ 400) naming the
 * bad field for anything that is not an ONAPPINSTALL / ONAPPUNINSTALL of Bitrix24's shape.
 */
export function parseAppEventRequest(body: string, contentType: string | undefined): AppEventRequest {
  const root = decodeBody(body, contentType);
  const event = text(root, 'event', '').toUpperCase();
  const auth = asRecord(root.auth);
  if (auth === undefined) throw new InstallRequestError('auth', 'is missing (auth[member_id], auth[application_token], …)');
  const data = asRecord(root.data) ?? {};
  const base = {
    memberId: text(auth, 'member_id', 'auth.'),
    domain: text(auth, 'domain', 'auth.'),
    clientEndpoint: url(auth, 'client_endpoint'),
    serverEndpoint: url(auth, 'server_endpoint'),
    applicationToken: text(auth, 'application_token', 'auth.'),
    ts: positiveInteger(root, 'ts', ''),
  };
  if (!/^[A-Za-z0-9]{1,64}$/.test(base.memberId)) throw new InstallRequestError('auth.member_id', 'is not an account id (letters and digits)');
  if (event === 'ONAPPINSTALL') {
    return {
      event,
      ...base,
      accessToken: text(auth, 'access_token', 'auth.'),
      refreshToken: text(auth, 'refresh_token', 'auth.'),
      expiresInSeconds: positiveInteger(auth, 'expires_in', 'auth.'),
      scope: optionalText(auth, 'scope', ''),
      status: optionalText(auth, 'status', ''),
      version: optionalText(data, 'VERSION', ''),
      languageId: optionalText(data, 'LANGUAGE_ID', ''),
    };
  }
  // on-app-uninstall.md spells the code ONAPPSUNINSTALL in its example and table (the page's title and
  // every other page say ONAPPUNINSTALL): both are read as the uninstall.
  if (event === 'ONAPPUNINSTALL' || event === 'ONAPPSUNINSTALL') {
    return { event: 'ONAPPUNINSTALL', ...base, clean: optionalText(data, 'CLEAN', '0') === '1', languageId: optionalText(data, 'LANGUAGE_ID', '') };
  }
  throw new InstallRequestError('event', 'is not ONAPPINSTALL or ONAPPUNINSTALL');
}
