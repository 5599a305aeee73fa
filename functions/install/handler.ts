// The install endpoint's Lambda (function URL, auth NONE: Bitrix24 calls it
// with no AWS credentials; the application_token check and, on a first
// install, the token check at the OAuth server are the authentication — see
// install-flow.ts). Thin: decode the request, build the dependencies once per
// container, run the flow, answer JSON. Never logs a request body or a token.
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createBitrix24Client } from '../bitrix24/client.js';
import { type Bitrix24Logger } from '../bitrix24/logger.js';
import { createSecretReader, type SecretReader } from '../bitrix24/secret-reader.js';
import { DynamoDbSourceRegistry } from '../registry/dynamodb-source-registry.js';
import { type SourceRegistry } from '../registry/source-registry.js';
import { appInstallCredentials, parseAppSecret } from './app-credentials.js';
import { parseAppEventRequest } from './app-event-request.js';
import { readInstallEnvironment, type InstallEnvironment } from './environment.js';
import { InstallError } from './errors.js';
import { InstallFlow } from './install-flow.js';
import { bitrix24InstallPortal, oauthServerVerifier } from './install-portal.js';
import { DynamoDbInstallStore, type InstallStore } from './install-store.js';

export interface InstallHandlerOptions {
  /** @default process.env, read on the first invocation */
  readonly env?: () => Readonly<Record<string, string | undefined>>;
  readonly dynamoDb?: DynamoDBClient;
  /** @default Secrets Manager with a 5-minute cache */
  readonly secrets?: SecretReader;
  /** @default DynamoDbInstallStore on the state table */
  readonly store?: InstallStore;
  /** @default DynamoDbSourceRegistry on the registry table */
  readonly registry?: SourceRegistry;
  readonly logger?: Bitrix24Logger;
  readonly now?: () => number;
}

interface Container {
  readonly env: InstallEnvironment;
  readonly store: InstallStore;
  readonly registry: SourceRegistry;
  readonly secrets: SecretReader;
  readonly logger: Bitrix24Logger;
}

/**
 * The URL Bitrix24 called, from the function URL's own request context (AWS sets `domainName`; a request
 * cannot choose it): bound as the ONAPPUNINSTALL handler. Function URLs always say https in
 * x-forwarded-proto; only the local test server says http.
 */
function handlerUrlOf(event: Pick<LambdaFunctionURLEvent, 'headers' | 'requestContext'> & Partial<Pick<LambdaFunctionURLEvent, 'rawPath'>>): string | undefined {
  const domain = event.requestContext.domainName;
  if (domain === undefined || domain === '') return undefined;
  const scheme = event.headers['x-forwarded-proto'] === 'http' ? 'http' : 'https';
  return `${scheme}://${domain}${event.rawPath ?? '/'}`;
}

function answer(statusCode: number, body: Record<string, unknown>): LambdaFunctionURLResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

export function createInstallHandler(
  options: InstallHandlerOptions = {},
): (event: Pick<LambdaFunctionURLEvent, 'body' | 'isBase64Encoded' | 'headers' | 'requestContext'> & Partial<Pick<LambdaFunctionURLEvent, 'rawPath'>>) => Promise<LambdaFunctionURLResult> {
  let container: Container | undefined;
  const build = (): Container => {
    const env = readInstallEnvironment(options.env?.() ?? process.env);
    const dynamoDb = options.dynamoDb ?? new DynamoDBClient({});
    return {
      env,
      store: options.store ?? new DynamoDbInstallStore({ client: dynamoDb, tableName: env.stateTableName, ...(options.now === undefined ? {} : { now: options.now }) }),
      registry: options.registry ?? new DynamoDbSourceRegistry({ client: dynamoDb, tableName: env.registryTableName, ...(options.now === undefined ? {} : { now: options.now }) }),
      secrets: options.secrets ?? createSecretReader(),
      logger: options.logger ?? new Logger({ serviceName: 'b24-install' }),
    };
  };
  return async (event) => {
    let c: Container | undefined;
    try {
      c = container ??= build();
      if (event.requestContext.http.method !== 'POST') return answer(405, { status: 'error', error: 'method_not_allowed' });
      const body = event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
      const request = parseAppEventRequest(body, event.headers['content-type']);
      const app = parseAppSecret(await c.secrets.read(c.env.appSecretName), `app secret ${c.env.appSecretName}`);
      const handlerUrl = handlerUrlOf(event);
      const verifier = oauthServerVerifier({ app, ...(options.now === undefined ? {} : { now: options.now }) });
      const { store, logger } = c;
      const flow = new InstallFlow({
        settings: c.env.settings,
        store,
        registry: c.registry,
        verifier,
        openPortal: (record) =>
          bitrix24InstallPortal(
            createBitrix24Client({ credentials: appInstallCredentials(record, app, store.tokenStore(record.memberId)), logger, ...(options.now === undefined ? {} : { now: options.now }) }),
          ),
        logger,
        ...(handlerUrl === undefined ? {} : { handlerUrl }),
        ...(options.now === undefined ? {} : { now: options.now }),
      });
      try {
        const outcome = await flow.handle(request);
        return answer(200, { status: 'ok', result: outcome });
      } finally {
        await verifier.close();
      }
    } catch (error) {
      const logger = c?.logger ?? options.logger;
      if (error instanceof InstallError) {
        // Messages name fields and member ids only (errors.ts); a 5xx is worth an error line, a refusal a warning.
        const line = { code: error.code, httpStatus: error.httpStatus, errorName: error.name, message: error.message };
        if (error.httpStatus >= 500) logger?.error('install: request failed', line);
        else logger?.warn('install: request refused', line);
        return answer(error.httpStatus, { status: 'error', error: error.code });
      }
      logger?.error('install: unexpected failure', { errorName: error instanceof Error ? error.name : typeof error });
      return answer(500, { status: 'error', error: 'internal_error' });
    }
  };
}

export { INSTALL_ENV } from './environment.js';
export const handler = createInstallHandler();
