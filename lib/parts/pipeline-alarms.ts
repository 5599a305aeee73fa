// Part: the alarm topic and every alarm: dead-letter queues, queue age, the
// scheduler's DLQ, Lambda errors, and — for every source at once, one alarm
// each whatever their number (issue 13) — staleness, auth failures,
// persistent poller errors, lease conflicts, quarantined events, schema
// mismatches and lost write answers. Those are Metrics Insights alarms grouped
// by SourceId: each source is a contributor, and the alarm's state reason and
// notification name the sources in ALARM.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as snsSubscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONSUMER_SERVICE_NAME, POLLER_METRICS } from '../../functions/shared/observability.js';
import { QUEUE_SETTINGS, deadLetterQueueName } from '../../functions/shared/topology.js';
import { CONTRACT_METRICS, perSourceQuery, pollerFleetMetric } from './pipeline-metrics.js';

export interface PipelineAlarmsProps {
  /** Resource name prefix: alarms are named `<prefix>-…`. */
  readonly prefix: string;
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
    const perSource = (
      alarmId: string,
      alarmName: string,
      description: string,
      query: cloudwatch.MathExpression,
      threshold: number,
      periods: { evaluationPeriods: number; datapointsToAlarm: number } = { evaluationPeriods: 1, datapointsToAlarm: 1 },
    ): void => {
      add(alarmId, {
        alarmName: `${prefix}-${alarmName}`,
        alarmDescription: `${description} One alarm for every source: the sources in ALARM are named in the alarm's state reason (its contributors).`,
        metric: query,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        ...periods,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    };
    perSource(
      'Alarm-StaleSources',
      'stale-sources',
      `No successful Event.get of a source for ${staleAfter} min (the poller shards publish ${POLLER_METRICS.sourceStalenessSeconds} per enabled source). Bitrix24 keeps events only 24 h: find out why (auth, poller errors, shard capacity) well before that.`,
      perSourceQuery(POLLER_METRICS.sourceStalenessSeconds, { aggregate: 'MAX', period: Duration.minutes(1) }),
      staleAfter * 60,
    );
    add('Alarm-FleetSilent', {
      alarmName: `${prefix}-poller-fleet-silent`,
      alarmDescription: `No poller shard has reported ${POLLER_METRICS.fleetMaxStalenessSeconds} for ${staleAfter} min: no source is being polled (schedules disabled, poller failing before it starts, or no enabled source — then disable this alarm's actions).`,
      metric: pollerFleetMetric(POLLER_METRICS.fleetMaxStalenessSeconds, { statistic: cloudwatch.Stats.SAMPLE_COUNT }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: staleAfter,
      datapointsToAlarm: staleAfter,
      // No heartbeat at all is exactly what this alarm is for.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    perSource(
      'Alarm-AuthFailures',
      'auth-failures',
      'Bitrix24 rejected the credentials of a source (webhook deleted, OAuth refresh token revoked, permission missing). Update its secret.',
      perSourceQuery(POLLER_METRICS.authFailures),
      1,
    );
    perSource(
      'Alarm-PollerErrors',
      'poller-errors',
      'Polling a source has failed in each of the last 3 five-minute periods (transient errors are retried; this is persistent). The ErrorCode dimension of PollerErrors names the error.',
      perSourceQuery(POLLER_METRICS.pollerErrors),
      1,
      { evaluationPeriods: 3, datapointsToAlarm: 3 },
    );
    perSource(
      'Alarm-LeaseConflicts',
      'lease-conflicts',
      'Pollers of a source keep colliding on its lease: two stacks/local runtimes poll the same source, or the poller timeout exceeds the schedule period.',
      perSourceQuery(POLLER_METRICS.leaseConflicts, { period: Duration.minutes(15) }),
      3,
    );
    perSource(
      'Alarm-BotDeleted',
      'bot-deleted',
      'The bot of a source was removed from the portal (ONIMBOTV2DELETE): the poller no longer polls it. Register the bot again and set its new botId (`sources add <id> … --replace`), or disable the source.',
      perSourceQuery(POLLER_METRICS.botDeleted),
      1,
    );
    perSource(
      'Alarm-EventsQuarantined',
      'events-quarantined',
      'The poller quarantined invalid events of a source (kept raw with the reason in the state table, committed past, never published). List them with the CLI and decide what to do with each.',
      perSourceQuery(CONTRACT_METRICS.eventsQuarantined),
      1,
    );
    perSource(
      'Alarm-SchemaMismatch',
      'schema-mismatch',
      'A consumer received an event whose data does not match its type\'s schema and dead-lettered it: Bitrix24 changed a field, or the schema is wrong. Read the DLQ message, fix the schema, redrive.',
      perSourceQuery(CONTRACT_METRICS.schemaMismatch, { service: CONSUMER_SERVICE_NAME }),
      1,
    );
    perSource(
      'Alarm-WriteOutcomeUnknown',
      'write-outcome-unknown',
      'A consumer\'s Bitrix24 write was sent but its answer was lost: it was not repeated and its event was dead-lettered. Check in the portal whether it took effect before you redrive.',
      perSourceQuery(CONTRACT_METRICS.writeOutcomeUnknown, { service: CONSUMER_SERVICE_NAME }),
      1,
    );
    this.alarms = alarms;
  }
}
