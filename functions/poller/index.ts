// Public surface of the poller: the run function and its wiring, for the
// Lambda handler, the local runtime, the demo and the benchmark.
export { pollSource, DEFAULT_TUNING, type PollerDependencies, type PollerTuning, type PollReport, type PollOptions, type StopReason } from './poll-loop.js';
export { createPollerDependencies, type CreatePollerDependenciesInput } from './dependencies.js';
export { DynamoDbSourceStateStore, sourceStateKey, type DynamoDbSourceStateOptions } from './dynamodb-source-state.js';
export { SqsEventSink, type SqsEventSinkOptions } from './sqs-event-sink.js';
export { bitrix24EventSource } from './bitrix24-event-source.js';
export { DynamoDbQuarantineStore, quarantineKeyPrefix, type DynamoDbQuarantineStoreOptions } from './dynamodb-quarantine-store.js';
export { nextIdleDelayMs, type IdleIntervalConfig } from './idle-interval.js';
export { classifyFailure, type FailureVerdict } from './error-policy.js';
export { powertoolsLogger, powertoolsMetrics, silentLogger, silentMetrics, POLLER_SERVICE_NAME } from './observability.js';
export * from './errors.js';
export type * from './ports.js';
export { runShard, type FleetMetrics, type ShardDependencies, type ShardOptions, type ShardReport } from './shard-loop.js';
export { homeShardOf, planClaims, worstStaleness, stalenessSeconds, type LeaseView, type PlannedSource } from './fleet-plan.js';
export { DynamoDbLeaseViewReader, type LeaseViewReader } from './fleet-lease-view.js';
export { powertoolsFleetMetrics, silentFleetMetrics } from './fleet-metrics.js';
