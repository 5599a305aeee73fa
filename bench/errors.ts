/** Base class of every error raised by the benchmark and soak harness. */
export class BenchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BenchError';
  }
}

/** A piece the benchmark measures (poller, consumer, simulator) is missing or exports something else. */
export class BenchDependencyError extends BenchError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BenchDependencyError';
  }
}

/** A scenario did not finish within its time budget; the message names what was still pending. */
export class BenchTimeoutError extends BenchError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BenchTimeoutError';
  }
}

/** The soak found a violated guarantee (lost event, duplicate handler call, order broken). */
export class SoakViolationError extends BenchError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SoakViolationError';
  }
}
