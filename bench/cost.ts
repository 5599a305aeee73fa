// Cost model: measured requests per 1000 events → USD per million events, and
// the fixed monthly cost of one source in each poller mode. Pure functions.
import { PRICES, SECONDS_PER_MONTH } from './pricing.js';
import { type RequestCounts } from './request-counter.js';

export interface PerThousandEvents {
  readonly bitrix24Calls: number;
  readonly sqsRequests: number;
  readonly sqsBilledRequests: number;
  readonly dynamoDbRequests: number;
  readonly dynamoDbReadUnits: number;
  readonly dynamoDbWriteUnits: number;
  readonly s3Requests: number;
}

export function perThousand(counts: RequestCounts, bitrix24Calls: number, events: number): PerThousandEvents {
  const f = events === 0 ? 0 : 1000 / events;
  return {
    bitrix24Calls: bitrix24Calls * f,
    sqsRequests: counts.sqsRequests * f,
    sqsBilledRequests: counts.sqsBilledRequests * f,
    dynamoDbRequests: counts.dynamoDbRequests * f,
    dynamoDbReadUnits: counts.dynamoDbReadUnits * f,
    dynamoDbWriteUnits: counts.dynamoDbWriteUnits * f,
    s3Requests: counts.s3Requests * f,
  };
}

export interface VariableCost {
  readonly sqsUsd: number;
  readonly dynamoDbUsd: number;
  readonly lambdaUsd: number;
  readonly totalUsd: number;
}

/**
 * USD per million events for the polling side (SQS sends + DynamoDB), plus
 * optionally the consumer side measured separately (receives, deletes,
 * idempotency records) and the Lambda compute of both.
 */
export function costPerMillionEvents(
  poller: PerThousandEvents,
  consumer: PerThousandEvents | undefined,
  lambdaGbSecondsPerThousand: number,
  lambdaInvocationsPerThousand: number,
): VariableCost {
  const k = 1000; // per-thousand → per-million
  const sqsRequests = poller.sqsBilledRequests + (consumer?.sqsBilledRequests ?? 0);
  const rru = poller.dynamoDbReadUnits + (consumer?.dynamoDbReadUnits ?? 0);
  const wru = poller.dynamoDbWriteUnits + (consumer?.dynamoDbWriteUnits ?? 0);
  const sqsUsd = sqsRequests * k * PRICES.sqsFifoPerRequest;
  const dynamoDbUsd = rru * k * PRICES.dynamoDbPerReadUnit + wru * k * PRICES.dynamoDbPerWriteUnit;
  const lambdaUsd =
    lambdaGbSecondsPerThousand * k * PRICES.lambdaArmPerGbSecond + lambdaInvocationsPerThousand * k * PRICES.lambdaPerRequest;
  return { sqsUsd, dynamoDbUsd, lambdaUsd, totalUsd: sqsUsd + dynamoDbUsd + lambdaUsd };
}

export interface FixedCostInput {
  /** Poller Lambda memory, MB. */
  readonly memoryMb: number;
  /** Minutes between scheduled invocations. */
  readonly scheduleMinutes: number;
  /** Per-schedule: billed duration of one idle invocation (lease + one empty Event.get + release), ms. */
  readonly idleInvocationMs: number;
  /** DynamoDB units of one idle per-schedule invocation (lease + commit/release). */
  readonly idleInvocationReadUnits: number;
  readonly idleInvocationWriteUnits: number;
  /** Continuous: seconds between idle polls (the configured idle interval, max when long idle). */
  readonly continuousIdlePollSeconds: number;
  /** DynamoDB units per idle poll in continuous mode (heartbeat, lease renewal). */
  readonly idlePollReadUnits: number;
  readonly idlePollWriteUnits: number;
  /** Fraction of each minute a continuous run is alive (it stops shortly before its deadline). */
  readonly continuousDutyCycle: number;
}

export interface FixedCost {
  readonly invocationsPerMonth: number;
  readonly lambdaGbSeconds: number;
  readonly lambdaUsd: number;
  readonly schedulerUsd: number;
  readonly dynamoDbUsd: number;
  readonly secretUsd: number;
  readonly totalUsd: number;
  readonly bitrix24CallsPerMonth: number;
}

