// The consumer Lambda's environment (set by lib/ and the local runtime), read
// and validated on the first invocation, never at import time.
import * as z from 'zod';
import { ENV } from '../shared/observability.js';
import { DEFAULT_MAX_ATTEMPTS } from '../shared/topology.js';
import { ConsumerConfigError } from './errors.js';

const sourceSchema = z.looseObject({
  id: z.string().min(1),
  kind: z.enum(['user', 'bot']),
  portal: z.string().min(1),
  auth: z.enum(['webhook', 'oauth']),
  secretName: z.string().min(1).optional(),
  botId: z.number().int().positive().optional(),
});

export type ConsumerSource = z.output<typeof sourceSchema>;

export interface ConsumerEnvironment {
  /** Route key served (ROUTE). */
  readonly route: string | undefined;
  /** IDEMPOTENCY_TABLE_NAME; without it every delivery runs (warned once). */
  readonly idempotencyTableName: string | undefined;
  /** STATE_TABLE_NAME: OAuth tokens of the sources. */
  readonly stateTableName: string | undefined;
  /** PAYLOAD_BUCKET_NAME: claim checks. */
  readonly payloadBucketName: string | undefined;
  /** PIPELINE_PREFIX: default secret names `<prefix>/sources/<id>`. @default "b24" */
  readonly prefix: string;
  /**
   * REGISTRY_TABLE_NAME: the source registry, where ctx.bitrix24 looks a source up (what lib/ sets; issue 13).
   * @default none: only SOURCES
   */
  readonly registryTableName: string | undefined;
  /**
   * SOURCES: JSON array of {id, kind, portal, auth, secretName?, botId?}; sources listed here are not looked up
   * in the registry (the local runtime and tests set it; lib/ no longer does: it passed 4 KB at ~35 sources). @default []
   */
  readonly sources: readonly ConsumerSource[];
  /** QUEUE_URL: the route's queue (retry backoff via ChangeMessageVisibility). */
  readonly queueUrl: string | undefined;
  /** DEAD_LETTER_QUEUE_URL: the route's DLQ (the consumer dead-letters records itself). */
  readonly deadLetterQueueUrl: string | undefined;
  /** MAX_ATTEMPTS: failed attempts per event before it is dead-lettered, 1–100. @default 5 */
  readonly maxAttempts: number;
  /** PORTAL_BUDGETS: request rates per portal, JSON (functions/budget/rates.ts). @default 2/s, burst 10 per portal */
  readonly portalBudgets: string | undefined;
  /** APP_SECRET_NAME: the app secret app-install sources renew with (lib/ sets it with config `install.enabled`). @default `<prefix>/app` */
  readonly appSecretName: string | undefined;
}

function optional(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function readConsumerEnvironment(env: NodeJS.ProcessEnv = process.env): ConsumerEnvironment {
  const rawSources = optional(env, ENV.sources);
  let sources: ConsumerSource[] = [];
  if (rawSources !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(rawSources);
    } catch (error) {
      throw new ConsumerConfigError(`${ENV.sources} is not JSON: set it to an array like [{"id":"demo","kind":"user","portal":"example.bitrix24.com","auth":"webhook"}].`, { cause: error });
    }
    const parsed = z.array(sourceSchema).safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
      throw new ConsumerConfigError(`${ENV.sources} is invalid (${issues}); each source needs id, kind, portal and auth.`);
    }
    sources = parsed.data;
  }
  const rawMaxAttempts = optional(env, ENV.maxAttempts);
  const maxAttempts = rawMaxAttempts === undefined ? DEFAULT_MAX_ATTEMPTS : Number(rawMaxAttempts);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) {
    throw new ConsumerConfigError(`${ENV.maxAttempts} must be an integer 1–100 (failed attempts per event before it is dead-lettered); got ${JSON.stringify(rawMaxAttempts)}.`);
  }
  return {
    queueUrl: optional(env, ENV.queueUrl),
    deadLetterQueueUrl: optional(env, ENV.deadLetterQueueUrl),
    maxAttempts,
    portalBudgets: optional(env, ENV.portalBudgets),
    appSecretName: optional(env, ENV.appSecretName),
    route: optional(env, ENV.route),
    idempotencyTableName: optional(env, ENV.idempotencyTableName),
    stateTableName: optional(env, ENV.stateTableName),
    payloadBucketName: optional(env, ENV.payloadBucketName),
    prefix: optional(env, ENV.prefix) ?? 'b24',
    registryTableName: optional(env, ENV.registryTableName),
    sources,
  };
}
