// The package as a user gets it: `npm pack` this repository, install the
// tarball into a fresh CDK app in a temporary directory (from the npm cache
// `npm ci` filled; CI also has the registry), synthesize the example app of
// docs/examples/cdk-app/ (the code README's "Use it in your CDK app" shows)
// with `node app.ts`, and run the installed `b24-pipeline` CLI on plain Node.
// Slow by nature (pack builds dist/, install unpacks aws-cdk-lib, synth
// bundles three Lambdas): one set-up for all the checks.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROUTES } from '../../functions/shared/topology.js';
import { codeBlocksOfSection } from './markdown.js';

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE_DIR = join(REPO_ROOT, 'docs/examples/cdk-app');
const EXAMPLE_FILES = ['app.ts', 'consumers/support-bot.ts'] as const;
/** The user's consumer module, as app.ts wires it. */
const USER_ENTRY = 'consumers/support-bot.ts';
/** A phrase only the user's consumer contains: it must end up in that route's bundle. */
const USER_MARKER = 'accounting will answer today';
/** Generous: on a loaded 2-core machine pack + install + synth take minutes; on an idle one about a minute. */
const SETUP_TIMEOUT_MS = 420_000;
const STEP_TIMEOUT_MS = 300_000;
/** Aborted after the tests, so no child outlives them (and rm does not race a synth still writing). */
const children = new AbortController();

interface RepoPackageJson {
  readonly name: string;
  readonly devDependencies: Readonly<Record<string, string>>;
}

interface CfnResource {
  readonly Type: string;
  readonly Properties: { readonly Description?: string; readonly Code?: { readonly S3Key?: unknown } };
}

/**
 * The environment of every child: Node 22 (the one running the tests) first
 * on PATH, no npm_* variables of an outer `npm test` (they would point the
 * nested npm at this repository), no AWS account.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.toLowerCase().startsWith('npm_') || key.startsWith('CDK_') || key.startsWith('AWS_')) continue;
    env[key] = value;
  }
  return {
    ...env,
    PATH: [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    NO_UPDATE_NOTIFIER: '1',
  };
}

async function sh(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = childEnv()): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(command, [...args], { cwd, env, timeout: SETUP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, signal: children.signal, killSignal: 'SIGKILL' });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${failed.message}\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`, { cause: error });
  }
}

describe('the npm package in a fresh CDK app', () => {
  let work = '';
  let app = '';
  let tarball = '';

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'b24-pack-install-'));
    const repoPackage = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as RepoPackageJson;
    // `npm pack` runs prepack (npm run build → dist/) and writes the tarball.
    const packed = await sh('npm', ['pack', '--json', '--pack-destination', work], REPO_ROOT);
    const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string }>;
    tarball = join(work, report[0]?.filename ?? 'missing.tgz');

    app = join(work, 'support-bot-app');
    await cp(EXAMPLE_DIR, app, { recursive: true });
    const dependencies = {
      [repoPackage.name]: `file:${tarball}`,
      // The user's own CDK (peer dependencies of the package) and the esbuild NodejsFunction bundles with.
      'aws-cdk-lib': repoPackage.devDependencies['aws-cdk-lib'],
      constructs: repoPackage.devDependencies.constructs,
      esbuild: repoPackage.devDependencies.esbuild,
    };
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'support-bot-app', private: true, type: 'module', dependencies }, null, 2));
    await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], app);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    children.abort();
    if (work !== '') await rm(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  });

  it('ships compiled JS and types, and no tests or TypeScript sources', async () => {
    const { stdout } = await sh('tar', ['-tzf', tarball], work);
    const files = stdout.split('\n').filter((line) => line !== '').map((line) => line.replace(/^package\//, ''));
    for (const entry of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/functions/consumers/index.js', 'dist/functions/bitrix24/index.js', 'dist/functions/testing/index.js', 'dist/bin/b24-pipeline.js', 'dist/functions/poller/handler.js']) {
      expect(files).toContain(entry);
    }
    expect(files.filter((file) => file.startsWith('test/') || file.includes('.test.'))).toEqual([]);
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.startsWith('docs/examples/'))).toEqual([]);
  }, STEP_TIMEOUT_MS);

  it('synthesizes the example app: default poller and consumers from the package, the user consumer on every route it handles', async () => {
    const outdir = join(app, 'cdk.out');
    await sh(process.execPath, ['app.ts'], app, { ...childEnv(), CDK_OUTDIR: outdir });
    const template = JSON.parse(await readFile(join(outdir, 'SupportBot.template.json'), 'utf8')) as { Resources: Record<string, CfnResource> };
    const functions = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
    const described = functions.map((fn) => fn.Properties.Description ?? '');
    expect(described.some((text) => text.includes("polls the registered sources' Event.get"))).toBe(true);

    // The routes the user's module is wired to are exactly those of the types it handles.
    const probe = `const m = await import('./${USER_ENTRY}'); process.stdout.write(JSON.stringify(Object.keys(m.handler.handlers)));`;
    const { stdout } = await sh(process.execPath, ['--input-type=module', '-e', probe], app);
    const handledTypes = JSON.parse(stdout) as Array<keyof typeof DEFAULT_ROUTES>;
    const expectedRoutes = handledTypes.map((type) => DEFAULT_ROUTES[type]).sort();
    const wiredRoutes = described
      .filter((text) => text.includes(`(${USER_ENTRY})`))
      .map((text) => /route "([^"]+)"/.exec(text)?.[1])
      .sort();
    expect(wiredRoutes).toEqual(expectedRoutes);
    expect(expectedRoutes.length).toBeGreaterThan(0);

    // Every asset was bundled; the user's code is in its bundle and only there.
    const assets = (await readdir(outdir)).filter((name) => name.startsWith('asset.'));
    const bundles = await Promise.all(assets.map(async (asset) => await readFile(join(outdir, asset, 'index.mjs'), 'utf8')));
    expect(bundles).toHaveLength(4); // poller, registry seed, default consumer, the user's consumer
    expect(bundles.filter((code) => code.includes(USER_MARKER))).toHaveLength(1);
  }, STEP_TIMEOUT_MS);

  it('runs the installed b24-pipeline CLI on plain Node', async () => {
    const { stdout } = await sh(join(app, 'node_modules/.bin/b24-pipeline'), ['--help'], app);
    expect(stdout).toContain('Usage: b24-pipeline <command>');
  }, STEP_TIMEOUT_MS);

  it('is what README "Use it in your CDK app" shows, verbatim', async () => {
    const blocks = codeBlocksOfSection(await readFile(join(REPO_ROOT, 'README.md'), 'utf8'), 'Use it in your CDK app');
    for (const file of EXAMPLE_FILES) {
      const code = (await readFile(join(EXAMPLE_DIR, file), 'utf8')).trim();
      expect(blocks.map((block) => block.code.trim()), `README block for ${file}`).toContain(code);
    }
  });
});
