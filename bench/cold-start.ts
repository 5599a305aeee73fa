// Cold start of the Lambda bundles: built with esbuild exactly as the CDK
// construct bundles them (LAMBDA_BUNDLING in lib/: ESM, node22, minified, SDK
// bundled), then, in a fresh `node` process per repetition, the time to import
// the bundle and the time of the first handler call against the local rig.
// Compared with a bare handler that only imports the AWS SDK clients.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { LAMBDA_BUNDLE_ALIASES } from '../lib/parts/pipeline-function.js';
import { BenchError } from './errors.js';
import { median } from './stats.js';

const run = promisify(execFile);

/** Mirrors LAMBDA_BUNDLING in lib/parts/pipeline-function.ts (kept in sync by hand; the CDK option names differ). */
export const ESBUILD_LIKE_CDK = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  mainFields: ['module', 'main'],
  banner: { js: "import { createRequire as __cr } from 'node:module';const require = __cr(import.meta.url);" },
  logLevel: 'silent',
  alias: LAMBDA_BUNDLE_ALIASES,
} as const;

export interface ColdStartTarget {
  readonly name: string;
  /** TypeScript entry, relative to the repository root, or inline source for `contents`. */
  readonly entry?: string;
  readonly contents?: string;
  readonly exportName?: string;
  /** The first invocation's event and the environment the function gets. */
  readonly event: unknown;
  /** A different event per repetition (e.g. a new event id, so the consumer is not answering a duplicate). */
  readonly eventFor?: (repetition: number) => unknown;
  readonly env: Readonly<Record<string, string>>;
  /** Runs before each repetition's process starts (e.g. state the previous scheduled run would have left). */
  readonly beforeRepetition?: (repetition: number) => Promise<void>;
}

export interface ColdStartResult {
  readonly name: string;
  readonly bytesMinified: number;
  readonly bytesGzipped: number;
  /** Median over repetitions, ms. */
  readonly importMs: number;
  readonly firstCallMs: number;
  /** Whole fresh process: spawn → handler returned → exit. */
  readonly processMs: number;
  readonly repetitions: number;
  /** Error of the first call, if it threw (the time is still what the call took). */
  readonly firstCallError?: string;
  readonly samples: { importMs: number[]; firstCallMs: number[]; processMs: number[] };
}

const RUNNER = `
const t0 = performance.now();
const mod = await import(process.env.BENCH_BUNDLE);
const t1 = performance.now();
const handler = mod[process.env.BENCH_EXPORT ?? 'handler'];
const context = { functionName: 'bench', awsRequestId: 'bench-1', getRemainingTimeInMillis: () => Number(process.env.BENCH_REMAINING_MS ?? 30000), callbackWaitsForEmptyEventLoop: false };
let error;
try { await handler(JSON.parse(process.env.BENCH_EVENT ?? '{}'), context); } catch (e) { error = (e && e.name ? e.name + ': ' : '') + String(e && e.message || e).slice(0, 200); }
const t2 = performance.now();
process.stdout.write('\\n' + JSON.stringify({ importMs: t1 - t0, firstCallMs: t2 - t1, error }) + '\\n');
process.exit(0);
`;

