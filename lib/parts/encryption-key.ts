// Part: the customer-managed KMS key of tables, queues, bucket, secrets and
// the alarm topic, unless the user brings their own.
import { type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface PipelineEncryptionKeyProps {
  /** Resource name prefix of the pipeline (in the key's description). */
  readonly prefix: string;
  /** Your own key. Its policy must let cloudwatch.amazonaws.com use it (alarms publish to the encrypted topic). @default a new key with yearly rotation */
  readonly existingKey?: kms.IKey;
  /** What happens to a created key when it leaves the stack. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The pipeline's encryption key. Like every part, it creates its resources in
 * `scope` (the pipeline), not under itself: the parts were carved out of one
 * construct, and keeping each resource's construct path keeps its logical id,
 * so stacks deployed before the split update in place.
 */
export class PipelineEncryptionKey extends Construct {
  readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: PipelineEncryptionKeyProps) {
    super(scope, id);
    if (props.existingKey !== undefined) {
      this.key = props.existingKey;
      return;
    }
    const key = new kms.Key(scope, 'Key', {
      description: `b24-event-pipeline ${props.prefix}: tables (OAuth tokens), queues, claim-check bucket, secrets, alarm topic`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    // CloudWatch alarms publish to the KMS-encrypted alarm topic.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
      }),
    );
    this.key = key;
  }
}
