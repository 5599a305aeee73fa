// The source registry port (issue 13): the sources the pipeline polls, known at
// run time instead of at synth. The CDK config's sources are seeded into it;
// the CLI (`sources add|…`) and the Marketplace install endpoint write to it;
// poller shards list it to claim leases; consumers read a source's portal and
// credentials from it (cached, refreshed on change).
//
// This file is the contract between those parts: the DynamoDB adapter, the
// CLI, the shards and the install flow implement or use exactly this.
import type { SourceConfig } from '../shared/config.js';

/** Where a source's credentials live; never the credentials themselves. */
export type SourceCredentialsRef =
  /** A Secrets Manager secret per source (webhook URL, or OAuth app + refresh token; optional botToken): source-secret.ts. */
  | { readonly kind: 'secret'; readonly secretName: string }
  /** A Marketplace install: tokens per `member_id` in the encrypted state table, the app's client id/secret in the app secret. */
  | { readonly kind: 'app-install'; readonly memberId: string };

/** Who last wrote the source. */
export type SourceOrigin = 'config' | 'cli' | 'install';

/** A source as the registry holds it: the validated config plus bookkeeping. */
export interface RegisteredSource {
  readonly config: SourceConfig;
  readonly credentials: SourceCredentialsRef;
  readonly origin: SourceOrigin;
  /** Bumped on every change (1 on creation); writers pass it back to update conditionally. */
  readonly version: number;
  /** ISO 8601 UTC of the last change. */
  readonly updatedAt: string;
}

export interface PutSourceOptions {
  readonly credentials: SourceCredentialsRef;
  readonly origin: SourceOrigin;
  /** Update only if the stored version is this one (0: only if absent). @default unconditional */
  readonly expectedVersion?: number;
}

export interface SourceRegistry {
  /** One source, or undefined when it is not registered (removed sources are gone). */
  get(sourceId: string): Promise<RegisteredSource | undefined>;
  /** Every registered source, enabled or not, ordered by id. */
  list(): Promise<readonly RegisteredSource[]>;
  /** Create or replace; throws a typed error when expectedVersion does not match. */
  put(config: SourceConfig, options: PutSourceOptions): Promise<RegisteredSource>;
  /** Enable or disable (a disabled source keeps its state and queues but is not polled). */
  setEnabled(sourceId: string, enabled: boolean): Promise<RegisteredSource>;
  /** Remove the source from the registry (its state item and queued events stay). */
  remove(sourceId: string): Promise<void>;
}
