// Bundle size of the Lambdas (issue 14: poller ≤ 600 KB minified), built the
// way the construct builds them. A size check, not a timing one: the cold
// start is measured by `npx tsx bench/cold-start-run.ts` (docs/package.md).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { ESBUILD_LIKE_CDK } from '../../bench/cold-start.js';
import { CONSUMER_ENTRY, POLLER_ENTRY } from '../../bench/cold-start-bench.js';
import { LAMBDA_BUNDLE_ALIASES, LAMBDA_BUNDLING } from '../../lib/parts/pipeline-function.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const POLLER_MAX_BYTES = 600_000;
/**
 * The default consumer keeps the S3 client (claim checks are read with GetObject), Powertools idempotency and the
 * client of installed sources (their install record's read side, the app secret, InstalledSourceClient: +5.5 KB).
 */
const CONSUMER_MAX_BYTES = 765_000;

async function bundle(entry: string): Promise<{ bytes: number; inputs: string[] }> {
  const result = await build({
    ...ESBUILD_LIKE_CDK,
    mainFields: [...ESBUILD_LIKE_CDK.mainFields],
    entryPoints: [resolve(repoRoot, entry)],
    write: false,
    outfile: 'index.mjs',
    metafile: true,
  });
  const metafile: Metafile = result.metafile;
  const output = Object.values(metafile.outputs)[0];
  return { bytes: output?.bytes ?? Number.NaN, inputs: Object.keys(output?.inputs ?? {}) };
}

const packagesIn = (inputs: readonly string[]): Set<string> =>
  new Set(inputs.flatMap((path) => [...path.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].map((m) => m[1] ?? '')));

describe('Lambda bundles', () => {
  it('the bench bundles like the construct (same format, target, minify, main fields, banner, aliases)', () => {
    expect(ESBUILD_LIKE_CDK).toMatchObject({
      format: LAMBDA_BUNDLING.format,
      target: LAMBDA_BUNDLING.target,
      minify: LAMBDA_BUNDLING.minify,
      mainFields: LAMBDA_BUNDLING.mainFields,
      banner: { js: LAMBDA_BUNDLING.banner },
      alias: LAMBDA_BUNDLE_ALIASES,
    });
    expect(LAMBDA_BUNDLING.esbuildArgs).toEqual({ '--alias': Object.entries(LAMBDA_BUNDLE_ALIASES).map(([from, to]) => `${from}=${to}`) });
    expect(LAMBDA_BUNDLING.externalModules).toEqual([]);
  });

  it(`the poller is at most ${POLLER_MAX_BYTES} bytes minified, without undici, the S3 client or the SDK's non-Lambda credential providers`, async () => {
    const { bytes, inputs } = await bundle(POLLER_ENTRY);
    const packages = packagesIn(inputs);

    expect(bytes).toBeLessThanOrEqual(POLLER_MAX_BYTES);
    const unwanted = ['undici', '@aws-sdk/client-s3', '@aws-sdk/credential-provider-node', '@aws-sdk/credential-provider-ini', '@aws-sdk/credential-provider-sso', '@aws-sdk/nested-clients'];
    expect(unwanted.filter((name) => packages.has(name))).toEqual([]);
    expect(packages).toContain('@aws-sdk/credential-provider-env');
  });

  it(`the default consumer is at most ${CONSUMER_MAX_BYTES} bytes minified, without undici or the non-Lambda credential providers`, async () => {
    const { bytes, inputs } = await bundle(CONSUMER_ENTRY);
    const packages = packagesIn(inputs);

    expect(bytes).toBeLessThanOrEqual(CONSUMER_MAX_BYTES);
    expect(['undici', '@aws-sdk/credential-provider-node', '@aws-sdk/nested-clients'].filter((name) => packages.has(name))).toEqual([]);
  });
});
