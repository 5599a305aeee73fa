// The credentials the CLI uses to call Bitrix24 for a source (subscribe /
// unsubscribe): on AWS, the source's Secrets Manager secret (OAuth tokens
// rotated by the poller are read from the state table); locally, the same
// environment variables / `.env` as dev mode. Never printed.
import { resolve } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Bitrix24Client, createBitrix24Client } from '../bitrix24/client.js';
import { loadSourceCredentials } from '../bitrix24/credentials-from-secret.js';
import { dynamoDbTokenStoreFactory } from '../bitrix24/dynamodb-token-store.js';
import { Bitrix24Error } from '../bitrix24/errors.js';
import { secretsManagerFetch } from '../bitrix24/secret-reader.js';
import { LocalRuntimeError } from '../local/errors.js';
import { type Env, loadEnvWithDotEnv, portalSettingsFromEnv } from '../local/portal-env.js';
import { type SourceConfig, secretNameOf } from '../shared/config.js';
import { MissingCredentialsError } from './errors.js';
import type { PipelineTarget } from './target.js';

export interface SourceClient {
  readonly client: Bitrix24Client;
  readonly botToken?: string;
}

export interface CredentialsEnvironment {
  readonly cwd: string;
  readonly env: Env;
  readonly region?: string;
}

async function awsSourceClient(target: PipelineTarget, sourceId: string, source: SourceConfig | undefined, environment: CredentialsEnvironment): Promise<SourceClient> {
  const secretName = target.secretNames[sourceId] ?? secretNameOf(target.prefix, source ?? { id: sourceId, secretName: undefined });
  const secrets = new SecretsManagerClient(environment.region === undefined ? {} : { region: environment.region });
  let secretText: string;
  try {
    secretText = await secretsManagerFetch(secrets)(secretName);
  } catch (error) {
    throw new MissingCredentialsError(
      `Cannot read the credentials of source "${sourceId}" from secret ${secretName}: put them there (see the README, "Source secret") and make sure your AWS identity may call secretsmanager:GetSecretValue on it.`,
      { cause: error },
    );
  } finally {
    secrets.destroy();
  }
  let secretJson: unknown;
  try {
    secretJson = JSON.parse(secretText);
  } catch (error) {
    throw new MissingCredentialsError(`Secret ${secretName} is not JSON: store {"webhookUrl": "…"} or the OAuth fields (value not shown).`, { cause: error });
  }
  const auth = source?.auth ?? (typeof secretJson === 'object' && secretJson !== null && 'webhookUrl' in secretJson ? 'webhook' : 'oauth');
  const portal = source?.portal ?? '';
  try {
    const loaded = loadSourceCredentials({
      source: { id: sourceId, auth, portal: portal === '' ? hostFromSecret(secretJson) : portal },
      secretJson,
      secretName,
      tokenStoreFactory: dynamoDbTokenStoreFactory({ client: target.dynamoDb, tableName: target.stateTableName }),
    });
    return { client: createBitrix24Client({ credentials: loaded.credentials }), ...(loaded.botToken === undefined ? {} : { botToken: loaded.botToken }) };
  } catch (error) {
    if (error instanceof Bitrix24Error) throw new MissingCredentialsError(`${error.message}`, { cause: error });
    throw error;
  }
}

function hostFromSecret(secretJson: unknown): string {
  const record = typeof secretJson === 'object' && secretJson !== null ? (secretJson as Record<string, unknown>) : {};
  const url = typeof record.webhookUrl === 'string' ? record.webhookUrl : typeof record.clientEndpoint === 'string' ? record.clientEndpoint : undefined;
  if (url === undefined) return '';
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

async function localSourceClient(sourceId: string, source: SourceConfig | undefined, environment: CredentialsEnvironment): Promise<SourceClient> {
  const env = await loadEnvWithDotEnv(environment.env, resolve(environment.cwd, '.env'));
  let settings;
  try {
    settings = portalSettingsFromEnv(env, { tokenFile: resolve(environment.cwd, `.b24-pipeline/tokens-${sourceId}.json`), sourceId });
  } catch (error) {
    if (error instanceof LocalRuntimeError) {
      throw new MissingCredentialsError(`Source "${sourceId}" (local): ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (source !== undefined && settings.source.portal.toLowerCase() !== source.portal.toLowerCase()) {
    throw new MissingCredentialsError(
      `The credentials in the environment are for portal ${settings.source.portal}, but source "${sourceId}" reads portal ${source.portal}: set B24_WEBHOOK_URL (or the B24_OAUTH_* variables) for that portal.`,
    );
  }
  return { client: createBitrix24Client({ credentials: settings.credentials }), ...(settings.botToken === undefined ? {} : { botToken: settings.botToken }) };
}

export async function sourceClientFor(target: PipelineTarget, sourceId: string, environment: CredentialsEnvironment): Promise<SourceClient> {
  const source = target.sources.find((s) => s.id === sourceId);
  return target.kind === 'aws'
    ? await awsSourceClient(target, sourceId, source, environment)
    : await localSourceClient(sourceId, source, environment);
}
