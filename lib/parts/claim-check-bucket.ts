// Part: the claim-check bucket. Events too large for an SQS message are
// written here by the poller; the message carries the object's key.
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { QUEUE_SETTINGS } from '../../functions/shared/topology.js';
import { acknowledge } from './pipeline-function.js';

export interface ClaimCheckBucketProps {
  /** Server-side encryption key (with an S3 Bucket Key). */
  readonly encryptionKey: kms.IKey;
  /** What happens to the bucket when it leaves the stack. */
  readonly removalPolicy: RemovalPolicy;
}

/** KMS, public access blocked, TLS only, objects expire. Resources are created in `scope` (see PipelineEncryptionKey). */
export class ClaimCheckBucket extends Construct {
  /**
   * Days an object is kept: a FIFO message can live 14 days in its queue and,
   * its enqueue time reset on redrive, 14 more in the DLQ: one day beyond both.
   */
  static readonly RETENTION_DAYS = 2 * Math.ceil(QUEUE_SETTINGS.retentionSeconds / 86_400) + 1;

  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ClaimCheckBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(scope, 'PayloadBucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      lifecycleRules: [{ id: 'expire-claim-checks', expiration: Duration.days(ClaimCheckBucket.RETENTION_DAYS), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: props.removalPolicy,
    });
    acknowledge(this.bucket, {
      id: 'AwsSolutions-S1',
      reason: `Transient claim-check payloads (expire after ${ClaimCheckBucket.RETENTION_DAYS} days), written only by the poller and read only by the consumers through least-privilege roles; server access logs cannot target a KMS-encrypted bucket and would add a log bucket with no consumer. Enable CloudTrail S3 data events if object-level auditing is required.`,
    });
  }
}
