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

/**
 * ctx.reply/typing/read/react/edit cannot tell how to answer for the event's
 * source: it is not configured (SOURCES / the registry), or it is a bot source
 * without a `botId` and the event names no bot. Fix the source's configuration.
 */
export class VoiceSourceError extends BotFrameworkError {
  readonly sourceId: string;
  constructor(sourceId: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'VoiceSourceError';
    this.sourceId = sourceId;
  }
}

/**
 * An answer the source cannot give: a user source reacts only with "like"
 * (im.message.like), and an edit cannot be split (a text over 20,000 characters
 * would be cut by Bitrix24). Retrying cannot help.
 */
export class VoiceUnsupportedError extends BotFrameworkError {
  readonly action: 'react' | 'edit';
  constructor(action: 'react' | 'edit', message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'VoiceUnsupportedError';
    this.action = action;
  }
}
