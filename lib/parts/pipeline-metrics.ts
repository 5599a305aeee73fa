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
 * Names the consumers and the poller emit under the delivery and poller
 * contracts (functions/shared/observability.ts gains them with those changes):
 * the consumers' service name and the signals alarmed on.
 */
export const CONSUMER_SERVICE = 'b24-consumer';
export const CONTRACT_METRICS = {
  /** Consumer: a known event type whose data failed its schema (dead-lettered at once). */
  schemaMismatch: 'SchemaMismatch',
  /** Consumer: a Bitrix24 write sent whose answer was lost; not repeated, its record dead-lettered. */
  writeOutcomeUnknown: 'WriteOutcomeUnknown',
  /** Poller: an invalid event kept with its reason in the state table, committed past. */
  eventsQuarantined: 'EventsQuarantined',
} as const;

/** A per-source consumer metric: namespace METRICS_NAMESPACE, dimensions { service: b24-consumer, SourceId }, summed over every route. */
export function consumerMetric(metricName: string, sourceId: string, options: { period?: Duration } = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { [SERVICE_DIMENSION]: CONSUMER_SERVICE, [SOURCE_DIMENSION]: sourceId },
    statistic: cloudwatch.Stats.SUM,
    period: options.period ?? Duration.minutes(5),
  });
}

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

/**
 * A per-source metric of every source at once (issue 13: no alarm or series per source): a Metrics Insights
 * query grouped by SourceId, worst first. An alarm on it is a multi time series alarm whose contributors —
 * named in its state reason — are the offending sources; a graph shows the `limit` worst sources.
 */
export function perSourceQuery(
  metricName: string,
  options: { service?: string; aggregate?: 'SUM' | 'MAX' | 'AVG'; period?: Duration; limit?: number; label?: string } = {},
): cloudwatch.MathExpression {
  const aggregate = options.aggregate ?? 'SUM';
  const service = options.service ?? POLLER_SERVICE_NAME;
  return new cloudwatch.MathExpression({
    expression: `SELECT ${aggregate}(${metricName}) FROM SCHEMA("${METRICS_NAMESPACE}", ${SERVICE_DIMENSION}, ${SOURCE_DIMENSION}) WHERE ${SERVICE_DIMENSION} = '${service}' GROUP BY ${SOURCE_DIMENSION} ORDER BY ${aggregate}() DESC LIMIT ${options.limit ?? 100}`,
    usingMetrics: {},
    period: options.period ?? Duration.minutes(5),
    // A dynamic label: each series of the GROUP BY keeps its own name (the SourceId), not the query text.
    label: options.label ?? '${LABEL}',
  });
}

/** A fleet-wide poller metric (dimension service only), e.g. FleetMaxStalenessSeconds. */
export function pollerFleetMetric(metricName: string, options: { period?: Duration; statistic?: string } = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { [SERVICE_DIMENSION]: POLLER_SERVICE_NAME },
    statistic: options.statistic ?? cloudwatch.Stats.MAXIMUM,
    period: options.period ?? Duration.minutes(1),
  });
}
