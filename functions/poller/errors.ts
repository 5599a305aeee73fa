// Every way a poll run can fail on the poller's side (lease, offset, page
// checks, publishing). Bitrix24 call failures keep their own typed errors
// (functions/bitrix24/errors.ts); the loop reports their `code`. Messages name
// the source and offsets, never credentials.

/** Base class of the poller's errors. `code` is what reports and metrics show. */
export class PollerError extends Error {
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PollerError';
    this.code = code;
  }
}

/** Another live poller holds the source's lease. Nothing was fetched; the next scheduled run tries again. */
export class LeaseBusyError extends PollerError {
  readonly sourceId: string;
  readonly holder?: string;
  readonly expiresAt?: number;
  constructor(fields: { sourceId: string; holder?: string; expiresAt?: number }, options?: ErrorOptions) {
    const until = fields.expiresAt === undefined ? '' : ` until ${new Date(fields.expiresAt).toISOString()}`;
    super(
      `Source "${fields.sourceId}" is being polled by another run (lease held by ${fields.holder ?? 'another owner'}${until}). This run exits without polling; nothing to do unless it persists past the lease expiry.`,
      'LEASE_BUSY',
      options,
    );
    this.name = 'LeaseBusyError';
    this.sourceId = fields.sourceId;
    if (fields.holder !== undefined) this.holder = fields.holder;
    if (fields.expiresAt !== undefined) this.expiresAt = fields.expiresAt;
  }
}

/** The lease was taken over (it expired, another run fenced us out). This run must stop without committing. */
export class LeaseLostError extends PollerError {
  readonly sourceId: string;
  readonly fencingToken: number;
  readonly currentToken?: number;
  constructor(fields: { sourceId: string; owner: string; fencingToken: number; currentToken?: number; currentOwner?: string }, options?: ErrorOptions) {
    super(
      `Source "${fields.sourceId}": run ${fields.owner} lost its lease (fencing token ${fields.fencingToken}, now ${fields.currentToken === undefined ? 'released' : `${fields.currentToken} held by ${fields.currentOwner ?? 'another owner'}`}). It stopped without committing; the events it published will be fetched again (duplicates, never losses). If this repeats, raise the lease duration above the longest fetch.`,
      'LEASE_LOST',
      options,
    );
    this.name = 'LeaseLostError';
    this.sourceId = fields.sourceId;
    this.fencingToken = fields.fencingToken;
    if (fields.currentToken !== undefined) this.currentToken = fields.currentToken;
  }
}

/** A commit would move the committed offset backwards. Refused: the offset only moves forward. */
export class OffsetRegressionError extends PollerError {
  readonly sourceId: string;
  readonly committedOffset: number;
  readonly attemptedOffset: number;
  constructor(fields: { sourceId: string; committedOffset: number; attemptedOffset: number }, options?: ErrorOptions) {
    super(
      `Source "${fields.sourceId}": refusing to move the committed offset back from ${fields.committedOffset} to ${fields.attemptedOffset}. The offset only moves forward; the stored offset is untouched.`,
      'OFFSET_REGRESSION',
      options,
    );
    this.name = 'OffsetRegressionError';
    this.sourceId = fields.sourceId;
    this.committedOffset = fields.committedOffset;
    this.attemptedOffset = fields.attemptedOffset;
  }
}

/**
 * The stored offset is no longer the one this run fetched from: an operator
 * moved it (reset-offset) while the run was fetching or publishing. The run
 * stops without committing, so the operator's offset stands.
 */
