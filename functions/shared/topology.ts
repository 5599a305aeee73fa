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

/**
 * How events are spread over queues:
 *  - `per-type` (default): one FIFO queue per event type (DEFAULT_ROUTES), a
 *    consumer per type; order holds per chat WITHIN a type only;
 *  - `chat-ordered`: every known type of every source goes through one FIFO
 *    queue, route CHAT_ORDERED_ROUTE, message group per chat; one consumer
 *    dispatches by type, so a chat's add, edit, delete and reactions are
 *    handled in the order Bitrix24 recorded them. Unknown (new) types still
 *    go to the catch-all.
 */
export type Routing = 'per-type' | 'chat-ordered';

export const ROUTINGS: readonly Routing[] = ['per-type', 'chat-ordered'];

/** The one route of the chat-ordered routing. */
export const CHAT_ORDERED_ROUTE = 'chat-events';

/** Event type → route key for a routing. */
export function routesFor(routing: Routing, perTypeRoutes: Readonly<Record<string, string>> = DEFAULT_ROUTES): Readonly<Record<string, string>> {
  if (routing === 'per-type') return { ...perTypeRoutes };
  return Object.fromEntries(Object.keys(DEFAULT_ROUTES).map((type) => [type, CHAT_ORDERED_ROUTE]));
}

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

/** Failed attempts of one event before its consumer dead-letters it (config consumer.maxAttempts, env MAX_ATTEMPTS). */
export const DEFAULT_MAX_ATTEMPTS = 5;

/** Records per receive of a FIFO queue (one message group), and so per consumer batch at most. */
const FIFO_BATCH_LIMIT = 10;

/**
 * The queue's redrive `maxReceiveCount`: only a backstop, the consumer
 * dead-letters records itself. A healthy record is received once per failed
 * attempt of its own (≤ maxAttempts) and once per round it is held back behind
 * a failing predecessor of its chat in the same batch (≤ 9 predecessors ×
 * maxAttempts each), plus slack for crashed or timed-out invocations; the
 * backstop must never fire before that, or healthy records reach the DLQ.
 * SQS allows at most 1000.
 */
export function maxReceiveCountFor(maxAttempts: number): number {
  return Math.min(1000, maxAttempts * FIFO_BATCH_LIMIT + 5);
}

/** Settings every per-route queue and its DLQ share, in AWS and locally. */
export const QUEUE_SETTINGS = {
  /** 14 days: covers a long weekend's outage of the consumers with room to spare. */
  retentionSeconds: 14 * 24 * 60 * 60,
  /** Must exceed the consumer's timeout (SQS event source requirement). */
  visibilityTimeoutSeconds: 6 * 60,
  /** Deliveries before the queue itself moves a message to the route's DLQ: the backstop for the default maxAttempts. */
  maxReceiveCount: maxReceiveCountFor(DEFAULT_MAX_ATTEMPTS),
  /** SQS's hard limit for one message body. */
  maxMessageBytes: 256 * 1024,
} as const;
