// The JSON kept in a source's Secrets Manager secret (contract C):
//   webhook: {"webhookUrl": "https://<portal>/rest/<userId>/<code>/", "botToken"?: "…"}
//   oauth:   {"clientId", "clientSecret", "refreshToken", "clientEndpoint"?, "oauthTokenUrl"?, "botToken"?}
// Errors name the missing or bad field and never echo a value.
import { Bitrix24Error, SourceSecretError } from './errors.js';
import { parseEndpoint, parseWebhookUrl } from './endpoint.js';

export interface WebhookSourceSecret {
  readonly webhookUrl: string;
  readonly botToken?: string;
}

export interface OAuthSourceSecret {
  readonly clientId: string;
  readonly clientSecret: string;
  /** The initial refresh token; rotated ones are kept in the token store. */
  readonly refreshToken: string;
  readonly clientEndpoint?: string;
  readonly oauthTokenUrl?: string;
  readonly botToken?: string;
}

export type SourceSecret = WebhookSourceSecret | OAuthSourceSecret;

function asObject(json: unknown, secretName: string | undefined): Record<string, unknown> {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json) as unknown;
    } catch {
      throw new SourceSecretError('(root)', 'is not valid JSON', secretName);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SourceSecretError('(root)', 'must be a JSON object', secretName);
  }
  return value as Record<string, unknown>;
}

function requiredString(obj: Record<string, unknown>, field: string, secretName: string | undefined): string {
  const value = obj[field];
  if (value === undefined || value === null) throw new SourceSecretError(field, 'is missing', secretName);
  if (typeof value !== 'string' || value.trim() === '') throw new SourceSecretError(field, 'must be a non-empty string', secretName);
  return value.trim();
}

function optionalString(obj: Record<string, unknown>, field: string, secretName: string | undefined): string | undefined {
  return obj[field] === undefined || obj[field] === null ? undefined : requiredString(obj, field, secretName);
}

function checkUrl(field: string, secretName: string | undefined, check: () => unknown): void {
  try {
    check();
  } catch (error) {
    const reason = error instanceof Bitrix24Error ? error.message : 'is not a valid URL';
    throw new SourceSecretError(field, `is not usable (${reason})`, secretName);
  }
}

export function parseSourceSecret(json: unknown, auth: 'webhook', secretName?: string): WebhookSourceSecret;
export function parseSourceSecret(json: unknown, auth: 'oauth', secretName?: string): OAuthSourceSecret;
export function parseSourceSecret(json: unknown, auth: 'webhook' | 'oauth', secretName?: string): SourceSecret;
/** Validates a source secret for the given auth kind. Throws SourceSecretError naming the field. */
export function parseSourceSecret(json: unknown, auth: 'webhook' | 'oauth', secretName?: string): SourceSecret {
  const obj = asObject(json, secretName);
  const botToken = optionalString(obj, 'botToken', secretName);
  const bot = botToken === undefined ? {} : { botToken };
  if (auth === 'webhook') {
    const webhookUrl = requiredString(obj, 'webhookUrl', secretName);
    checkUrl('webhookUrl', secretName, () => parseWebhookUrl(webhookUrl));
    return { webhookUrl, ...bot };
  }
  const clientId = requiredString(obj, 'clientId', secretName);
  const clientSecret = requiredString(obj, 'clientSecret', secretName);
  const refreshToken = requiredString(obj, 'refreshToken', secretName);
  const clientEndpoint = optionalString(obj, 'clientEndpoint', secretName);
  const oauthTokenUrl = optionalString(obj, 'oauthTokenUrl', secretName);
  if (clientEndpoint !== undefined) checkUrl('clientEndpoint', secretName, () => parseEndpoint(clientEndpoint, 'clientEndpoint'));
  if (oauthTokenUrl !== undefined) checkUrl('oauthTokenUrl', secretName, () => parseEndpoint(oauthTokenUrl, 'oauthTokenUrl'));
  return {
    clientId,
    clientSecret,
    refreshToken,
    ...(clientEndpoint === undefined ? {} : { clientEndpoint }),
    ...(oauthTokenUrl === undefined ? {} : { oauthTokenUrl }),
    ...bot,
  };
}
