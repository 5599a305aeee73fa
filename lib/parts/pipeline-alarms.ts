// Part: the alarm topic and every alarm: dead-letter queues, queue age, the
// scheduler's DLQ, Lambda errors, and per enabled source staleness, auth
// failures, persistent poller errors and lease conflicts.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as snsSubscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { SourceConfig } from '../../functions/shared/config.js';
import { POLLER_METRICS } from '../../functions/shared/observability.js';
import { QUEUE_SETTINGS, deadLetterQueueName } from '../../functions/shared/topology.js';
import { CONTRACT_METRICS, consumerMetric, pollerMetric } from './pipeline-metrics.js';

export interface PipelineAlarmsProps {
  /** Resource name prefix: alarms are named `<prefix>-…`. */
  readonly prefix: string;
  /** Sources that get the poller's per-source alarms. */
  readonly enabledSources: readonly SourceConfig[];
  /** Sources that get the consumers' per-source alarms (every source: a disabled one's events may still be in the queues). */
  readonly sources: readonly SourceConfig[];
  /** Minutes without a successful poll before a source's staleness alarm fires. */
  readonly staleAfterMinutes: number;
  /** Alarm when the oldest message of a route queue is older than this. @default 15 minutes */
  readonly oldestMessageAge?: Duration;
  readonly queues: ReadonlyMap<string, sqs.IQueue>;
  readonly deadLetterQueues: ReadonlyMap<string, sqs.IQueue>;
  readonly schedulerDeadLetterQueue: sqs.IQueue;
  readonly poller: lambda.IFunction;
  readonly consumers: ReadonlyMap<string, lambda.IFunction>;
  /** The queues' redrive maxReceiveCount (in the DLQ alarm's text). @default QUEUE_SETTINGS.maxReceiveCount */
  readonly maxReceiveCount?: number;
  /** Your own topic for alarm and OK notifications. @default a new KMS-encrypted, TLS-only topic */
  readonly existingTopic?: sns.ITopic;
  /** Key of a created topic. */
  readonly encryptionKey: kms.IKey;
  /** E-mail subscribed to a created topic. @default none */
  readonly alarmEmail?: string;
}

/** Alarms that notify the topic on ALARM and OK. Resources are created in `scope` (see PipelineEncryptionKey). */
export class PipelineAlarms extends Construct {
  readonly topic: sns.ITopic;
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    const { prefix } = props;
    if (props.existingTopic === undefined) {
      const topic = new sns.Topic(scope, 'AlarmTopic', { displayName: `b24-event-pipeline ${prefix} alarms`, masterKey: props.encryptionKey, enforceSSL: true });
      if (props.alarmEmail !== undefined) topic.addSubscription(new snsSubscriptions.EmailSubscription(props.alarmEmail));
      this.topic = topic;
    } else {
      this.topic = props.existingTopic;
    }
    const alarms: cloudwatch.Alarm[] = [];
    const action = new cloudwatchActions.SnsAction(this.topic);
    const add = (alarmId: string, alarmProps: cloudwatch.AlarmProps): void => {
      const alarm = new cloudwatch.Alarm(scope, alarmId, alarmProps);
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      alarms.push(alarm);
    };
    const fiveMinutes = Duration.minutes(5);
    const oldestMessageAge = props.oldestMessageAge ?? Duration.minutes(15);
    const maxReceiveCount = props.maxReceiveCount ?? QUEUE_SETTINGS.maxReceiveCount;