export async function measureColdStarts(
  targets: readonly ColdStartTarget[],
  options: { repetitions: number; nodeBinary: string; repoRoot: string },
): Promise<ColdStartResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'b24-bench-cold-'));
  try {
    const runner = join(dir, 'runner.mjs');
    await writeFile(runner, RUNNER);
    // Build every bundle first, then run the repetitions interleaved (A B C, A B C, …), so a change
    // in the machine's load during the run falls on every target alike, not on whichever ran then.
    const built: Array<{ target: ColdStartTarget; outfile: string; code: Buffer }> = [];
    for (const target of targets) {
      const outfile = join(dir, `${target.name}.mjs`);
      const minify = process.env.BENCH_NO_MINIFY !== '1'; // BENCH_NO_MINIFY=1 keeps module paths readable in a CPU profile
      if (target.entry !== undefined) {
        await build({ ...ESBUILD_LIKE_CDK, minify, entryPoints: [resolve(options.repoRoot, target.entry)], outfile, mainFields: [...ESBUILD_LIKE_CDK.mainFields] });
      } else if (target.contents !== undefined) {
        await build({
          ...ESBUILD_LIKE_CDK,
          minify,
          mainFields: [...ESBUILD_LIKE_CDK.mainFields],
          stdin: { contents: target.contents, resolveDir: options.repoRoot, loader: 'ts', sourcefile: `${target.name}.ts` },
          outfile,
        });
      } else {
        throw new BenchError(`cold start target ${target.name}: give entry or contents`);
      }
      built.push({ target, outfile, code: await readFile(outfile) });
    }
    const samplesOf = built.map(() => ({ importMs: [] as number[], firstCallMs: [] as number[], processMs: [] as number[] }));
    const firstCallErrors: Array<string | undefined> = built.map(() => undefined);
    // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir /tmp/prof", is passed to every node process.
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    for (let i = 0; i < options.repetitions; i += 1) {
      for (const [index, { target, outfile }] of built.entries()) {
        const samples = samplesOf[index];
        if (samples === undefined) continue;
        await target.beforeRepetition?.(i);
        const started = performance.now();
        const { stdout, stderr } = await run(options.nodeBinary, [...nodeArgs, runner], {
          cwd: dir,
          timeout: 60_000,
          maxBuffer: 16 * 1024 * 1024,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? dir,
            ...target.env,
            BENCH_BUNDLE: outfile,
            BENCH_EXPORT: target.exportName ?? 'handler',
            BENCH_EVENT: JSON.stringify(target.eventFor === undefined ? target.event : target.eventFor(i)),
          },
        });
        samples.processMs.push(performance.now() - started);
        if (process.env.BENCH_DEBUG === '1') process.stderr.write(`[cold ${target.name}] ${stdout}\n${stderr}\n`);
        const last = stdout.trim().split('\n').at(-1) ?? '{}';
        const parsed = JSON.parse(last) as { importMs: number; firstCallMs: number; error?: string };
        samples.importMs.push(parsed.importMs);
        samples.firstCallMs.push(parsed.firstCallMs);
        if (parsed.error !== undefined) firstCallErrors[index] = parsed.error;
      }
    }
    const results = built.map(({ target, code }, index): ColdStartResult => {
      const samples = samplesOf[index] ?? { importMs: [], firstCallMs: [], processMs: [] };
      const firstCallError = firstCallErrors[index];
      return {
        name: target.name,
        bytesMinified: code.byteLength,
        bytesGzipped: gzipSync(code, { level: 9 }).byteLength,
        importMs: median(samples.importMs),
        firstCallMs: median(samples.firstCallMs),
        processMs: median(samples.processMs),
        repetitions: options.repetitions,
        ...(firstCallError === undefined ? {} : { firstCallError }),
        samples,
      };
    });
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A handler that only imports and constructs the AWS SDK clients the pipeline uses: the floor. */
export const BARE_HANDLER_SOURCE = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
const clients = [new DynamoDBClient({}), new SQSClient({}), new S3Client({}), new SecretsManagerClient({})];
export const handler = async () => ({ clients: clients.length });
`;

/**
 * The same requests an idle scheduled poller run makes (the secret, the lease, subscribe,
 * mark subscribed, Event.get, commit, release), one after another, with nothing but the SDK
 * clients and node:http: the floor of the poller's first call. Its environment names the
 * secret and the state table (BENCH_SECRET, BENCH_TABLE).
 */
export const BARE_REQUESTS_HANDLER_SOURCE = `
import { request } from 'node:http';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
const dynamoDb = new DynamoDBClient({});
const secrets = new SecretsManagerClient({});
const clients = [dynamoDb, new SQSClient({}), new S3Client({}), secrets];
const post = (url, body) => new Promise((resolve, reject) => {
  const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
  });
  req.on('error', reject);
  req.end(JSON.stringify(body));
});
const update = (expression) => dynamoDb.send(new UpdateItemCommand({
  TableName: process.env.BENCH_TABLE, Key: { pk: { S: 'benchfloor' } }, UpdateExpression: expression,
  ExpressionAttributeValues: { ':now': { N: String(Date.now()) } },
}));
export const handler = async () => {
  const secret = await secrets.send(new GetSecretValueCommand({ SecretId: process.env.BENCH_SECRET }));
  const { webhookUrl } = JSON.parse(secret.SecretString);
  await update('SET leaseAcquiredAt = :now');
  await post(webhookUrl + 'im.v2.Event.subscribe.json', {});
  await update('SET subscribedAt = :now');
  const page = await post(webhookUrl + 'im.v2.Event.get.json', { limit: 50 });
  await update('SET committedAt = :now');
  await update('SET releasedAt = :now');
  return { clients: clients.length, page: page.result === undefined ? 'error' : 'ok' };
};
`;
