// Dev mode's completion journal (functions/local/completion-journal.ts) on a
// real file, the --out log, and the journalled handlers inside the real
// consumer framework across a simulated crash + restart. No emulators: the
// crash is the one window kill -9 hit (the handler returned, the idempotency
// record never reached COMPLETED), modelled by a run-once guard that forgets.
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { createConsumerHandler, type ConsumerHandlers } from '../../../functions/consumers/consumer-handler.js';
import type { RunOnce } from '../../../functions/consumers/idempotency.js';
import type { Bitrix24Client } from '../../../functions/bitrix24/index.js';
import { type CompletionJournal, openCompletionJournal } from '../../../functions/local/completion-journal.js';
import { journalledHandlers } from '../../../functions/local/dev.js';
import { CompletionJournalError } from '../../../functions/local/errors.js';
import { handledLog } from '../../../functions/local/handled-log.js';
import { type Bitrix24Operation, observeBitrix24Client } from '../../../functions/local/observers.js';
import { messageGroupId } from '../../../functions/shared/envelope.js';
import type { RawBitrixEvent } from '../../../functions/shared/event-types.js';
import { capturingLogger, envelopeOf, messageAddIn } from '../../unit/consumers/factories.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'b24-journal-'));
  dirs.push(dir);
  return dir;
}

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8').catch(() => '')).split('\n').filter((line) => line !== '');
}

const context = { getRemainingTimeInMillis: () => 30_000, awsRequestId: 'req-1' } as Context;

function recordOf(event: RawBitrixEvent): SQSRecord {
  return {
    messageId: `m-${event.eventId}`,
    receiptHandle: `r-${event.eventId}`,
    body: JSON.stringify(envelopeOf(event)),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1', SenderId: 'x', ApproximateFirstReceiveTimestamp: '1', MessageGroupId: messageGroupId('demo', event) },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q.fifo',
    awsRegion: 'us-east-1',
  };
}

/** The idempotency record never reaches COMPLETED (kill -9 right after the work): every delivery runs the work. */
const forgetfulRunOnce: RunOnce = async (_key, work) => {
  await work();
  return true;
};

describe('completion journal', () => {
  it('keeps a recorded completion across a reopen (a restart) and its first time', async () => {
    const path = join(await tempDir(), 'completions.jsonl');
    const journal = await openCompletionJournal(path, () => Date.parse('2026-01-01T00:00:00.000Z'));
    expect(journal.completedAt('demo#1')).toBeUndefined();

    const at = await journal.record('demo#1');
    await journal.record('demo#1');
    await journal.close();
    const reopened = await openCompletionJournal(path);

    expect(at).toBe('2026-01-01T00:00:00.000Z');
    expect(reopened.loaded).toBe(1);
    expect(reopened.completedAt('demo#1')).toBe('2026-01-01T00:00:00.000Z');
    expect(await lines(path)).toHaveLength(1);
    await reopened.close();
  });

  it('group-commits concurrent completions: every key once, one line each', async () => {
    const path = join(await tempDir(), 'completions.jsonl');
    const journal = await openCompletionJournal(path);

    await Promise.all([...Array.from({ length: 50 }, (_, i) => journal.record(`demo#${i}`)), journal.record('demo#7'), journal.record('demo#7')]);
    await journal.close();

    const keys = (await lines(path)).map((line) => (JSON.parse(line) as { key: string }).key);
    expect(keys).toHaveLength(50);
    expect(new Set(keys).size).toBe(50);
  });

  it('cuts off a line torn by a crash and appends cleanly after it', async () => {
    const path = join(await tempDir(), 'completions.jsonl');
    await writeFile(path, `${JSON.stringify({ key: 'demo#1', completedAt: '2026-01-01T00:00:00.000Z' })}\n{"key":"demo#2","compl`);

    const journal = await openCompletionJournal(path);
    await journal.record('demo#3');
    await journal.close();

    expect(journal.loaded).toBe(1);
    expect(journal.completedAt('demo#2')).toBeUndefined();
    expect((await lines(path)).map((line) => (JSON.parse(line) as { key: string }).key)).toEqual(['demo#1', 'demo#3']);
  });

  it('fails with CompletionJournalError, naming the file, when it cannot be opened', async () => {
    const dir = await tempDir();
    await expect(openCompletionJournal(join(dir, 'missing-dir', 'completions.jsonl'))).rejects.toThrow(CompletionJournalError);
  });
});