    for (const [route, dlq] of props.deadLetterQueues) {
      add(`Alarm-DlqNotEmpty-${route}`, {
        alarmName: `${prefix}-dlq-not-empty-${route}`,
        alarmDescription: `Messages of route "${route}" sit in ${deadLetterQueueName(prefix, route)}: the consumer moved them there (poison, schema mismatch, attempts exhausted or write outcome unknown; the b24-dead-letter-reason attribute says which) or SQS did after ${maxReceiveCount} receives. Fix the cause, then redrive (docs/deploy.md: alarms).`,
        metric: dlq.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    for (const [route, queue] of props.queues) {
      add(`Alarm-OldestMessage-${route}`, {
        alarmName: `${prefix}-oldest-message-${route}`,
        alarmDescription: `The oldest message of route "${route}" waits for more than ${oldestMessageAge.toMinutes()} min: its consumer is failing, throttled or too slow.`,
        metric: queue.metricApproximateAgeOfOldestMessage({ period: fiveMinutes, statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: oldestMessageAge.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    add('Alarm-SchedulerDlqNotEmpty', {
      alarmName: `${prefix}-scheduler-dlq-not-empty`,
      alarmDescription: 'EventBridge Scheduler could not invoke the poller (throttled, deleted or denied) after its retries.',
      metric: props.schedulerDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    add('Alarm-PollerFunctionErrors', {
      alarmName: `${prefix}-poller-function-errors`,
      alarmDescription: 'The poller Lambda crashed or timed out in 2 of the last 3 five-minute periods. See its log group.',
      metric: props.poller.metricErrors({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const [route, fn] of props.consumers) {
      add(`Alarm-ConsumerFunctionErrors-${route}`, {
        alarmName: `${prefix}-consumer-function-errors-${route}`,
        alarmDescription: `The consumer of route "${route}" crashed or timed out (whole batches retried) in 2 of the last 3 five-minute periods.`,
        metric: fn.metricErrors({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    const staleAfter = props.staleAfterMinutes;
    for (const source of props.enabledSources) {
      add(`Alarm-Stale-${source.id}`, {
        alarmName: `${prefix}-stale-${source.id}`,
        alarmDescription: `No successful Event.get of source "${source.id}" for ${staleAfter} min. Bitrix24 keeps events only 24 h: find out why (auth, poller errors, disabled schedule) well before that.`,
        metric: pollerMetric(POLLER_METRICS.pollSucceeded, source.id, { period: Duration.minutes(1) }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: staleAfter,
        datapointsToAlarm: staleAfter,
        // No heartbeat at all is exactly what this alarm is for.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      add(`Alarm-AuthFailures-${source.id}`, {
        alarmName: `${prefix}-auth-failures-${source.id}`,
        alarmDescription: `Bitrix24 rejected the credentials of source "${source.id}" (webhook deleted, OAuth refresh token revoked, permission missing). Update its secret.`,
        metric: pollerMetric(POLLER_METRICS.authFailures, source.id),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      add(`Alarm-PollerErrors-${source.id}`, {
        alarmName: `${prefix}-poller-errors-${source.id}`,
        alarmDescription: `Polling source "${source.id}" has failed in each of the last 3 five-minute periods (transient errors are retried; this is persistent). The ErrorCode dimension names the error.`,
        metric: pollerMetric(POLLER_METRICS.pollerErrors, source.id),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      add(`Alarm-LeaseConflicts-${source.id}`, {
        alarmName: `${prefix}-lease-conflicts-${source.id}`,
        alarmDescription: `Pollers of source "${source.id}" keep colliding on its lease: two stacks/local runtimes poll the same source, or the poller timeout exceeds the schedule period.`,
        metric: pollerMetric(POLLER_METRICS.leaseConflicts, source.id, { period: Duration.minutes(15) }),
        threshold: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (source.kind === 'bot') {
        add(`Alarm-BotDeleted-${source.id}`, {
          alarmName: `${prefix}-bot-deleted-${source.id}`,
          alarmDescription: `The bot of source "${source.id}" was removed from the portal (ONIMBOTV2DELETE): the poller no longer polls it. Register the bot again and set its new botId in the source configuration, or disable the source.`,
          metric: pollerMetric(POLLER_METRICS.botDeleted, source.id),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
      }
      add(`Alarm-EventsQuarantined-${source.id}`, {
        alarmName: `${prefix}-events-quarantined-${source.id}`,
        alarmDescription: `The poller quarantined invalid events of source "${source.id}" (kept raw with the reason in the state table, committed past, never published). List them with the CLI and decide what to do with each.`,
        metric: pollerMetric(CONTRACT_METRICS.eventsQuarantined, source.id),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    for (const source of props.sources) {
      add(`Alarm-SchemaMismatch-${source.id}`, {
        alarmName: `${prefix}-schema-mismatch-${source.id}`,
        alarmDescription: `A consumer received an event of source "${source.id}" whose data does not match its type's schema and dead-lettered it: Bitrix24 changed a field, or the schema is wrong. Read the DLQ message, fix the schema, redrive.`,
        metric: consumerMetric(CONTRACT_METRICS.schemaMismatch, source.id),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      add(`Alarm-WriteOutcomeUnknown-${source.id}`, {
        alarmName: `${prefix}-write-outcome-unknown-${source.id}`,
        alarmDescription: `A consumer's Bitrix24 write as source "${source.id}" was sent but its answer was lost: it was not repeated and its event was dead-lettered. Check in the portal whether it took effect before you redrive.`,
        metric: consumerMetric(CONTRACT_METRICS.writeOutcomeUnknown, source.id),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    this.alarms = alarms;
  }
}
