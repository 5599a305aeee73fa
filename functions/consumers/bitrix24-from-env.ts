// The Lambda default for ctx.bitrix24: a Bitrix24 client per source, built
// from the source's configuration (SOURCES) and its Secrets Manager secret,
// that follows the secret (SecretFollowingClient): a changed secret is picked
// up within the reader's cache age, and a call refused for its credentials
// re-reads the secret and retries once. OAuth tokens are shared with the
// poller through the state table, with the same seed rules.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type Bitrix24Logger,
  type Bitrix24Client,
  type Bitrix24Credentials,
  type SecretReader,
  SecretFollowingClient,
  createBitrix24Client,
  createSecretReader,
  dynamoDbTokenStoreFactory,
} from '../bitrix24/index.js';
import { secretNameOf } from '../shared/config.js';
import { paramsAsBot, withoutAsBot } from './bot-token.js';
import type { ConsumerSource } from './consumer-env.js';
import { SourceClientError } from './errors.js';
import type { Bitrix24Caller, ClientFactory } from './source-clients.js';

export interface Bitrix24FactoryInput {
  readonly sources: readonly ConsumerSource[];
  /** Pipeline prefix for default secret names. */
  readonly prefix: string;
  /** State table holding rotated OAuth tokens (required for OAuth sources). */
  readonly stateTableName: string | undefined;
  readonly dynamoDb: () => DynamoDBClient;
  /** @default a Secrets Manager reader with a 5-minute cache */
  readonly secrets?: SecretReader;
  /** Receives the client's redacted lines. */
  readonly logger?: Bitrix24Logger;
  /** Builds each client from its credentials (tests inject clocks). @default createBitrix24Client({ credentials, logger }) */
  readonly createClient?: (credentials: Bitrix24Credentials) => Bitrix24Client;
}

export function bitrix24ClientFactory(input: Bitrix24FactoryInput): ClientFactory {
  const secrets = input.secrets ?? createSecretReader();
  const createClient =
    input.createClient ?? ((credentials: Bitrix24Credentials) => createBitrix24Client({ credentials, ...(input.logger === undefined ? {} : { logger: input.logger }) }));
  return (sourceId): Bitrix24Caller => {
    const source = input.sources.find((candidate) => candidate.id === sourceId);
    if (source === undefined) {
      throw new SourceClientError(sourceId, `ctx.bitrix24: source "${sourceId}" is not in this consumer's SOURCES; add it to the pipeline configuration and redeploy.`);
    }
    const stateTableName = input.stateTableName;
    const client = new SecretFollowingClient({
      source,
      secretName: secretNameOf(input.prefix, source),
      secrets,
      tokenStoreFactory: (store) => {
        if (stateTableName === undefined) {
          throw new SourceClientError(store.sourceId, `ctx.bitrix24: source "${store.sourceId}" uses OAuth but STATE_TABLE_NAME is not set (rotated tokens live there).`);
        }
        return dynamoDbTokenStoreFactory({ client: input.dynamoDb(), tableName: stateTableName })(store);
      },
      createClient,
      ...(input.logger === undefined ? {} : { logger: input.logger }),
    });
    return {
      portal: source.portal,
      call: (method, params, options) =>
        options?.asBot === true
          ? // The token is read from the build the call uses, so a repeat after a rotated token carries the new one.
            client.call(method, (built) => paramsAsBot(source.id, source.auth, built.botToken, params), withoutAsBot(options))
          : client.call(method, params, withoutAsBot(options)),
    };
  };
}
