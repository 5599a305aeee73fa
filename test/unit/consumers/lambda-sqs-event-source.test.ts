import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { LocalUsageError } from '../../../functions/local/errors.js';
import { recordsToDelete, startSqsEventSource } from '../../../functions/local/lambda-sqs-event-source.js';

const records = ['a', 'b', 'c'].map((messageId) => ({ messageId }) as SQSRecord);

describe('local SQS event source: what gets deleted', () => {
  it('deletes everything after a void or empty answer', () => {
    expect(recordsToDelete(records, undefined)).toHaveLength(3);
    expect(recordsToDelete(records, { batchItemFailures: [] })).toHaveLength(3);
  });

  it('keeps the reported failures', () => {
    expect(recordsToDelete(records, { batchItemFailures: [{ itemIdentifier: 'b' }] }).map((r) => r.messageId)).toEqual(['a', 'c']);
  });

  it('keeps the whole batch when a failure names no record of it (as Lambda does)', () => {
    expect(recordsToDelete(records, { batchItemFailures: [{ itemIdentifier: 'zzz' }] })).toEqual([]);
    expect(recordsToDelete(records, { batchItemFailures: [{ itemIdentifier: '' }] })).toEqual([]);
  });

  it.each([
    [{ batchSize: 11 }, /batchSize/],
    [{ visibilityTimeoutSeconds: 0 }, /visibilityTimeoutSeconds/],
    [{ waitTimeSeconds: 21 }, /waitTimeSeconds/],
  ])('rejects %o before touching the queue', async (bad, message) => {
    const sqs = { send: () => Promise.reject(new Error('must not be called')) } as unknown as SQSClient;

    const started = startSqsEventSource({ sqs, queueUrl: 'http://q', handler: () => Promise.resolve(), ...bad });

    await expect(started).rejects.toBeInstanceOf(LocalUsageError);
    await expect(started).rejects.toThrow(message);
  });
});
