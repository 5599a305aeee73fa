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
