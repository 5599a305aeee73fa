// Public surface of the Bitrix24 REST client module.
export {
  createBitrix24Client,
  DEFAULT_OAUTH_TOKEN_URL,
  type Bitrix24Client,
  type Bitrix24ClientOptions,
  type Bitrix24Credentials,
  type BotEventQuery,
  type CallOptions,
  type EventQuery,
  type RequestGate,
  type RequestGateAdmission,
  type RequestGateRequest,
} from './client.js';
export * from './errors.js';
export { type Bitrix24Logger, silentLogger } from './logger.js';
export { REDACTED, SecretRedactor, redactPatterns, redactUrl } from './redact.js';
export { DEFAULT_RETRY_OPTIONS, isAmbiguousWriteFailure, isWriteSafeToRetry, methodKind, type MethodKind, type RetryOptions } from './retry-policy.js';
export { DEFAULT_TRANSPORT_OPTIONS, type TransportOptions, type TransportStats } from './transport.js';
export { InMemoryTokenStore, seedReplacesChain, seedVersionOf, type SeedLineage, type StoredTokens, type TokenStore } from './token-store.js';
export { DynamoDbTokenStore, dynamoDbTokenStoreFactory, tokenItemKey, type DynamoDbTokenStoreOptions } from './dynamodb-token-store.js';
export { parseSourceSecret, type OAuthSourceSecret, type SourceSecret, type WebhookSourceSecret } from './source-secret.js';
export { loadSourceCredentials, type LoadSourceCredentialsInput, type SourceCredentials } from './credentials-from-secret.js';
export { createSecretReader, secretsManagerFetch, type FetchSecret, type SecretReader, type SecretReaderOptions } from './secret-reader.js';
export { isLoopbackHost } from './endpoint.js';
export {
  SecretFollowingClient,
  isCredentialFailure,
  type SecretBuiltClient,
  type SecretFollowingClientOptions,
} from './secret-following-client.js';