describe('journalled handlers in the consumer framework, across a crash', () => {
  async function start(dir: string, calls: number[]): Promise<{ journal: CompletionJournal; deliver(event: RawBitrixEvent): Promise<string[]> }> {
    const journal = await openCompletionJournal(join(dir, 'completions.jsonl'));
    const user: ConsumerHandlers = {
      ONIMV2MESSAGEADD: (event) => {
        calls.push(event.eventId);
        return Promise.resolve();
      },
    };
    const { logger } = capturingLogger();
    const handled: string[] = [];
    const handler = createConsumerHandler({
      handlers: journalledHandlers(user, journal, handledLog(join(dir, 'events.jsonl')), (sourceId, eventId) => handled.push(`${sourceId}#${eventId}`)),
      logger,
      runOnce: forgetfulRunOnce,
      route: 'message-add',
    });
    return {
      journal,
      async deliver(event) {
        const response = await handler({ Records: [recordOf(event)] }, context);
        expect(response.batchItemFailures).toEqual([]);
        return handled.splice(0);
      },
    };
  }

  it('a handler that completed is not called again after a restart, and its --out line is written once', async () => {
    const dir = await tempDir();
    const calls: number[] = [];
    const event = messageAddIn(5, 41);

    const first = await start(dir, calls);
    expect(await first.deliver(event)).toEqual(['demo#41']);
    await first.journal.close(); // the process dies here: COMPLETED was never written, the message comes back
    const second = await start(dir, calls);
    expect(await second.deliver(event)).toEqual([]);
    await second.journal.close();

    expect(calls).toEqual([41]);
    const out = (await lines(join(dir, 'events.jsonl'))).map((line) => JSON.parse(line) as { handledAt: string; event: { eventId: number } });
    expect(out.map((line) => line.event.eventId)).toEqual([41]);
    expect(out[0]?.handledAt).toBe(second.journal.completedAt('demo#41'));
  });

  it('a crash between the journal and the --out line: the restart writes the missing line, once', async () => {
    const dir = await tempDir();
    const calls: number[] = [];
    const journal = await openCompletionJournal(join(dir, 'completions.jsonl'));
    await journal.record('demo#42'); // completed, then killed before its --out line
    await journal.close();
    await appendFile(join(dir, 'events.jsonl'), `${JSON.stringify({ handledAt: 'x', sourceId: 'demo', route: 'message-add', handler: 'ONIMV2MESSAGEADD', event: { eventId: 40 } })}\n`);

    const restarted = await start(dir, calls);
    await restarted.deliver(messageAddIn(5, 42));
    await restarted.deliver(messageAddIn(5, 42)); // delivered once more before its idempotency record completed
    await restarted.journal.close();

    expect(calls).toEqual([]);
    const ids = (await lines(join(dir, 'events.jsonl'))).map((line) => (JSON.parse(line) as { event: { eventId: number } }).event.eventId);
    expect(ids).toEqual([40, 42]);
  });

  it('a handler whose completion could not be journalled is not counted as handled and fails its record (retried)', async () => {
    const dir = await tempDir();
    const journal = await openCompletionJournal(join(dir, 'completions.jsonl'));
    const broken: CompletionJournal = { ...journal, record: () => Promise.reject(new CompletionJournalError('disk full')) };
    const handled: string[] = [];
    const { logger } = capturingLogger();
    const handler = createConsumerHandler({
      handlers: journalledHandlers({ ONIMV2MESSAGEADD: () => Promise.resolve() }, broken, handledLog(join(dir, 'events.jsonl')), (s, e) => handled.push(`${s}#${e}`)),
      logger,
      runOnce: forgetfulRunOnce,
    });

    const response = await handler({ Records: [recordOf(messageAddIn(5, 43))] }, context);
    await journal.close();

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-43' }]);
    expect(handled).toEqual([]);
    expect(await lines(join(dir, 'events.jsonl'))).toEqual([]);
  });
});

describe('observeBitrix24Client', () => {
  function fakeClient(): Bitrix24Client {
    return {
      portal: 'example.bitrix24.com',
      transportStats: { connectionsOpened: 0, requests: 0 },
      oauthRenewals: 0,
      getEvents: () => Promise.resolve({ events: [messageAddIn(1, 7)], nextOffset: 8, hasMore: false }),
      getBotEvents: () => Promise.resolve({ events: [], nextOffset: 0, hasMore: false }),
      subscribe: () => Promise.resolve(),
      unsubscribe: () => Promise.resolve(),
      call: <T>(method: string) => (method === 'im.message.add' ? Promise.resolve({ result: 5 as T }) : Promise.reject(new Error(`refused ${method}`))),
      close: () => Promise.resolve(),
      toString: () => 'Bitrix24Client(example.bitrix24.com, webhook)',
    };
  }

  it('runs the around hook on every operation, passes results and failures through, and reports pages', async () => {
    const seen: string[] = [];
    const pages: number[][] = [];
    const client = observeBitrix24Client(fakeClient(), {
      around: async (operation: Bitrix24Operation, run) => {
        seen.push(operation.kind === 'call' ? `call ${operation.method}` : operation.kind);
        return await run();
      },
      onEvents: (events) => pages.push(events.map((e) => e.eventId)),
    });

    const page = await client.getEvents({ offset: 1 });
    await client.subscribe();
    const answer = await client.call<number>('im.message.add', { DIALOG_ID: 'chat1', MESSAGE: 'hi' });
    await expect(client.call('im.chat.get')).rejects.toThrow('refused im.chat.get');

    expect(page.nextOffset).toBe(8);
    expect(answer.result).toBe(5);
    expect(pages).toEqual([[7]]);
    expect(seen).toEqual(['getEvents', 'subscribe', 'call im.message.add', 'call im.chat.get']);
    expect(String(client)).toBe('Bitrix24Client(example.bitrix24.com, webhook)');
  });
});
