// Lambda entry of the registry seed custom resource (registry-seed.ts): thin.
// It answers CloudFormation itself (a PUT of the result to the pre-signed
// ResponseURL), so no provider framework function is needed.
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, ResourceExistsException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ENV } from '../shared/observability.js';
import { DynamoDbSourceRegistry } from './dynamodb-source-registry.js';
import { RegistryStoreError } from './errors.js';
import { type PlaceholderSecrets, parseSeedProperties, seedRegistry } from './registry-seed.js';

export interface CustomResourceEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: Record<string, unknown>;
}

export interface SeedHandlerDependencies {
  readonly registryTableName: string;
  readonly encryptionKeyId: string | undefined;
  readonly dynamoDb: DynamoDBClient;
  readonly secretsManager: SecretsManagerClient;
  /** Sends the response body to the ResponseURL. @default fetch PUT */
  readonly respond: (url: string, body: string) => Promise<void>;
  readonly log: (line: Record<string, unknown>) => void;
}

/** The response CloudFormation expects; `reason` never carries a secret (the registry holds none). */
export function customResourceResponse(event: CustomResourceEvent, outcome: { ok: true; data?: Record<string, string> } | { ok: false; reason: string }): string {
  return JSON.stringify({
    Status: outcome.ok ? 'SUCCESS' : 'FAILED',
    Reason: outcome.ok ? 'seeded' : outcome.reason.slice(0, 1000),
    PhysicalResourceId: event.PhysicalResourceId ?? `${event.LogicalResourceId}-registry-seed`,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    ...(outcome.ok && outcome.data !== undefined ? { Data: outcome.data } : {}),
  });
}

function secretsManagerPlaceholders(client: SecretsManagerClient, kmsKeyId: string | undefined): PlaceholderSecrets {
  return {
    async createIfMissing(secretName, description) {
      try {
        await client.send(
          new CreateSecretCommand({
            Name: secretName,
            Description: description,
            ...(kmsKeyId === undefined ? {} : { KmsKeyId: kmsKeyId }),
            SecretString: JSON.stringify({ placeholder: true, replaceMe: randomBytes(12).toString('hex') }),
          }),
        );
        return 'created';
      } catch (error) {
        if (error instanceof ResourceExistsException) return 'exists';
        throw new RegistryStoreError(`Registry seed: creating secret "${secretName}" failed (${error instanceof Error ? error.name : 'error'}).`, undefined, { cause: error });
      }
    },
  };
}

export async function handleSeedEvent(event: CustomResourceEvent, deps: SeedHandlerDependencies): Promise<void> {
  let body: string;
  try {
    if (event.RequestType === 'Delete') {
      body = customResourceResponse(event, { ok: true });
    } else {
      const { prefix, secrets, sources } = parseSeedProperties(event.ResourceProperties);
      const outcome = await seedRegistry({
        registry: new DynamoDbSourceRegistry({ client: deps.dynamoDb, tableName: deps.registryTableName }),
        prefix,
        sources,
        ...(secrets === 'create' ? { secrets: secretsManagerPlaceholders(deps.secretsManager, deps.encryptionKeyId) } : {}),
      });
      deps.log({ message: 'registry seeded', seeded: outcome.seeded, removed: outcome.removed, secretsCreated: outcome.secretsCreated });
      body = customResourceResponse(event, { ok: true, data: { Seeded: String(outcome.seeded) } });
    }
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
    deps.log({ message: 'registry seed failed', reason });
    body = customResourceResponse(event, { ok: false, reason });
  }
  await deps.respond(event.ResponseURL, body);
}

async function putResponse(url: string, body: string): Promise<void> {
  const response = await fetch(url, { method: 'PUT', body, headers: { 'content-type': '' } });
  if (!response.ok) throw new Error(`CloudFormation response PUT answered ${response.status}`);
}

let dependencies: SeedHandlerDependencies | undefined;

export const handler = async (event: CustomResourceEvent): Promise<void> => {
  dependencies ??= {
    registryTableName: process.env[ENV.registryTableName] ?? '',
    encryptionKeyId: process.env.ENCRYPTION_KEY_ID,
    dynamoDb: new DynamoDBClient({}),
    secretsManager: new SecretsManagerClient({}),
    respond: putResponse,
    log: (line) => {
      console.info(JSON.stringify(line));
    },
  };
  await handleSeedEvent(event, dependencies);
};
