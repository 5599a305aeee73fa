// Small ports for logging and metrics so the core never depends on where the
// lines go: Powertools Logger / Metrics (EMF) in Lambda, a capturing fake in
// tests. Both adapters are created lazily by the handler, never at import time.
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { type CONSUMER_METRICS, METRICS_NAMESPACE, SOURCE_DIMENSION } from '../shared/observability.js';

export type LogAttributes = Record<string, unknown>;

/** What handlers log through: `ctx.logger.info('replied', { dialogId })`. */
export interface ConsumerLogger {
  debug(message: string, attributes?: LogAttributes): void;
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
  /** A logger that adds `keys` to every line (e.g. sourceId, eventId, type). */
  child(keys: LogAttributes): ConsumerLogger;
}

/** Adapts a Powertools Logger; children are Powertools child loggers with persistent keys. */
export function powertoolsConsumerLogger(logger: Logger = new Logger({ serviceName: 'b24-consumer' })): ConsumerLogger {
  return {
    debug: (message, attributes) => (attributes === undefined ? logger.debug(message) : logger.debug(message, attributes)),
    info: (message, attributes) => (attributes === undefined ? logger.info(message) : logger.info(message, attributes)),
    warn: (message, attributes) => (attributes === undefined ? logger.warn(message) : logger.warn(message, attributes)),
    error: (message, attributes) => (attributes === undefined ? logger.error(message) : logger.error(message, attributes)),
    child: (keys) => powertoolsConsumerLogger(logger.createChild({ persistentKeys: keys })),
  };
}

export type ConsumerMetricName = (typeof CONSUMER_METRICS)[keyof typeof CONSUMER_METRICS];

/** Counts per source; flushed once at the end of every invocation. */
export interface ConsumerMetrics {
  count(name: ConsumerMetricName, sourceId: string | undefined, value?: number): void;
  flush(): void;
}

/**
 * Powertools Metrics (EMF on stdout). Counts are summed per source during the
 * invocation and emitted as one single-metric line per (metric, source) with
 * the SourceId dimension, so mixed-source batches are attributed correctly.
 */
export function powertoolsConsumerMetrics(options: { serviceName?: string } = {}): ConsumerMetrics {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: options.serviceName ?? 'b24-consumer' });
  const pending = new Map<string, { name: ConsumerMetricName; sourceId: string; value: number }>();
  return {
    count(name, sourceId, value = 1) {
      const source = sourceId ?? 'unknown';
      const key = `${name}\u0000${source}`;
      const current = pending.get(key);
      pending.set(key, { name, sourceId: source, value: (current?.value ?? 0) + value });
    },
    flush() {
      for (const { name, sourceId, value } of pending.values()) {
        const single = metrics.singleMetric();
        single.addDimension(SOURCE_DIMENSION, sourceId);
        single.addMetric(name, MetricUnit.Count, value);
      }
      pending.clear();
    },
  };
}

/** Metrics that go nowhere (tests that do not look at them). */
export const noMetrics: ConsumerMetrics = { count: () => undefined, flush: () => undefined };
