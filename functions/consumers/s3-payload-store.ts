// The payload bucket adapter for claim checks (S3 in AWS, fauxqs locally).
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { PayloadStore } from './envelope-reader.js';

export function s3PayloadStore(s3: S3Client): PayloadStore {
  return {
    async getText(bucket, key) {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (object.Body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
      return await object.Body.transformToString('utf-8');
    },
  };
}
