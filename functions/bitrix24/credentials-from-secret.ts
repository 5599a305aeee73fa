// From a source's configuration and its secret to client credentials: the
// poller and consumer Lambdas call this for every new value of the secret
// (SecretFollowingClient in the consumers; the poller's handler keys its
// dependencies on the secret's value).
import { type SourceConfig } from '../shared/config.js';
import { type Bitrix24Credentials } from './client.js';
import { SourceSecretError } from './errors.js';
import { parseEndpoint, parseWebhookUrl } from './endpoint.js';
import { parseSourceSecret } from './source-secret.js';
import { type StoredTokens, type TokenStore } from './token-store.js';

export interface SourceCredentials {
  readonly credentials: Bitrix24Credentials;
  /** The bot's token (bot sources with webhook auth). */
  readonly botToken?: string;
}

export interface LoadSourceCredentialsInput {
  readonly source: Pick<SourceConfig, 'id' | 'portal' | 'auth'>;
  /** The secret's JSON (string or parsed). */
  readonly secretJson: unknown;
  /** Builds the token store of an OAuth source; `initial` yields the seed tokens from the secret. */
  readonly tokenStoreFactory: (input: { sourceId: string; initial: () => Promise<StoredTokens | undefined> }) => TokenStore;
  /** For error messages only. */
  readonly secretName?: string;
}

export function loadSourceCredentials(input: LoadSourceCredentialsInput): SourceCredentials {
  const { source, secretName } = input;
  const samePortal = (field: string, host: string): void => {
    if (host.toLowerCase() !== source.portal.toLowerCase()) {
      throw new SourceSecretError(field, `points to host ${host}, but source "${source.id}" is configured for portal ${source.portal}`, secretName);
    }
  };
  if (source.auth === 'webhook') {
    const secret = parseSourceSecret(input.secretJson, 'webhook', secretName);
    samePortal('webhookUrl', parseWebhookUrl(secret.webhookUrl).host);
    return {
      credentials: { kind: 'webhook', webhookUrl: secret.webhookUrl },
      ...(secret.botToken === undefined ? {} : { botToken: secret.botToken }),
    };
  }
  const secret = parseSourceSecret(input.secretJson, 'oauth', secretName);
  const clientEndpoint = secret.clientEndpoint ?? `https://${source.portal}/rest/`;
  samePortal('clientEndpoint', parseEndpoint(clientEndpoint, 'clientEndpoint').host);
  // The secret's refresh token seeds the store; a zero expiry forces a renewal before the first call.
  // The store decides whether this seed is newer than its chain (token-store.ts, seedReplacesChain).
  const seed: StoredTokens = { accessToken: '', refreshToken: secret.refreshToken, expiresAt: 0 };
  const tokenStore = input.tokenStoreFactory({ sourceId: source.id, initial: () => Promise.resolve(seed) });
  return {
    credentials: {
      kind: 'oauth',
      clientEndpoint,
      clientId: secret.clientId,
      clientSecret: secret.clientSecret,
      ...(secret.oauthTokenUrl === undefined ? {} : { oauthTokenUrl: secret.oauthTokenUrl }),
      tokenStore,
    },
    ...(secret.botToken === undefined ? {} : { botToken: secret.botToken }),
  };
}
