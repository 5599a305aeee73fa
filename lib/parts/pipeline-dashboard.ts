// Part: the CloudWatch dashboard: alarm status, the poller's per-source
// series, queue depth and age, DLQs, and the Lambdas' invocations, errors and
// duration.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { SourceConfig } from '../../functions/shared/config.js';
import { POLLER_METRICS } from '../../functions/shared/observability.js';
import { CONTRACT_METRICS, EVENT_TYPE_DIMENSION, consumerMetric, pollerMetric, pollerMetricSummedOver } from './pipeline-metrics.js';

export interface PipelineDashboardProps {
  /** Resource name prefix: the dashboard is named `<prefix>-event-pipeline`. */
  readonly prefix: string;
  readonly enabledSources: readonly SourceConfig[];
  /** Every source (the consumers' per-source series). */
  readonly sources: readonly SourceConfig[];
  readonly alarms: readonly cloudwatch.IAlarm[];
  readonly queues: ReadonlyMap<string, sqs.IQueue>;
  readonly deadLetterQueues: ReadonlyMap<string, sqs.IQueue>;
  readonly poller: lambda.IFunction;
  readonly consumers: ReadonlyMap<string, lambda.IFunction>;
  /** Time range shown when the dashboard opens. @default 3 hours */
  readonly defaultInterval?: Duration;
}

/** The pipeline's dashboard. Resources are created in `scope` (see PipelineEncryptionKey). */
export class PipelineDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PipelineDashboardProps) {
    super(scope, id);
    const { enabledSources } = props;
    const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', { dashboardName: `${props.prefix}-event-pipeline`, defaultInterval: props.defaultInterval ?? Duration.hours(3) });
    const perSource = (metricName: string): cloudwatch.IMetric[] =>
      enabledSources.map((s) => pollerMetric(metricName, s.id, { period: Duration.minutes(1) }).with({ label: s.id }));
    dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24 }));
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Successful polls (heartbeat)', left: perSource(POLLER_METRICS.pollSucceeded), width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Events received (left) / published (right)',
        left: enabledSources.map((s) => pollerMetricSummedOver(POLLER_METRICS.eventsReceived, EVENT_TYPE_DIMENSION, s.id, Duration.minutes(1))),
        right: enabledSources.map((s) => pollerMetricSummedOver(POLLER_METRICS.eventsPublished, EVENT_TYPE_DIMENSION, s.id, Duration.minutes(1))),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Event age (ms, p90)',
        left: enabledSources.map((s) => pollerMetric(POLLER_METRICS.eventAge, s.id, { period: Duration.minutes(1), statistic: 'p90' }).with({ label: s.id })),
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Poller errors', left: perSource(POLLER_METRICS.pollerErrors), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Auth failures', left: perSource(POLLER_METRICS.authFailures), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Lease conflicts', left: perSource(POLLER_METRICS.leaseConflicts), width: 8 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Events quarantined by the poller', left: perSource(CONTRACT_METRICS.eventsQuarantined), width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Schema mismatches (consumers)',
        left: props.sources.map((s) => consumerMetric(CONTRACT_METRICS.schemaMismatch, s.id, { period: Duration.minutes(1) }).with({ label: s.id })),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Write outcome unknown (consumers)',
        left: props.sources.map((s) => consumerMetric(CONTRACT_METRICS.writeOutcomeUnknown, s.id, { period: Duration.minutes(1) }).with({ label: s.id })),
        width: 8,
      }),
    );
    const byRoute = (f: (route: string, q: sqs.IQueue) => cloudwatch.IMetric, map: ReadonlyMap<string, sqs.IQueue>): cloudwatch.IMetric[] =>
      [...map].map(([route, q]) => f(route, q));
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Queue depth',
        left: byRoute((route, q) => q.metricApproximateNumberOfMessagesVisible({ label: route, period: Duration.minutes(1) }), props.queues),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Oldest message age (s)',
        left: byRoute((route, q) => q.metricApproximateAgeOfOldestMessage({ label: route, period: Duration.minutes(1) }), props.queues),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queues',
        left: byRoute((route, q) => q.metricApproximateNumberOfMessagesVisible({ label: route, period: Duration.minutes(1) }), props.deadLetterQueues),
        width: 8,
      }),
    );
    const fns = [['poller', props.poller] as const, ...[...props.consumers].map(([route, fn]) => [route, fn] as const)];
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Lambda invocations', left: fns.map(([name, fn]) => fn.metricInvocations({ label: name })), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Lambda errors', left: fns.map(([name, fn]) => fn.metricErrors({ label: name })), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Lambda duration (p90)', left: fns.map(([name, fn]) => fn.metricDuration({ label: name, statistic: 'p90' })), width: 8 }),
    );
    this.dashboard = dashboard;
  }
}
