// The ready-to-deploy stack: the pipeline construct plus outputs that
// describe the pipeline to the operator CLI (functions/cli/target.ts,
// STACK_OUTPUTS). None per source (issue 13): the sources and where their
// credentials are live in the registry (`npm run cli -- sources list`).
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { B24EventPipeline, type B24EventPipelineProps } from './b24-event-pipeline.js';

export type B24EventPipelineStackProps = StackProps & B24EventPipelineProps;

export class B24EventPipelineStack extends Stack {
  readonly pipeline: B24EventPipeline;

  constructor(scope: Construct, id: string, props: B24EventPipelineStackProps) {
    super(scope, id, props);
    this.pipeline = new B24EventPipeline(this, 'Pipeline', props);
    new CfnOutput(this, 'AlarmTopicArn', { description: 'SNS topic of every pipeline alarm', value: this.pipeline.alarmTopic.topicArn });
    new CfnOutput(this, 'StateTableName', { value: this.pipeline.stateTable.tableName });
    new CfnOutput(this, 'PayloadBucketName', { value: this.pipeline.payloadBucket.bucketName });
    const { prefix } = this.pipeline.config;
    const urls = (queues: ReadonlyMap<string, { queueUrl: string }>): string => this.toJsonString(Object.fromEntries([...queues].map(([route, q]) => [route, q.queueUrl])));
    new CfnOutput(this, 'Prefix', { description: 'Configuration prefix of every resource name', value: prefix });
    new CfnOutput(this, 'QueueUrls', { description: 'JSON object: route key → queue URL', value: urls(this.pipeline.queues) });
    new CfnOutput(this, 'DeadLetterQueueUrls', { description: 'JSON object: route key → dead-letter queue URL', value: urls(this.pipeline.deadLetterQueues) });
    new CfnOutput(this, 'RegistryTableName', { description: 'The source registry: `npm run cli -- sources list --stack …`', value: this.pipeline.registryTable.tableName });
    new CfnOutput(this, 'SecretNamePrefix', { description: 'Every source\'s credentials secret is named <this prefix><source id> (sources add creates it)', value: this.pipeline.secretNamePrefix });
  }
}

/** Stack id for a configuration prefix, e.g. "B24EventPipeline-b24". */
export function stackIdFor(prefix: string): string {
  return `B24EventPipeline-${prefix}`;
}