/** Monthly cost of one source with no traffic, in the two poller modes. */
export function fixedCostPerSourceMonth(input: FixedCostInput): { perSchedule: FixedCost; continuous: FixedCost } {
  const invocations = SECONDS_PER_MONTH / (input.scheduleMinutes * 60);
  const gb = input.memoryMb / 1024;
  const secretCallsUsd = invocations * PRICES.secretPerCall; // at most one fetch per cold start; upper bound
  const scheduledBase = invocations * (PRICES.schedulerPerInvocation + PRICES.lambdaPerRequest);

  const perScheduleGbS = invocations * (input.idleInvocationMs / 1000) * gb;
  const perScheduleDynamo =
    invocations * (input.idleInvocationReadUnits * PRICES.dynamoDbPerReadUnit + input.idleInvocationWriteUnits * PRICES.dynamoDbPerWriteUnit);
  const perScheduleLambda = perScheduleGbS * PRICES.lambdaArmPerGbSecond;
  const perSchedule: FixedCost = {
    invocationsPerMonth: invocations,
    lambdaGbSeconds: perScheduleGbS,
    lambdaUsd: perScheduleLambda + invocations * PRICES.lambdaPerRequest,
    schedulerUsd: invocations * PRICES.schedulerPerInvocation,
    dynamoDbUsd: perScheduleDynamo,
    secretUsd: PRICES.secretPerMonth + secretCallsUsd,
    totalUsd: scheduledBase + perScheduleLambda + perScheduleDynamo + PRICES.secretPerMonth + secretCallsUsd,
    bitrix24CallsPerMonth: invocations,
  };

  const aliveSeconds = SECONDS_PER_MONTH * input.continuousDutyCycle;
  const polls = aliveSeconds / input.continuousIdlePollSeconds;
  const continuousGbS = aliveSeconds * gb;
  const continuousDynamo =
    polls * (input.idlePollReadUnits * PRICES.dynamoDbPerReadUnit + input.idlePollWriteUnits * PRICES.dynamoDbPerWriteUnit) +
    perScheduleDynamo; // each run still takes and releases the lease
  const continuousLambda = continuousGbS * PRICES.lambdaArmPerGbSecond;
  const continuous: FixedCost = {
    invocationsPerMonth: invocations,
    lambdaGbSeconds: continuousGbS,
    lambdaUsd: continuousLambda + invocations * PRICES.lambdaPerRequest,
    schedulerUsd: invocations * PRICES.schedulerPerInvocation,
    dynamoDbUsd: continuousDynamo,
    secretUsd: PRICES.secretPerMonth + secretCallsUsd,
    totalUsd: scheduledBase + continuousLambda + continuousDynamo + PRICES.secretPerMonth + secretCallsUsd,
    bitrix24CallsPerMonth: polls,
  };
  return { perSchedule, continuous };
}

export interface FleetCostInput {
  readonly sources: number;
  /** Sources one shard invocation holds (fleet.sourcesPerInvocation). */
  readonly sourcesPerInvocation: number;
  /** Shards beyond ceil(sources / K), so one dead shard's sources still fit. */
  readonly spareShards: number;
  /** Measured: whole-process CPU per Bitrix24 request of the fleet run, ms (an upper bound: simulators and consumers share the process). */
  readonly cpuMsPerRequest: number;
  /** Measured: heap per held source, bytes. */
  readonly heapBytesPerSource: number;
  /** Seconds between polls of an idle source (idleInterval.maxSeconds). */
  readonly idlePollSeconds: number;
  /** Seconds between registry refreshes of a shard. */
  readonly refreshSeconds: number;
  /** Fraction of each minute a shard invocation is alive. */
  readonly dutyCycle: number;
  /** Lambda memory floor, MB. */
  readonly minMemoryMb: number;
  /** Highest CPU use planned for a shard (of the vCPU share its memory buys). */
  readonly cpuHeadroom: number;
  /** Registry item size, bytes (Scan read units). */
  readonly registryItemBytes: number;
}

export interface FleetCost {
  readonly sources: number;
  readonly shards: number;
  readonly memoryMb: number;
  readonly lambdaUsd: number;
  readonly schedulerUsd: number;
  /** Idle polls: budget reservation + commit (each 1 WRU). */
  readonly pollWritesUsd: number;
  /** Lease views and registry scans of every shard's refreshes. */
  readonly refreshReadsUsd: number;
  /** Per source-month, without a per-source secret. */
  readonly perSourceUsd: number;
  /** Per source-month, with a Secrets Manager secret per source ($0.40). */
  readonly perSourceWithSecretUsd: number;
}

/** Lambda gives one vCPU at 1769 MB, proportionally below. */
const MB_PER_VCPU = 1769;

/** Monthly cost of a continuous fleet of idle sources, per source (the traffic's own cost is costPerMillionEvents). */
export function fleetCostPerSourceMonth(input: FleetCostInput): FleetCost {
  const shards = Math.ceil(input.sources / input.sourcesPerInvocation) + input.spareShards;
  const heldPerShard = Math.min(input.sources, input.sourcesPerInvocation);
  const vcpu = (heldPerShard * input.cpuMsPerRequest) / input.idlePollSeconds / 1000;
  const memoryByCpu = (vcpu / input.cpuHeadroom) * MB_PER_VCPU;
  const memoryByHeap = 128 + (heldPerShard * input.heapBytesPerSource) / 2 ** 20;
  const memoryMb = Math.ceil(Math.max(input.minMemoryMb, memoryByCpu, memoryByHeap) / 64) * 64;
  const alive = SECONDS_PER_MONTH * input.dutyCycle;
  const invocations = (SECONDS_PER_MONTH / 60) * shards;
  const lambdaUsd = shards * alive * (memoryMb / 1024) * PRICES.lambdaArmPerGbSecond + invocations * PRICES.lambdaPerRequest;
  const schedulerUsd = invocations * PRICES.schedulerPerInvocation;
  const polls = (alive / input.idlePollSeconds) * input.sources;
  const pollWritesUsd = polls * 2 * PRICES.dynamoDbPerWriteUnit;
  const refreshes = (alive / input.refreshSeconds) * shards;
  // BatchGetItem, eventually consistent: 0.5 RRU per item; Scan: 0.5 RRU per 4 KB.
  const readUnitsPerRefresh = input.sources * 0.5 + Math.max(0.5, (input.sources * input.registryItemBytes) / 4096 / 2);
  const refreshReadsUsd = refreshes * readUnitsPerRefresh * PRICES.dynamoDbPerReadUnit;
  const total = lambdaUsd + schedulerUsd + pollWritesUsd + refreshReadsUsd;
  const perSourceUsd = total / input.sources;
  return { sources: input.sources, shards, memoryMb, lambdaUsd, schedulerUsd, pollWritesUsd, refreshReadsUsd, perSourceUsd, perSourceWithSecretUsd: perSourceUsd + PRICES.secretPerMonth };
}
