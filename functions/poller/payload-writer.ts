// The poller's one use of S3: writing a JSON object to the payload bucket — a
// claim check (an event too large for SQS) or a quarantined raw event. Writes
// are idempotent (same key, same body), so a retry or a repeated page is safe.
// Adapters: signed-put-payload-writer.ts (the Lambda's default, no S3 client
// in the bundle) and s3-payload-writer.ts (an S3Client, for local runs and tests).

export interface PayloadObject {
  readonly bucket: string;
  readonly key: string;
  /** JSON text. */
  readonly body: string;
}

export interface PayloadWriter {
  /** Stores `body` under `key`; rejects with PayloadWriteError (or the adapter's own error) when it could not. */
  putJson(object: PayloadObject): Promise<void>;
}
