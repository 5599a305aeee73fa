// Errors of the operator CLI. Each says what is wrong and the exact fix; none
// ever echoes a credential. `exitCode` is what the process exits with.

/** Base class of every operator CLI error. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, options?: ErrorOptions & { exitCode?: number }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** The command line is wrong: unknown command, missing or invalid option. Exit code 2. */
export class CliUsageError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, exitCode: 2 });
    this.name = 'CliUsageError';
  }
}

/** No pipeline to talk to: neither a local rig nor an AWS stack was given or found. */
export class MissingConfigurationError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MissingConfigurationError';
  }
}

/** The named source is not configured in the target pipeline. */
export class UnknownSourceError extends CliError {
  readonly sourceId: string;
  constructor(sourceId: string, known: readonly string[]) {
    super(
      `Unknown source "${sourceId}". ` +
        (known.length === 0 ? 'The pipeline has no sources configured.' : `Configured sources: ${known.join(', ')}. Pass one of them with --source.`),
    );
    this.name = 'UnknownSourceError';
    this.sourceId = sourceId;
  }
}

/** The named route (queue) does not exist in the target pipeline. */
export class UnknownRouteError extends CliError {
  constructor(route: string, known: readonly string[]) {
    super(`Unknown route "${route}". Routes with a dead-letter queue: ${known.join(', ')}. Pass one with --route, or --all.`);
    this.name = 'UnknownRouteError';
  }
}

/** The source's Bitrix24 credentials could not be found. */
export class MissingCredentialsError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MissingCredentialsError';
  }
}

/** A destructive command was not confirmed. */
export class ConfirmationRequiredError extends CliError {
  constructor(message: string) {
    super(message);
    this.name = 'ConfirmationRequiredError';
  }
}

/** The CloudFormation stack or one of its outputs is missing. */
export class StackLookupError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StackLookupError';
  }
}

/** The target's DynamoDB/SQS endpoint did not answer (e.g. the local rig is not running). */
export class TargetUnreachableError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TargetUnreachableError';
  }
}

/** The source's lease is held: changing its offset now would race the poller. */
export class SourceBusyError extends CliError {
  constructor(message: string) {
    super(message);
    this.name = 'SourceBusyError';
  }
}

/**
 * `bot register` found the bot already registered on the portal, but its
 * botToken is neither given (--bot-token) nor saved where the source reads it:
 * Bitrix24 returns the existing bot unchanged, so a new token would not work.
 */
export class BotTokenUnknownError extends CliError {
  readonly botId: number;
  constructor(code: string, botId: number, savedTo: string) {
    super(
      `Bot "${code}" is already registered (id ${botId}), but its botToken is not in ${savedTo} and --bot-token was not given. ` +
        'imbot.v2.Bot.register returns an existing bot unchanged, so a new token would not authorise it: re-run with --bot-token <the token it was registered with>, ' +
        'or rotate it with imbot.v2.Bot.update {fields: {botToken}} authorised by the old token, or unregister the bot and register it again.',
    );
    this.name = 'BotTokenUnknownError';
    this.botId = botId;
  }
}

/** A bot command cannot find the bot it acts on (no --bot-id, nothing saved, no bot with that code). */
export class BotNotConfiguredError extends CliError {
  constructor(message: string) {
    super(message);
    this.name = 'BotNotConfiguredError';
  }
}
