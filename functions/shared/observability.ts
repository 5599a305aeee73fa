// Names shared by the code that emits metrics (poller, consumers) and the code
// that alarms on them (lib/). Change both sides together.

/** CloudWatch namespace of every pipeline metric (EMF). */
export const METRICS_NAMESPACE = 'B24EventPipeline';

/** Dimension naming the source on per-source metrics. */
export const SOURCE_DIMENSION = 'SourceId';

/** Powertools service name of the poller: the `service` dimension of its metrics and the `service` key of its logs. */
export const POLLER_SERVICE_NAME = 'b24-poller';

export const POLLER_METRICS = {
  /** Heartbeat: 1 on every committed page of a source (not on a fetch: a poller that cannot publish must go stale). Staleness alarm watches it. */
  pollSucceeded: 'PollSucceeded',
  eventsReceived: 'EventsReceived',
  eventsPublished: 'EventsPublished',
  pages: 'Pages',
  apiLatency: 'ApiLatency',
  /**
   * Any Bitrix24 or AWS error in a poll. Emitted twice: an aggregate series with the source dimensions
   * only (what the alarm watches) and a per-code series with an extra `ErrorCode` dimension.
   */
  pollerErrors: 'PollerErrors',
  leaseConflicts: 'LeaseConflicts',
  /** Authentication/permission failures (NO_AUTH_FOUND, invalid_grant, ACCESS_DENIED, …). */
  authFailures: 'AuthFailures',
  /** now − event date, in ms. */
  eventAge: 'EventAge',
  /** Events too large for SQS, sent through the claim-check bucket. */
  oversizeEvents: 'OversizeEvents',
  /** Invalid events stored in quarantine (the source commits past them); per SourceId. Alarmed on. */
  eventsQuarantined: 'EventsQuarantined',
  /**
   * Fleet (issue 13): seconds since the last successful poll (committed page or empty fetch) of one enabled
   * source, dimensions { service, SourceId }, published by the poller shards for every enabled registered
   * source each run. The "stalest source" alarm groups it by SourceId (lib/parts/pipeline-alarms.ts).
   */
  sourceStalenessSeconds: 'SourceStalenessSeconds',
  /**
   * Fleet (issue 13): the maximum of SourceStalenessSeconds over every enabled source, dimensions { service }
   * only, published by every shard run; the log line names the source. Alarmed with missing data breaching:
   * no shard running at all is staleness too.
   */
  fleetMaxStalenessSeconds: 'FleetMaxStalenessSeconds',
  /** The source's bot was removed (ONIMBOTV2DELETE): 1 on that run and on every later run that skips the source. Alarmed on. */
  botDeleted: 'BotDeleted',
} as const;

export const CONSUMER_METRICS = {
  eventsHandled: 'EventsHandled',
  duplicatesSkipped: 'DuplicatesSkipped',
  handlerFailures: 'HandlerFailures',
  poisonMessages: 'PoisonMessages',
  /** A known event type whose data failed its schema (dead-lettered at once). Alarmed (lib/). */
  schemaMismatch: 'SchemaMismatch',
  /** Records the consumer moved to the route's DLQ itself (poison, attempts exhausted, write outcome unknown). */
  deadLettered: 'DeadLettered',
  /** A Bitrix24 write whose outcome is unknown (sent, answer lost): not repeated, its record dead-lettered. Alarmed (lib/). */
  writeOutcomeUnknown: 'WriteOutcomeUnknown',
  /** Bitrix24 writes answered from the outbox on a re-run instead of being sent again. */
  outboxReplays: 'OutboxReplays',
} as const;

/** Powertools service name of the consumers: the `service` dimension of their metrics. */
export const CONSUMER_SERVICE_NAME = 'b24-consumer';

/** Environment variables the Lambdas read (set by lib/, by the local runtime and by tests). */
export const ENV = {
  stateTableName: 'STATE_TABLE_NAME',
  idempotencyTableName: 'IDEMPOTENCY_TABLE_NAME',
  /** JSON object: route key → queue URL (includes the catch-all). */
  queueUrls: 'QUEUE_URLS',
  /** JSON object: event type → route key. */
  routes: 'ROUTES',
  payloadBucketName: 'PAYLOAD_BUCKET_NAME',
  prefix: 'PIPELINE_PREFIX',
  /** Consumer: the route key this function serves. */
  route: 'ROUTE',
  /** Consumer: JSON array of the sources (id, kind, portal, auth, secretName, botId) for ctx.bitrix24. */
  sources: 'SOURCES',
  /** Consumer: its route's queue URL (ChangeMessageVisibility for retry backoff). */
  queueUrl: 'QUEUE_URL',
  /** Consumer: its route's DLQ URL (the consumer dead-letters records itself). */
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  /** Consumer: failed attempts per event before the consumer dead-letters it (config consumer.maxAttempts). */
  maxAttempts: 'MAX_ATTEMPTS',
  /** Poller, consumers, install: the source registry table (functions/registry; issue 13). */
  registryTableName: 'REGISTRY_TABLE_NAME',
  /** Poller: sources one invocation of a shard claims (config fleet.sourcesPerInvocation). */
  sourcesPerInvocation: 'SOURCES_PER_INVOCATION',
  /** Poller: request budget per portal, JSON (config fleet.portalBudgets; functions/budget/rates.ts). */
  portalBudgets: 'PORTAL_BUDGETS',
  /**
   * Install endpoint, and (config `install.enabled`) the poller and consumers: the Secrets Manager name of the
   * app secret {clientId, clientSecret} that app-install sources renew their tokens with. @default `<prefix>/app`
   */
  appSecretName: 'APP_SECRET_NAME',
} as const;
