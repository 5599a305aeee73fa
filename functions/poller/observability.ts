// Powertools adapters for the poller's logging and metrics ports, plus silent
// ones for tests and benchmarks. Metrics go out as CloudWatch EMF under the
// shared namespace with the SourceId dimension.
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, POLLER_SERVICE_NAME, SOURCE_DIMENSION } from '../shared/observability.js';
import type { LogFields, PollerLogger, PollerMetrics } from './ports.js';

// Defined in functions/shared/observability.ts (lib/ alarms on it); re-exported for the poller's callers.
export { POLLER_SERVICE_NAME } from '../shared/observability.js';

export function powertoolsLogger(logger: Logger = new Logger({ serviceName: POLLER_SERVICE_NAME })): PollerLogger {
  return {
    debug: (message: string, fields?: LogFields) => logger.debug(message, fields ?? {}),
    info: (message: string, fields?: LogFields) => logger.info(message, fields ?? {}),
    warn: (message: string, fields?: LogFields) => logger.warn(message, fields ?? {}),
    error: (message: string, fields?: LogFields) => logger.error(message, fields ?? {}),
  };
}

/**
 * Which source's SourceId dimension a Metrics instance currently holds. The
 * handler shares one instance between the per-source adapters of its
 * container, and Powertools warns (to the function's log, on every poll) when
 * a dimension is added twice: add it once per flush, and again only when
 * another source wrote in between.
 */
const sourceDimensionOf = new WeakMap<Metrics, string>();

/**
 * Per-source EMF metrics. Metrics without extra dimensions are buffered and
 * written on flush(); those with extra dimensions (EventType, ErrorCode) are
 * written at once as single metrics, since one EMF blob has one dimension set.
 * A metric wanted both per source and per code (PollerErrors) is counted twice
 * by the caller: once without dimensions (the aggregate series { service,
 * SourceId }), once with them.
 */
export function powertoolsMetrics(sourceId: string, metrics: Metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: POLLER_SERVICE_NAME })): PollerMetrics {
  // publishStoredMetrics clears the dimensions, even when it throws.
  const flush = (): void => {
    try {
      metrics.publishStoredMetrics();
    } finally {
      sourceDimensionOf.delete(metrics);
    }
  };
  const emit = (name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number, dimensions?: Readonly<Record<string, string>>) => {
    if (dimensions === undefined || Object.keys(dimensions).length === 0) {
      if (sourceDimensionOf.get(metrics) !== sourceId) {
        // Another source's buffered metrics would be relabelled: publish them under their own source first.
        if (sourceDimensionOf.has(metrics)) flush();
        metrics.addDimension(SOURCE_DIMENSION, sourceId);
        sourceDimensionOf.set(metrics, sourceId);
      }
      metrics.addMetric(name, unit, value);
      // Powertools publishes on its own once a metric holds 100 values, clearing the dimensions too.
      if (!metrics.hasStoredMetrics()) sourceDimensionOf.delete(metrics);
      return;
    }
    const single = metrics.singleMetric();
    single.addDimensions({ [SOURCE_DIMENSION]: sourceId, ...dimensions });
    single.addMetric(name, unit, value);
  };
  return {
    count: (name, value, dimensions) => emit(name, MetricUnit.Count, value, dimensions),
    milliseconds: (name, value, dimensions) => emit(name, MetricUnit.Milliseconds, value, dimensions),
    flush,
  };
}

export const silentLogger: PollerLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export const silentMetrics: PollerMetrics = { count: () => undefined, milliseconds: () => undefined, flush: () => undefined };
