/** Base class of every error raised by the bot framework (`functions/bot/`). */
export class BotFrameworkError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BotFrameworkError';
  }
}

/** The router or the replies were configured in a way that cannot work (found at start-up, not per event). */
export class BotConfigError extends BotFrameworkError {
  /** The option at fault, e.g. `commands./help me`. */
  readonly option: string;
  constructor(option: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BotConfigError';
    this.option = option;
  }
}

/**
 * A reply was asked for an event that says nowhere to answer (no `chat.dialogId`
 * or `dialogId`, a command without its message id, an edit of an unknown message).
 * Retrying cannot help: the handler asked for something the event cannot give.
 */
export class ReplyTargetError extends BotFrameworkError {
  readonly eventType: string;
  readonly eventId: number;
  constructor(eventType: string, eventId: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ReplyTargetError';
    this.eventType = eventType;
    this.eventId = eventId;
  }
}

/** The seen-messages store could not be read or written (transient: the event is retried). */
export class SeenMessagesStoreError extends BotFrameworkError {
  readonly operation: 'remember' | 'has';
  constructor(operation: 'remember' | 'has', message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SeenMessagesStoreError';
    this.operation = operation;
  }
}
