// AWS list prices used to turn measured request counts into money.
// us-east-1, on-demand, no free tier, as published on the AWS pricing pages;
// checked on PRICES_AS_OF. Update the constants (and the date) to re-price.

export const PRICES_AS_OF = '2025-06-01';
export const PRICE_REGION = 'us-east-1';

export const PRICES = {
  /** Lambda arm64 (Graviton) compute, USD per GB-second (first tier). */
  lambdaArmPerGbSecond: 0.0000133334,
  /** Lambda requests, USD per invocation ($0.20 per million). */
  lambdaPerRequest: 0.2 / 1e6,
  /** EventBridge Scheduler, USD per scheduled invocation ($1.00 per million). */
  schedulerPerInvocation: 1.0 / 1e6,
  /** SQS FIFO, USD per (64 KiB-chunk) request ($0.50 per million). */
  sqsFifoPerRequest: 0.5 / 1e6,
  /** DynamoDB on-demand write request units ($0.625 per million, since Nov 2024). */
  dynamoDbPerWriteUnit: 0.625 / 1e6,
  /** DynamoDB on-demand read request units ($0.125 per million, since Nov 2024). */
  dynamoDbPerReadUnit: 0.125 / 1e6,
  /** Secrets Manager, USD per secret per month. */
  secretPerMonth: 0.4,
  /** Secrets Manager API calls ($0.05 per 10,000). */
  secretPerCall: 0.05 / 10_000,
  /** CloudWatch custom metrics via EMF: USD per metric per month (first 10k metrics). */
  metricPerMonth: 0.3,
} as const;

export const SECONDS_PER_MONTH = 30 * 24 * 60 * 60;
