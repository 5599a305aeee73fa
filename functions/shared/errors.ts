/** Base class of errors raised by the shared pipeline definitions. */
export class PipelineDefinitionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PipelineDefinitionError';
  }
}

/** The pipeline or a source configuration is invalid; the message names each bad field and the fix. */
export class ConfigError extends PipelineDefinitionError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}
