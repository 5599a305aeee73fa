// The metrics the pipeline's Lambdas emit (EMF via Powertools), as CloudWatch
// metric objects for alarms and the dashboard. Names come from
// functions/shared/observability.ts, the module the emitting code uses.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE, POLLER_SERVICE_NAME, SOURCE_DIMENSION } from '../../functions/shared/observability.js';

/** Powertools Metrics adds this dimension (the service name) to every metric. */
export const SERVICE_DIMENSION = 'service';
/** Extra dimension of the poller's per-type EventsReceived/EventsPublished series. */
export const EVENT_TYPE_DIMENSION = 'EventType';

/**
 * A per-source poller metric as the poller emits it: namespace
 * METRICS_NAMESPACE, dimensions { service, SourceId }.
 */
export function pollerMetric(metricName: string, sourceId: string, options: { period?: Duration; statistic?: string } = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { [SERVICE_DIMENSION]: POLLER_SERVICE_NAME, [SOURCE_DIMENSION]: sourceId },
    statistic: options.statistic ?? cloudwatch.Stats.SUM,
    period: options.period ?? Duration.minutes(5),
  });
}

/**
 * A poller metric that exists only per extra dimension (EventsReceived and
 * EventsPublished per EventType), summed over that dimension with a Metrics
 * Insights query. PollerErrors also has an aggregate series: use pollerMetric.
 */
export function pollerMetricSummedOver(metricName: string, dimension: string, sourceId: string, period: Duration = Duration.minutes(5)): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SELECT SUM(${metricName}) FROM SCHEMA("${METRICS_NAMESPACE}", ${dimension}, ${SERVICE_DIMENSION}, ${SOURCE_DIMENSION}) WHERE ${SERVICE_DIMENSION} = '${POLLER_SERVICE_NAME}' AND ${SOURCE_DIMENSION} = '${sourceId}'`,
    usingMetrics: {},
    period,
    label: `${metricName} ${sourceId}`,
  });
}
