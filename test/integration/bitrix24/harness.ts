// Shared set-up of the client's integration tests: a fake clock and sleep that
// record every wait, a logger that captures every line, and a secret scanner
// that every test file runs over everything it captured (log lines, errors
// with their cause chains, JSON and inspect output).
import { inspect } from 'node:util';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { expect } from 'vitest';
import { type Bitrix24Logger } from '../../../functions/bitrix24/logger.js';
import { STATE_TABLE } from '../../../functions/shared/topology.js';

export interface FakeTime {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  advance: (ms: number) => void;
  readonly waits: number[];
}

/** A clock that only moves when told to or when the client sleeps. Sleeping is instant. */
export function fakeTime(start = 1_750_000_000_000): FakeTime {
  let clock = start;
  const waits: number[] = [];
  return {
    now: () => clock,
    sleep: (ms) => {
      waits.push(ms);
      clock += ms;
      return Promise.resolve();
    },
    advance: (ms) => {
      clock += ms;
    },
    waits,
  };
}

/** Everything a test file saw that could carry a secret. */
export class Capture {
  readonly lines: string[] = [];
  readonly errors: unknown[] = [];
  readonly secrets = new Set<string>();

  readonly logger: Bitrix24Logger = {
    debug: (message, attributes) => this.#line('debug', message, attributes),
    info: (message, attributes) => this.#line('info', message, attributes),
    warn: (message, attributes) => this.#line('warn', message, attributes),
    error: (message, attributes) => this.#line('error', message, attributes),
  };

  #line(level: string, message: string, attributes?: Record<string, unknown>): void {
    this.lines.push(`${level} ${message} ${attributes === undefined ? '' : JSON.stringify(attributes)}`);
  }

  secret(...values: (string | undefined)[]): void {
    for (const value of values) if (value !== undefined && value !== '') this.secrets.add(value);
  }

  /** Awaits a promise that must reject; records the error for the scan and returns it. */
  async rejection(promise: Promise<unknown>): Promise<unknown> {
    const error = await promise.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (caught: unknown) => caught,
    );
    this.errors.push(error);
    return error;
  }

  /** Every text form of every captured thing. */
  texts(): string[] {
    const out = [...this.lines];
    for (const error of this.errors) {
      let current: unknown = error;
      for (let depth = 0; current !== undefined && depth < 10; depth += 1) {
        out.push(current instanceof Error ? current.toString() : inspect(current), JSON.stringify(current) ?? '', inspect(current, { depth: 10, showHidden: true }));
        if (current instanceof Error) out.push(current.message, current.stack ?? '');
        current = current instanceof Error ? current.cause : undefined;
      }
    }
    return out;
  }

  /** Fails if any captured text contains any registered secret, or if fewer than `minTexts` texts were captured (a vacuous scan). Returns how many were scanned. */
  assertNoSecrets(minTexts = 1): number {
    const texts = this.texts();
    if (texts.length < minTexts || this.secrets.size === 0) expect.fail(`the secret scan is vacuous: ${texts.length} texts, ${this.secrets.size} secrets`);
    for (const secret of this.secrets) {
      for (const text of texts) {
        if (text.includes(secret)) expect.fail(`a secret (${secret.length} chars) leaked into: ${text.replaceAll(secret, '<<SECRET>>').slice(0, 400)}`);
      }
    }
    return texts.length;
  }
}

/** A table with the state table's key layout (the token store's home). */
export async function createStateTable(dynamoDb: DynamoDBClient, name: string): Promise<void> {
  await dynamoDb.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: STATE_TABLE.partitionKey, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: STATE_TABLE.partitionKey, KeyType: 'HASH' }],
    }),
  );
}

/** Runs `run` with process.stdout and stderr captured (Powertools loggers write warnings to stderr, EMF metrics to stdout); returns the lines. */
export async function captureOutput<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write.bind(stream));
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      lines.push(...text.split('\n').filter((line) => line !== ''));
      return true;
    });
  }
  try {
    return { result: await run(), lines };
  } finally {
    streams.forEach((stream, index) => {
      const original = originals[index];
      if (original !== undefined) stream.write = original;
    });
  }
}

/**
 * SDK middleware on `client` that fails its token writes (UpdateItem/PutItem)
 * while `remaining > 0`, the way a throttled table does. Returns the counters.
 */
export function failingTokenSaves(client: DynamoDBClient): { remaining: number; thrown: number } {
  const failures = { remaining: 0, thrown: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if ((context.commandName === 'UpdateItemCommand' || context.commandName === 'PutItemCommand') && failures.remaining > 0) {
        failures.remaining -= 1;
        failures.thrown += 1;
        const throttled = new Error('Rate of requests exceeds the allowed throughput.');
        throttled.name = 'ProvisionedThroughputExceededException';
        throw throttled;
      }
      return await next(args);
    },
    { step: 'initialize', name: 'failTokenSaves' },
  );
  return failures;
}
