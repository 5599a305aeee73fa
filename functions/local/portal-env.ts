// Reads a real portal's settings for dev mode (and the CLI's local target)
// from the environment and an optional `.env` file. Values are credentials:
// they are never printed; errors name the variable, not its value.
import { readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import type { Bitrix24Credentials } from '../bitrix24/client.js';
import type { StoredTokens } from '../bitrix24/token-store.js';
import { type SourceConfig, parseSourceConfig } from '../shared/config.js';
import { ConfigError } from '../shared/errors.js';
import { LocalUsageError, MissingPortalCredentialsError } from './errors.js';
import { FileTokenStore } from './file-token-store.js';

export const PORTAL_ENV = {
  webhookUrl: 'B24_WEBHOOK_URL',
  oauthClientId: 'B24_OAUTH_CLIENT_ID',
  oauthClientSecret: 'B24_OAUTH_CLIENT_SECRET',
  oauthRefreshToken: 'B24_OAUTH_REFRESH_TOKEN',
  oauthClientEndpoint: 'B24_OAUTH_CLIENT_ENDPOINT',
  oauthTokenUrl: 'B24_OAUTH_TOKEN_URL',
  botId: 'B24_BOT_ID',
  botToken: 'B24_BOT_TOKEN',
  withUserEvents: 'B24_WITH_USER_EVENTS',
  sourceId: 'B24_SOURCE_ID',
} as const;

export type Env = Readonly<Record<string, string | undefined>>;

/** `.env` merged under the process environment (the environment wins). A missing file is fine. */
export async function loadEnvWithDotEnv(env: Env, dotEnvPath: string): Promise<Env> {
  let fromFile: Record<string, string> = {};
  try {
    fromFile = parseEnv(await readFile(dotEnvPath, 'utf8')) as Record<string, string>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new LocalUsageError(`Cannot read ${dotEnvPath}: fix its syntax (KEY=value per line) or remove it.`, { cause: error });
    }
  }
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== '') merged[key] = value;
  return merged;
}

export interface PortalSettings {
  readonly source: SourceConfig;
  readonly credentials: Bitrix24Credentials;
  readonly botToken?: string;
}

const present = (env: Env, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

function hostOf(url: string, variable: string): string {
  try {
    return new URL(url).host;
  } catch (error) {
    throw new MissingPortalCredentialsError(`${variable} is not a valid URL (value not shown). Copy it again from the portal, e.g. https://example.bitrix24.com/rest/1/<code>/.`, { cause: error });
  }
}

/**
 * The source and credentials dev mode polls with. Webhook: B24_WEBHOOK_URL.
 * OAuth: B24_OAUTH_CLIENT_ID, B24_OAUTH_CLIENT_SECRET, B24_OAUTH_REFRESH_TOKEN,
 * B24_OAUTH_CLIENT_ENDPOINT (rotated tokens kept in `tokenFile`). A bot
 * source: B24_BOT_ID (+ B24_BOT_TOKEN with a webhook).
 */
export function portalSettingsFromEnv(env: Env, options: { tokenFile: string; sourceId?: string }): PortalSettings {
  const webhookUrl = present(env, PORTAL_ENV.webhookUrl);
  const clientId = present(env, PORTAL_ENV.oauthClientId);
  const botIdText = present(env, PORTAL_ENV.botId);
  const botToken = present(env, PORTAL_ENV.botToken);
  const sourceId = options.sourceId ?? present(env, PORTAL_ENV.sourceId) ?? 'dev';

  let credentials: Bitrix24Credentials;
  let portal: string;
  if (webhookUrl !== undefined) {
    credentials = { kind: 'webhook', webhookUrl };
    portal = hostOf(webhookUrl, PORTAL_ENV.webhookUrl);
  } else if (clientId !== undefined) {
    const missing = [PORTAL_ENV.oauthClientSecret, PORTAL_ENV.oauthRefreshToken, PORTAL_ENV.oauthClientEndpoint].filter((name) => present(env, name) === undefined);
    if (missing.length > 0) {
      throw new MissingPortalCredentialsError(`OAuth settings incomplete: set ${missing.join(', ')} (in the environment or .env) next to ${PORTAL_ENV.oauthClientId}.`);
    }
    const clientEndpoint = present(env, PORTAL_ENV.oauthClientEndpoint) ?? '';
    const refreshToken = present(env, PORTAL_ENV.oauthRefreshToken) ?? '';
    const initial: StoredTokens = { accessToken: '', refreshToken, expiresAt: 0 };
    const oauthTokenUrl = present(env, PORTAL_ENV.oauthTokenUrl);
    credentials = {
      kind: 'oauth',
      clientEndpoint,
      clientId,
      clientSecret: present(env, PORTAL_ENV.oauthClientSecret) ?? '',
      ...(oauthTokenUrl === undefined ? {} : { oauthTokenUrl }),
      tokenStore: new FileTokenStore(options.tokenFile, initial),
    };
    portal = hostOf(clientEndpoint, PORTAL_ENV.oauthClientEndpoint);
  } else {
    throw new MissingPortalCredentialsError(
      `No portal credentials: set ${PORTAL_ENV.webhookUrl} (an inbound webhook with scope im${botIdText === undefined ? '' : ', imbot'}) ` +
        `or ${PORTAL_ENV.oauthClientId}/${PORTAL_ENV.oauthClientSecret}/${PORTAL_ENV.oauthRefreshToken}/${PORTAL_ENV.oauthClientEndpoint}, ` +
        'in the environment or in a .env file in the working directory.',
    );
  }

  let botId: number | undefined;
  if (botIdText !== undefined) {
    botId = Number(botIdText);
    if (!Number.isSafeInteger(botId) || botId <= 0) throw new MissingPortalCredentialsError(`${PORTAL_ENV.botId} must be a positive integer: the bot's id (bot.id in the answer of imbot.v2.Bot.register; a bot registered with v1 imbot.register gets no imbot.v2 events). \`npm run cli -- bot register --code <code> --name <name>\` registers one and saves it here.`);
    if (credentials.kind === 'webhook' && botToken === undefined) {
      throw new MissingPortalCredentialsError(`${PORTAL_ENV.botToken} is required for a bot source read through a webhook: set it to the bot's botToken (the one passed to imbot.v2.Bot.register, at most 40 characters; \`npm run cli -- bot register\` saves both to .env).`);
    }
  }

  let source: SourceConfig;
  try {
    source = parseSourceConfig(
      {
        id: sourceId,
        kind: botId === undefined ? 'user' : 'bot',
        portal,
        auth: credentials.kind,
        ...(botId === undefined ? {} : { botId, withUserEvents: present(env, PORTAL_ENV.withUserEvents) === 'true' }),
        mode: 'continuous',
        idleInterval: { minSeconds: 5, maxSeconds: 30 },
      },
      'dev-mode source (from the environment)',
    );
  } catch (error) {
    if (error instanceof ConfigError) throw new LocalUsageError(error.message, { cause: error });
    throw error;
  }
  return { source, credentials, ...(botToken === undefined ? {} : { botToken }) };
}
