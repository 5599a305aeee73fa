// Errors the portal simulator raises to its *caller* (test set-up, demo,
// benchmark). Errors it answers over HTTP are Bitrix24 error bodies, not these.

/** Base class of every error thrown by the portal simulator API. */
export class PortalSimulatorError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PortalSimulatorError';
  }
}

/** A test asked for a user, bot or app the simulator does not know. */
export class UnknownSimulatorEntityError extends PortalSimulatorError {
  readonly entity: 'user' | 'bot' | 'app';
  readonly id: string | number;
  constructor(entity: 'user' | 'bot' | 'app', id: string | number) {
    super(`The portal simulator has no ${entity} ${String(entity === 'app' ? '(client id not shown)' : id)}: create it first with ${entity === 'user' ? 'addUser()' : entity === 'bot' ? 'registerBot()' : 'registerApp()'}.`);
    this.name = 'UnknownSimulatorEntityError';
    this.entity = entity;
    this.id = entity === 'app' ? '(redacted)' : id;
  }
}

/** An option or argument given to the simulator is out of range. */
export class SimulatorOptionError extends PortalSimulatorError {
  constructor(message: string) {
    super(message);
    this.name = 'SimulatorOptionError';
  }
}

/** The HTTP server could not start (port in use, …) or stop. */
export class SimulatorServerError extends PortalSimulatorError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SimulatorServerError';
  }
}
