import { describe, expect, it } from 'vitest';
import { ClaimCheckReadError, PoisonMessageError } from '../../../functions/consumers/errors.js';
import { parseEnvelope, readEnvelope, type PayloadStore } from '../../../functions/consumers/envelope-reader.js';
import { envelopeOf, messageAddIn } from './factories.js';

function poisonOf(body: string): PoisonMessageError {
  try {
    parseEnvelope(body);
  } catch (error) {
    if (error instanceof PoisonMessageError) return error;
    throw error;
  }
  throw new Error('expected a PoisonMessageError');
}

const stored = envelopeOf(messageAddIn(5, 77));
const claim = {
  schemaVersion: 1,
  sourceId: 'demo',
  portal: stored.portal,
  receivedAt: stored.receivedAt,
  eventRef: { bucket: 'payloads', key: 'k/77.json', eventId: 77, type: 'ONIMV2MESSAGEADD', sizeBytes: 300_000 },
};

function storeWith(objects: Record<string, string>): PayloadStore {
  return {
    getText: (bucket, key) => {
      const text = objects[`${bucket}/${key}`];
      return text === undefined ? Promise.reject(new Error('NoSuchKey')) : Promise.resolve(text);
    },
  };
}

describe('envelope reader', () => {
  it('parses an inline envelope', () => {
    expect(parseEnvelope(JSON.stringify(stored))).toEqual(stored);
  });

  it.each([
    ['invalid JSON', '{oops', 'invalid-json'],
    ['a JSON string', '"just text"', 'unknown-schema-version'],
    ['an unknown schemaVersion', JSON.stringify({ ...stored, schemaVersion: 2 }), 'unknown-schema-version'],
    ['no sourceId', JSON.stringify({ ...stored, sourceId: undefined }), 'invalid-envelope'],
    ['an eventId that is a string', JSON.stringify({ ...stored, event: { ...stored.event, eventId: '77' } }), 'invalid-envelope'],
  ])('names %s as the poison reason', (_what, body, reason) => {
    const error = poisonOf(body);

    expect(error.reason).toBe(reason);
    expect(error.message).toContain('DLQ');
  });

  it('names the bad path of an invalid envelope', () => {
    expect(poisonOf(JSON.stringify({ ...stored, event: { ...stored.event, eventId: '77' } })).detail).toContain('envelope.event.eventId');
  });

  it('resolves a claim check from the payload store', async () => {
    const envelope = await readEnvelope(JSON.stringify(claim), storeWith({ 'payloads/k/77.json': JSON.stringify(stored) }));

    expect(envelope).toEqual(stored);
  });

  it('treats an unreadable claim check as transient', async () => {
    await expect(readEnvelope(JSON.stringify(claim), storeWith({}))).rejects.toBeInstanceOf(ClaimCheckReadError);
    await expect(readEnvelope(JSON.stringify(claim), undefined)).rejects.toBeInstanceOf(ClaimCheckReadError);
  });

  it('rejects a claim-check object that holds another event', async () => {
    const other = envelopeOf(messageAddIn(5, 78));

    await expect(readEnvelope(JSON.stringify(claim), storeWith({ 'payloads/k/77.json': JSON.stringify(other) }))).rejects.toMatchObject({
      reason: 'invalid-claim-check',
    });
  });
});
