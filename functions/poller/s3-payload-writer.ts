// PayloadWriter over an SDK S3Client: for local runs, the bench and tests,
// which have a client for the emulator anyway. The Lambda does not load this
// module (the whole S3 client is ~140 KB of bundle): its default is
// signed-put-payload-writer.ts.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { PayloadObject, PayloadWriter } from './payload-writer.js';

export function s3PayloadWriter(s3: S3Client): PayloadWriter {
  return {
    async putJson(object: PayloadObject): Promise<void> {
      await s3.send(new PutObjectCommand({ Bucket: object.bucket, Key: object.key, Body: object.body, ContentType: 'application/json' }));
    },
  };
}
