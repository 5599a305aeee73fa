// `b24-event-pipeline`: the CDK side — the construct `B24EventPipeline`, the
// ready stack and app (`createPipelineApp`), and the configuration types.
// The other entry points: `b24-event-pipeline/consumer` (lambdaConsumer),
// `/client` (the Bitrix24 REST client), `/testing` (simulator + local rig);
// docs/package.md.
export * from './b24-event-pipeline.js';
export * from './b24-event-pipeline-stack.js';
export * from './deployed-routes.js';
export * from './errors.js';
export * from './pipeline-config-source.js';
export * from './app.js';
export {
  parsePipelineConfig,
  secretNameOf,
  type PipelineConfig,
  type PipelineConfigInput,
  type SourceConfig,
  type SourceConfigInput,
} from '../functions/shared/config.js';
export type { KnownEventType } from '../functions/shared/event-types.js';
