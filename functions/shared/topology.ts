// The single definition of the pipeline's storage: tables, queues and routing.
// The CDK construct (lib/) and the local runtime (functions/local/) both build
// their resources from this file, so the demo runs against exactly what
// `cdk deploy` creates. Pure data and functions: no AWS SDK, no CDK imports.
import { type KnownEventType } from './event-types.js';

/** Route key of the queue that receives every event type with no route. */
export const CATCH_ALL_ROUTE = 'unknown';

/** Default routing: event type → route key (one FIFO queue per route). */
export const DEFAULT_ROUTES: Readonly<Record<KnownEventType, string>> = {
  ONIMV2MESSAGEADD: 'message-add',
  ONIMV2MESSAGEUPDATE: 'message-update',
  ONIMV2MESSAGEDELETE: 'message-delete',
  ONIMV2REACTIONCHANGE: 'reaction-change',
  ONIMV2JOINCHAT: 'join-chat',
  ONIMBOTV2MESSAGEADD: 'bot-message-add',
  ONIMBOTV2MESSAGEUPDATE: 'bot-message-update',
  ONIMBOTV2MESSAGEDELETE: 'bot-message-delete',
  ONIMBOTV2REACTIONCHANGE: 'bot-reaction-change',
  ONIMBOTV2COMMANDADD: 'bot-command-add',
  ONIMBOTV2JOINCHAT: 'bot-join-chat',
  ONIMBOTV2CONTEXTGET: 'bot-context-get',
  ONIMBOTV2DELETE: 'bot-delete',
};

/** Route keys become queue names: lower-case letters, digits and dashes. */
export const ROUTE_KEY_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** Every route key a routing table uses, plus the catch-all, sorted and unique. */
export function routeKeys(routes: Readonly<Record<string, string>>): string[] {
  return [...new Set([...Object.values(routes), CATCH_ALL_ROUTE])].sort();
}

/** The route key for an event type: its configured route, or the catch-all. */
export function routeFor(routes: Readonly<Record<string, string>>, eventType: string): string {
  return Object.hasOwn(routes, eventType) ? (routes[eventType] ?? CATCH_ALL_ROUTE) : CATCH_ALL_ROUTE;
}

export function queueName(prefix: string, route: string): string {
  return `${prefix}-${route}.fifo`;
}

export function deadLetterQueueName(prefix: string, route: string): string {
  return `${prefix}-${route}-dlq.fifo`;
}

/** Source state (lease, offset, subscription) and OAuth token items. */
export const STATE_TABLE = {
  partitionKey: 'pk',
  timeToLiveAttribute: 'expiresAt',
} as const;

/** Consumer idempotency records (Powertools idempotency layout). */
export const IDEMPOTENCY_TABLE = {
  partitionKey: 'id',
  timeToLiveAttribute: 'expiration',
} as const;

export function stateTableName(prefix: string): string {
  return `${prefix}-state`;
}

export function idempotencyTableName(prefix: string): string {
  return `${prefix}-idempotency`;
}

/** Settings every per-route queue and its DLQ share, in AWS and locally. */
export const QUEUE_SETTINGS = {
  /** 14 days: covers a long weekend's outage of the consumers with room to spare. */
  retentionSeconds: 14 * 24 * 60 * 60,
  /** Must exceed the consumer's timeout (SQS event source requirement). */
  visibilityTimeoutSeconds: 6 * 60,
  /** Deliveries before a message moves to the route's DLQ. */
  maxReceiveCount: 5,
  /** SQS's hard limit for one message body. */
  maxMessageBytes: 256 * 1024,
} as const;
