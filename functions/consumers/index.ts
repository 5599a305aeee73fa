// Public surface of the consumer framework: typed events, the handler
// factory, the Lambda wiring and the ports tests and the local runtime inject.
export {
  createConsumerHandler,
  type ConsumerContext,
  type ConsumerHandler,
  type ConsumerHandlerOptions,
  type ConsumerHandlers,
  type EventHandler,
} from './consumer-handler.js';
export { createConsumerHandlerFromEnv, lambdaConsumer, type LambdaConsumerOptions } from './lambda-consumer.js';
export { readConsumerEnvironment, type ConsumerEnvironment, type ConsumerSource } from './consumer-env.js';
export { bitrix24ClientFactory, type Bitrix24FactoryInput } from './bitrix24-from-env.js';
export * from './events.js';
export * from './errors.js';
export { parseEnvelope, readEnvelope, type PayloadStore } from './envelope-reader.js';
export { s3PayloadStore } from './s3-payload-store.js';
export { createDynamoDbRunOnce, runAlways, MIN_RECORD_TTL_SECONDS, type IdempotencyOptions, type RunOnce } from './idempotency.js';
export {
  noMetrics,
  powertoolsConsumerLogger,
  powertoolsConsumerMetrics,
  type ConsumerLogger,
  type ConsumerMetricName,
  type ConsumerMetrics,
  type LogAttributes,
} from './observability.js';
export { SourceClients, type Bitrix24Caller, type CallOptions, type ClientFactory } from './source-clients.js';
export { summarizeEvent, type EventSummary } from './summary.js';
