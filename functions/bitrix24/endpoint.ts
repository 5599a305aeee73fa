// Parsing and checking of the URLs a client talks to: the webhook URL, the
// OAuth client endpoint and the OAuth token server. HTTPS is required except
// for loopback hosts (the local portal simulator).
import { InsecureUrlError, InvalidArgumentError } from './errors.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', '::1', 'localhost']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase());
}

export interface Endpoint {
  /** `https://host[:port]` */
  readonly origin: string;
  /** `host[:port]`, never a secret. */
  readonly host: string;
  /** Path prefix ending in `/`, e.g. `/rest/` or `/rest/1/<code>/` (secret for webhooks). */
  readonly basePath: string;
}

/**
 * Parses an absolute http(s) URL and enforces HTTPS off loopback. `what` names
 * the setting in errors; the URL itself is never echoed (it may hold a code).
 */
export function parseEndpoint(url: string, what: string): Endpoint & { readonly search: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(`${what} is not a valid absolute URL (value not shown: it may be a credential). Use e.g. https://example.bitrix24.com/rest/.`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new InvalidArgumentError(`${what} must be an https:// URL; got scheme ${parsed.protocol}`);
  }
  if (parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname)) {
    throw new InsecureUrlError(what, parsed.host);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new InvalidArgumentError(`${what} must not contain user:password@; found in the URL for ${parsed.host}`);
  }
  const basePath = parsed.pathname.endsWith('/') ? parsed.pathname : `${parsed.pathname}/`;
  return { origin: parsed.origin, host: parsed.host, basePath, search: parsed.search };
}

/** A webhook URL: `https://<portal>/rest/<userId>/<code>/`. Returns the endpoint and the code (to redact). */
export function parseWebhookUrl(url: string): Endpoint & { readonly userId: number; readonly code: string } {
  const endpoint = parseEndpoint(url, 'The webhook URL');
  const match = /^\/rest\/(\d+)\/([^/]+)\/$/.exec(endpoint.basePath);
  if (match === null || match[1] === undefined || match[2] === undefined) {
    throw new InvalidArgumentError(
      `The webhook URL must look like https://<portal>/rest/<userId>/<code>/ ; the one given (host ${endpoint.host}, path not shown) does not. Copy it again from the portal's inbound webhook settings.`,
    );
  }
  return { ...endpoint, userId: Number(match[1]), code: decodeURIComponent(match[2]) };
}