export class OffsetMovedError extends PollerError {
  readonly sourceId: string;
  readonly fromOffset?: number;
  readonly storedOffset?: number;
  constructor(fields: { sourceId: string; fromOffset?: number; storedOffset?: number; attemptedOffset: number }, options?: ErrorOptions) {
    super(
      `Source "${fields.sourceId}": the committed offset moved under this run (fetched from ${fields.fromOffset ?? '(none)'}, now ${fields.storedOffset ?? '(none)'}), most likely by reset-offset. ` +
        `Refused to commit ${fields.attemptedOffset} over it; the next run reads from the stored offset. The events this run published may arrive again (duplicates, never losses).`,
      'OFFSET_MOVED',
      options,
    );
    this.name = 'OffsetMovedError';
    this.sourceId = fields.sourceId;
    if (fields.fromOffset !== undefined) this.fromOffset = fields.fromOffset;
    if (fields.storedOffset !== undefined) this.storedOffset = fields.storedOffset;
  }
}

/** Invalid events of a page could not be stored in quarantine. The page is not committed (nothing is lost); it is fetched again. */
export class QuarantineError extends PollerError {
  readonly sourceId: string;
  constructor(message: string, sourceId: string, options?: ErrorOptions) {
    super(
      `${message} The page was not committed; it is fetched again on the next poll. Check the state table and the payload bucket exist and the role may dynamodb:PutItem / s3:PutObject.`,
      'QUARANTINE_FAILED',
      options,
    );
    this.name = 'QuarantineError';
    this.sourceId = sourceId;
  }
}

/** Some events of a page could not be put into SQS (after retries). The page is not committed. */
export class PublishError extends PollerError {
  readonly failedEventIds: readonly number[];
  constructor(message: string, failedEventIds: readonly number[], options?: ErrorOptions) {
    super(
      `${message} The page was not committed, so its events are fetched and published again on the next run (duplicates are dropped by the FIFO deduplication id). Check the queues exist and the role may sqs:SendMessage / s3:PutObject.`,
      'PUBLISH_FAILED',
      options,
    );
    this.name = 'PublishError';
    this.failedEventIds = failedEventIds;
  }
}

/** An event's type routes to a queue that is not configured. */
export class MissingQueueError extends PollerError {
  constructor(route: string, options?: ErrorOptions) {
    super(
      `No queue URL for route "${route}". Add it to QUEUE_URLS (route key → queue URL), including the catch-all "unknown".`,
      'MISSING_QUEUE',
      options,
    );
    this.name = 'MissingQueueError';
  }
}

/** Reading or writing the source's state item failed for a reason other than a lost condition (DynamoDB unreachable, bad item). */
export class StateStoreError extends PollerError {
  constructor(message: string, options?: ErrorOptions) {
    super(`${message} Check the state table exists and the role may read/write it.`, 'STATE_STORE_FAILED', options);
    this.name = 'StateStoreError';
  }
}

/** The Lambda environment or input is incomplete or invalid. */
export class PollerConfigError extends PollerError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'POLLER_CONFIG', options);
    this.name = 'PollerConfigError';
  }
}

/** Writing an object to the payload bucket (claim check, quarantined raw event) failed after its retries. */
export class PayloadWriteError extends PollerError {
  readonly bucket: string;
  readonly httpStatus?: number;
  /** S3's error code (`NoSuchBucket`, `AccessDenied`…), or the network error's code. */
  readonly s3Code?: string;
  constructor(fields: { bucket: string; key: string; attempts: number; httpStatus?: number; s3Code?: string }, options?: ErrorOptions) {
    const what = fields.httpStatus === undefined ? (fields.s3Code ?? 'a network error') : `HTTP ${fields.httpStatus}${fields.s3Code === undefined ? '' : ` ${fields.s3Code}`}`;
    super(
      `PutObject of ${fields.key} to bucket ${fields.bucket} failed after ${fields.attempts} attempt(s): ${what}. Check the bucket exists, the role may s3:PutObject on it and kms:GenerateDataKey on its key.`,
      'PAYLOAD_WRITE_FAILED',
      options,
    );
    this.name = 'PayloadWriteError';
    this.bucket = fields.bucket;
    if (fields.httpStatus !== undefined) this.httpStatus = fields.httpStatus;
    if (fields.s3Code !== undefined) this.s3Code = fields.s3Code;
  }
}
