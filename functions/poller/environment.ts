// The poller Lambda's environment, read and validated once per container (on
// the first invocation, never at import time).
import * as z from 'zod';
import { defaultAppSecretName } from '../install/install-credentials.js';
import { ENV } from '../shared/observability.js';
import { CATCH_ALL_ROUTE } from '../shared/topology.js';
import { PollerConfigError } from './errors.js';

export interface PollerEnvironment {
  readonly stateTableName: string;
  /** Route key → queue URL (includes the catch-all). */
  readonly queueUrls: Readonly<Record<string, string>>;
  /** Event type → route key. */
  readonly routes: Readonly<Record<string, string>>;
  readonly payloadBucketName: string;
  readonly prefix: string;
  /** Fleet mode: the source registry table (REGISTRY_TABLE_NAME). */
  readonly registryTableName?: string;
  /** Fleet mode: sources one shard invocation holds at once (SOURCES_PER_INVOCATION). @default 50 */
  readonly sourcesPerInvocation: number;
  /** Fleet mode: per-portal request rates (PORTAL_BUDGETS, JSON; functions/budget/rates.ts). @default 2/s, burst 10 for every portal */
  readonly portalBudgets?: string;
  /** Fleet mode: the app secret app-install sources renew with (APP_SECRET_NAME; set with config `install.enabled`). @default `<prefix>/app` */
  readonly appSecretName: string;
}

const jsonRecord = (name: string) =>
  z.string().transform((text, ctx) => {
    try {
      const parsed: unknown = JSON.parse(text);
      const record = z.record(z.string(), z.string().min(1)).safeParse(parsed);
      if (record.success) return record.data;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: 'custom', message: `${name} must be a JSON object of strings` });
    return z.NEVER;
  });

const schema = z.object({
  [ENV.stateTableName]: z.string().min(1),
  [ENV.queueUrls]: jsonRecord(ENV.queueUrls).refine((urls) => urls[CATCH_ALL_ROUTE] !== undefined, {
    message: `needs the catch-all route "${CATCH_ALL_ROUTE}"`,
  }),
  [ENV.routes]: jsonRecord(ENV.routes),
  [ENV.payloadBucketName]: z.string().min(1),
  [ENV.prefix]: z.string().min(1),
  [ENV.registryTableName]: z.string().min(1).optional(),
  [ENV.sourcesPerInvocation]: z.coerce.number().int().min(1).max(500).default(50),
  PORTAL_BUDGETS: z.string().optional(),
  [ENV.appSecretName]: z.string().min(1).optional(),
});

export function readPollerEnvironment(env: Readonly<Record<string, string | undefined>>): PollerEnvironment {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  - ${issue.path.map(String).join('.') || '(env)'}: ${issue.message}`).join('\n');
    throw new PollerConfigError(`The poller's environment is incomplete or invalid:\n${problems}\nThe CDK construct sets these; locally, set them as the README shows.`);
  }
  const data = result.data;
  return {
    stateTableName: data[ENV.stateTableName],
    queueUrls: data[ENV.queueUrls],
    routes: data[ENV.routes],
    payloadBucketName: data[ENV.payloadBucketName],
    prefix: data[ENV.prefix],
    sourcesPerInvocation: data[ENV.sourcesPerInvocation],
    appSecretName: data[ENV.appSecretName] ?? defaultAppSecretName(data[ENV.prefix]),
    ...(data[ENV.registryTableName] === undefined ? {} : { registryTableName: data[ENV.registryTableName] }),
    ...(data.PORTAL_BUDGETS === undefined ? {} : { portalBudgets: data.PORTAL_BUDGETS }),
  };
}
