// The app's own credentials and the Bitrix24 client of an installed portal.
//
// One app secret (Secrets Manager, its name in the endpoint's environment)
// holds the app's `clientId` and `clientSecret` — the same for every portal
// the app is installed on. A portal's tokens live in its install record
// (install-store.ts). `appInstallCredentials` joins the two into the OAuth
// credentials of functions/bitrix24 (client.ts), so the poller and the
// consumers read an installed source exactly like an OAuth source whose
// secret they hold: same OAuthSession, same conditional token saves.
import { type Bitrix24Credentials } from '../bitrix24/client.js';
import { type TokenStore } from '../bitrix24/token-store.js';
import { InstallConfigError } from './errors.js';
import { type AppInstallRecord } from './install-store.js';

/** The JSON of the app secret: `{"clientId": "app.…", "clientSecret": "…"}` (the app card's "Application ID" and "Application key"). */
export interface AppSecret {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** Validates the app secret's JSON; errors name the field, never a value. */
export function parseAppSecret(json: unknown, secretName = 'the app secret'): AppSecret {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json) as unknown;
    } catch {
      throw new InstallConfigError(`${secretName} is not valid JSON; store {"clientId": "…", "clientSecret": "…"}.`);
    }
  }
  const obj = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  if (obj === undefined) throw new InstallConfigError(`${secretName} must be a JSON object {"clientId": "…", "clientSecret": "…"}.`);
  const field = (name: 'clientId' | 'clientSecret'): string => {
    const found = obj[name];
    if (typeof found !== 'string' || found.trim() === '') throw new InstallConfigError(`${secretName}: ${name} is missing or empty (value not shown).`);
    return found.trim();
  };
  return { clientId: field('clientId'), clientSecret: field('clientSecret') };
}

/** OAuth credentials of an installed portal: the app's client id/secret and the portal's token chain in its install record. */
export function appInstallCredentials(record: Pick<AppInstallRecord, 'clientEndpoint' | 'oauthTokenUrl'>, app: AppSecret, tokenStore: TokenStore): Bitrix24Credentials {
  return {
    kind: 'oauth',
    clientEndpoint: record.clientEndpoint,
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    oauthTokenUrl: record.oauthTokenUrl,
    tokenStore,
  };
}
