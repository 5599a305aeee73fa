// The Lambda default for ctx.bitrix24: a real Bitrix24 client per source, built
// on first use from the source's configuration (SOURCES) and its Secrets
// Manager secret; OAuth tokens are shared with the poller through the state
// table (conditional writes, so concurrent renewals never lose a token).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type Bitrix24Logger,
  DynamoDbTokenStore,
  type SecretReader,
  createBitrix24Client,
  createSecretReader,
  loadSourceCredentials,
} from '../bitrix24/index.js';
import { secretNameOf } from '../shared/config.js';
import type { ConsumerSource } from './consumer-env.js';
import { SourceClientError } from './errors.js';
import type { ClientFactory } from './source-clients.js';

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
}

export function bitrix24ClientFactory(input: Bitrix24FactoryInput): ClientFactory {
  const secrets = input.secrets ?? createSecretReader();
  return async (sourceId) => {
    const source = input.sources.find((candidate) => candidate.id === sourceId);
    if (source === undefined) {
      throw new SourceClientError(sourceId, `ctx.bitrix24: source "${sourceId}" is not in this consumer's SOURCES; add it to the pipeline configuration and redeploy.`);
    }
    const secretName = secretNameOf(input.prefix, source);
    const secretJson = await secrets.read(secretName);
    const { credentials } = loadSourceCredentials({
      source,
      secretJson,
      secretName,
      tokenStoreFactory: ({ sourceId: id, initial }) => {
        if (input.stateTableName === undefined) {
          throw new SourceClientError(id, `ctx.bitrix24: source "${id}" uses OAuth but STATE_TABLE_NAME is not set (rotated tokens live there).`);
        }
        return new DynamoDbTokenStore({ client: input.dynamoDb(), tableName: input.stateTableName, sourceId: id, initial });
      },
    });
    return createBitrix24Client({ credentials, ...(input.logger === undefined ? {} : { logger: input.logger }) });
  };
}
