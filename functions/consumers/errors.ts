/** Base class of every error raised by the consumer framework. */
export class ConsumerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConsumerError';
  }
}

/** Why a queue message can never be processed as it is. */
export type PoisonReason =
  | 'invalid-json'
  | 'invalid-envelope'
  | 'unknown-schema-version'
  | 'invalid-claim-check'
  | 'invalid-event';

/**
 * A queue message that no retry can fix (bad JSON, wrong envelope, unknown
 * schema version, an event whose data does not match its type). It is reported
 * as a batch item failure so the queue's redrive policy moves it to the route's
 * DLQ after maxReceiveCount; inspect it there, fix the producer or the schema,
 * then redrive it.
 */
export class PoisonMessageError extends ConsumerError {
  readonly reason: PoisonReason;
  /** Where the data went wrong, e.g. `event.data.message.id: expected number`. */
  readonly detail: string;
  constructor(reason: PoisonReason, detail: string, options?: ErrorOptions) {
    super(`Poison message (${reason}): ${detail}. It will move to the route's DLQ after maxReceiveCount deliveries; fix the producer or the schema, then redrive it.`, options);
    this.name = 'PoisonMessageError';
    this.reason = reason;
    this.detail = detail;
  }
}

/** The claim-check object could not be read from the payload bucket (transient: retried like any failure). */
export class ClaimCheckReadError extends ConsumerError {
  readonly bucket: string;
  readonly key: string;
  constructor(bucket: string, key: string, options?: ErrorOptions) {
    super(`Could not read the claim-check object s3://${bucket}/${key}; check the consumer's s3:GetObject permission and that the object exists (it is retried, then dead-lettered).`, options);
    this.name = 'ClaimCheckReadError';
    this.bucket = bucket;
    this.key = key;
  }
}

/** The consumer's configuration (options or environment) is missing or invalid; the message names the setting. */
export class ConsumerConfigError extends ConsumerError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConsumerConfigError';
  }
}

/** `ctx.bitrix24` was used for a source the consumer has no configuration or credentials for. */
export class SourceClientError extends ConsumerError {
  readonly sourceId: string;
  constructor(sourceId: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SourceClientError';
    this.sourceId = sourceId;
  }
}

/** The invocation has no time left to start an event; the record is retried by the next invocation. */
export class InvocationOutOfTimeError extends ConsumerError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvocationOutOfTimeError';
  }
}

/** A re-run of a handler made a different write at the same position than the earlier run (the handler is not deterministic). */
export class OutboxConflictError extends ConsumerError {
  readonly key: string;
  constructor(key: string, recordedMethod: string, method: string) {
    super(
      `outbox ${key}: an earlier run of this event made ${recordedMethod} as this write, this run makes ${method}; nothing was sent. Make the handler's writes depend only on the event (same methods in the same order), or delete the item if the change is intended.`,
    );
    this.name = 'OutboxConflictError';
    this.key = key;
  }
}
