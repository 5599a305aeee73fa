// Seeding (issue 13): the sources of the CDK config are written into the
// registry at deploy, so existing configurations keep working, by one custom
// resource whatever their number. Its properties carry the list gzip+base64
// (1000 sources ≈ 20 KB: far under CloudFormation's limits, and no S3 asset).
//
// Rules, applied on every Create/Update of the custom resource:
//  - every config source is put unconditionally with origin "config" (the
//    config owns it: a CLI edit of it lasts until the next deploy that changes
//    the config);
//  - a registered source of origin "config" that left the config is removed
//    (as its schedule used to be); sources the CLI or install flow added stay;
//  - with secrets "create", each config source's secret is created with a
//    random placeholder when it does not exist (never overwritten).
// Delete does nothing: the registry and the secrets outlive the stack.
import { gunzipSync, gzipSync } from 'node:zlib';
import * as z from 'zod';
import { type SourceConfig, parseSourceConfig, secretNameOf } from '../shared/config.js';
import { InvalidSourceError } from './errors.js';
import type { SourceRegistry } from './source-registry.js';

/** The custom resource's properties (besides ServiceToken). */
export interface RegistrySeedProperties {
  readonly Prefix: string;
  /** `create`: create missing placeholder secrets; `import`: the secrets exist already. */
  readonly Secrets: 'create' | 'import';
  /** gzip + base64 of the JSON array of validated config sources. */
  readonly SourcesGzipBase64: string;
  /** For the reader of the template; not used by the handler. */
  readonly SourceCount: string;
}

export function encodeSeedSources(sources: readonly SourceConfig[]): string {
  return gzipSync(Buffer.from(JSON.stringify(sources), 'utf8'), { level: 9 }).toString('base64');
}

export function decodeSeedSources(encoded: string): SourceConfig[] {
  let json: unknown;
  try {
    json = JSON.parse(gunzipSync(Buffer.from(encoded, 'base64')).toString('utf8'));
  } catch (error) {
    throw new InvalidSourceError('Registry seed: SourcesGzipBase64 is not gzip+base64 JSON; redeploy with this version of the construct.', undefined, { cause: error });
  }
  if (!Array.isArray(json)) throw new InvalidSourceError('Registry seed: the sources are not a JSON array.');
  return json.map((source, index) => parseSourceConfig(source, `seeded source [${index}]`));
}

const propertiesSchema = z.looseObject({
  Prefix: z.string().min(1),
  Secrets: z.enum(['create', 'import']),
  SourcesGzipBase64: z.string(),
});

export function parseSeedProperties(input: unknown): { prefix: string; secrets: 'create' | 'import'; sources: SourceConfig[] } {
  const parsed = propertiesSchema.safeParse(input);
  if (!parsed.success) throw new InvalidSourceError(`Registry seed: invalid properties (${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}).`);
  return { prefix: parsed.data.Prefix, secrets: parsed.data.Secrets, sources: decodeSeedSources(parsed.data.SourcesGzipBase64) };
}

/** Creates a placeholder secret when none has the name. Never reads or overwrites a value. */
export interface PlaceholderSecrets {
  createIfMissing(secretName: string, description: string): Promise<'created' | 'exists'>;
}

export interface SeedOutcome {
  readonly seeded: number;
  readonly removed: readonly string[];
  readonly secretsCreated: number;
}

/** Writes the config sources into the registry (see the rules above). `concurrency` bounds parallel writes. */
export async function seedRegistry(input: {
  registry: SourceRegistry;
  prefix: string;
  sources: readonly SourceConfig[];
  secrets?: PlaceholderSecrets;
  concurrency?: number;
}): Promise<SeedOutcome> {
  const wanted = new Set(input.sources.map((s) => s.id));
  let secretsCreated = 0;
  const queue = [...input.sources];
  const worker = async (): Promise<void> => {
    for (let source = queue.shift(); source !== undefined; source = queue.shift()) {
      const secretName = secretNameOf(input.prefix, source);
      if (input.secrets !== undefined) {
        const created = await input.secrets.createIfMissing(
          secretName,
          `Bitrix24 ${source.auth} credentials of source "${source.id}" (${source.portal}). Replace the generated placeholder with the JSON described in docs/deploy.md.`,
        );
        if (created === 'created') secretsCreated += 1;
      }
      await input.registry.put(source, { credentials: { kind: 'secret', secretName }, origin: 'config' });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, input.concurrency ?? 8) }, worker));
  const removed: string[] = [];
  for (const registered of await input.registry.list()) {
    if (registered.origin === 'config' && !wanted.has(registered.config.id)) {
      await input.registry.remove(registered.config.id);
      removed.push(registered.config.id);
    }
  }
  return { seeded: input.sources.length, removed, secretsCreated };
}
