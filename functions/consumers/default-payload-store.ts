// The claim-check store over a real S3 client. lambda-consumer.ts imports this
// module dynamically on the first claim check, so the S3 client is evaluated
// only then; importing just these names (not the SDK module's namespace) keeps
// the other S3 commands out of the bundle.
import { S3Client } from '@aws-sdk/client-s3';
import { s3ClientConfig } from '../shared/aws-client-config.js';
import type { PayloadStore } from './envelope-reader.js';
import { s3PayloadStore } from './s3-payload-store.js';

export function defaultPayloadStore(s3: S3Client | undefined): PayloadStore {
  return s3PayloadStore(s3 ?? new S3Client(s3ClientConfig()));
}
