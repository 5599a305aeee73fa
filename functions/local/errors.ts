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

/** Another dev run holds this workspace (`.b24-pipeline/dev/lock`): two runs would share one database and one set of queues. */
export class DevWorkspaceLockedError extends LocalRuntimeError {
  readonly lockPath: string;
  readonly holderPid?: number;

  constructor(lockPath: string, holder: { readonly pid: number; readonly host: string; readonly startedAt: string } | undefined) {
    super(
      holder === undefined
        ? `Cannot take the dev workspace lock ${lockPath}: another run keeps recreating it. Stop the other \`npm run dev\` in this directory, or run from another directory.`
        : `Another dev run (pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}) is using this workspace (${lockPath}). ` +
            `Stop it first (Ctrl-C in its terminal, or kill -TERM ${holder.pid}), or start this one from another directory. ` +
            'If that process is gone (e.g. the machine restarted), delete the lock file.',
    );
    this.name = 'DevWorkspaceLockedError';
    this.lockPath = lockPath;
    if (holder !== undefined) this.holderPid = holder.pid;
  }
}

/**
 * The portal refused dev mode in a way retrying cannot fix (wrong webhook
 * code or OAuth credentials, missing scope, portal gone, bot set-up): dev
 * mode stops and the message names the fix.
 */
export class PortalFatalError extends LocalRuntimeError {
  /** Bitrix24 (or client) error code, e.g. `NO_AUTH_FOUND`. */
  readonly code: string;

  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PortalFatalError';
    this.code = code;
  }
}

/** Dev mode's completion journal (`.b24-pipeline/dev/data/completions.jsonl`) cannot be read or written; the message names the file. */
export class CompletionJournalError extends LocalRuntimeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CompletionJournalError';
  }
}
