/** Base class of every error raised by the local runtime (emulators, demo, dev mode). */
export class LocalRuntimeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalRuntimeError';
  }
}

/** An emulator (DynamoDB Local or fauxqs) could not be started or reached. */
export class LocalRigError extends LocalRuntimeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalRigError';
  }
}

/** The demo or dev mode was started with an option it cannot use; the message names the option and the fix. */
export class LocalUsageError extends LocalRuntimeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalUsageError';
  }
}

/** Dev mode found no usable portal credentials in the environment or `.env`. */
export class MissingPortalCredentialsError extends LocalRuntimeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MissingPortalCredentialsError';
  }
}

/** The `--handlers` module could not be loaded or exports no usable handlers. */
export class HandlersModuleError extends LocalRuntimeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HandlersModuleError';
  }
}

/** A poller run or a consumer failed in a way the local runtime cannot recover from. */
export class RuntimeFailureError extends LocalRuntimeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RuntimeFailureError';
  }
}
