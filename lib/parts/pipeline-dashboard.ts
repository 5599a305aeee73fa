// Part: the CloudWatch dashboard: alarm status, the poller's per-source
// series (Metrics Insights, grouped by SourceId, the worst sources first: one
// widget whatever the number of sources), queue depth and age, DLQs, and the
// Lambdas' invocations, errors and duration.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONSUMER_SERVICE_NAME, POLLER_METRICS } from '../../functions/shared/observability.js';
import { CONTRACT_METRICS, perSourceQuery, pollerFleetMetric } from './pipeline-metrics.js';

/** Sources shown per per-source graph: the worst ones. */
const SOURCES_PER_GRAPH = 20;

export interface PipelineDashboardProps {
  /** Resource name prefix: the dashboard is named `<prefix>-event-pipeline`. */
  readonly prefix: string;
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
    const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', { dashboardName: `${props.prefix}-event-pipeline`, defaultInterval: props.defaultInterval ?? Duration.hours(3) });
    const worst = (metricName: string, options: { aggregate?: 'SUM' | 'MAX' | 'AVG'; service?: string } = {}): cloudwatch.IMetric[] => [
      perSourceQuery(metricName, { ...options, period: Duration.minutes(1), limit: SOURCES_PER_GRAPH }),
    ];
    dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24 }));
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Staleness: seconds since the last successful poll (stalest sources; fleet max)',
        left: worst(POLLER_METRICS.sourceStalenessSeconds, { aggregate: 'MAX' }),
        right: [pollerFleetMetric(POLLER_METRICS.fleetMaxStalenessSeconds).with({ label: 'fleet max' })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'Successful polls (top 20 sources)', left: worst(POLLER_METRICS.pollSucceeded), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Event age (ms, max; oldest sources)', left: worst(POLLER_METRICS.eventAge, { aggregate: 'MAX' }), width: 8 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Poller errors (top sources)', left: worst(POLLER_METRICS.pollerErrors), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Auth failures (top sources)', left: worst(POLLER_METRICS.authFailures), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Lease conflicts (top sources)', left: worst(POLLER_METRICS.leaseConflicts), width: 8 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Events quarantined by the poller', left: worst(CONTRACT_METRICS.eventsQuarantined), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Schema mismatches (consumers)', left: worst(CONTRACT_METRICS.schemaMismatch, { service: CONSUMER_SERVICE_NAME }), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Write outcome unknown (consumers)', left: worst(CONTRACT_METRICS.writeOutcomeUnknown, { service: CONSUMER_SERVICE_NAME }), width: 8 }),
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
