// Powertools adapter of the shard loop's metrics port: the fleet's staleness
// as CloudWatch EMF under the poller's namespace (names in
// functions/shared/observability.ts, alarmed on by lib/parts/pipeline-alarms.ts).
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { POLLER_METRICS, SOURCE_DIMENSION } from '../shared/observability.js';
import type { FleetMetrics } from './shard-loop.js';

export function powertoolsFleetMetrics(metrics: Metrics): FleetMetrics {
  return {
    fleetMaxStaleness: (seconds) => {
      const single = metrics.singleMetric();
      single.addMetric(POLLER_METRICS.fleetMaxStalenessSeconds, MetricUnit.Seconds, seconds);
    },
    sourceStaleness: (sourceId, seconds) => {
      const single = metrics.singleMetric();
      single.addDimension(SOURCE_DIMENSION, sourceId);
      single.addMetric(POLLER_METRICS.sourceStalenessSeconds, MetricUnit.Seconds, seconds);
    },
  };
}

export const silentFleetMetrics: FleetMetrics = { fleetMaxStaleness: () => undefined, sourceStaleness: () => undefined };
