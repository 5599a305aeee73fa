// The source registry (issue 13, docs/registry.md): the port, its adapters and errors.
export type { PutSourceOptions, RegisteredSource, SourceCredentialsRef, SourceOrigin, SourceRegistry } from './source-registry.js';
export { DynamoDbSourceRegistry, type DynamoDbSourceRegistryOptions } from './dynamodb-source-registry.js';
export { InMemorySourceRegistry, type InMemorySourceRegistryOptions } from './in-memory-source-registry.js';
export { REGISTRY_TABLE, registryTableName } from './registry-table.js';
export { validateRegistration } from './registered-source.js';
export * from './errors.js';
