// Errors raised while building the pipeline's infrastructure (at synth time).
// Messages say what is wrong and how to fix it; they never echo secret values.

/** Base class of every infrastructure (lib/) error. */
export class InfrastructureError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InfrastructureError';
  }
}

/** The pipeline configuration could not be found, read or validated. */
export class PipelineConfigurationError extends InfrastructureError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PipelineConfigurationError';
  }
}

/** Construct props contradict each other or the configuration. */
export class InvalidPipelinePropsError extends InfrastructureError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidPipelinePropsError';
  }
}
