import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REDACTED, SecretRedactor, redactPatterns, redactUrl } from '../../../functions/bitrix24/redact.js';
import { InvalidArgumentError, InsecureUrlError } from '../../../functions/bitrix24/errors.js';
import { parseEndpoint, parseWebhookUrl } from '../../../functions/bitrix24/endpoint.js';
import { createBitrix24Client } from '../../../functions/bitrix24/client.js';

describe('redaction', () => {
  it('removes the webhook code from any /rest/<id>/<code>/ path', () => {
    expect(redactPatterns('POST https://p.bitrix24.com/rest/12/abc123xyz/im.v2.Event.get failed')).toBe(`POST https://p.bitrix24.com/rest/12/${REDACTED}/im.v2.Event.get failed`);
    expect(redactUrl('https://p.bitrix24.com/rest/12/abc123xyz/?auth=tok')).toBe(`https://p.bitrix24.com/rest/12/${REDACTED}/`);
  });

  it('removes token=value pairs in queries and JSON', () => {
    const text = 'grant_type=refresh_token&client_id=app.1&client_secret=S3cr3t&refresh_token=R3fr3sh {"auth":"AcC3ss","botToken":"b0t"}';
    const out = redactPatterns(text);
    for (const secret of ['S3cr3t', 'R3fr3sh', 'AcC3ss', 'b0t']) expect(out).not.toContain(secret);
    expect(out).toContain('client_id=app.1');
  });

  it('removes registered secret values, also URL-encoded, longest first', () => {
    const redactor = new SecretRedactor();
    redactor.add('tok+en/1');
    redactor.add('tok');
    redactor.add('');
    expect(redactor.redact('a tok+en/1 b tok%2Ben%2F1 c tok')).toBe(`a ${REDACTED} b ${REDACTED} c ${REDACTED}`);
    expect(redactor.redactValue({ nested: ['x tok y'], n: 1, e: new Error('tok!') })).toEqual({ nested: [`x ${REDACTED} y`], n: 1, e: `Error: ${REDACTED}!` });
    expect(JSON.stringify(redactor)).not.toContain('tok');
  });
});

describe('endpoints', () => {
  it('requires https except on loopback', () => {
    expect(() => parseEndpoint('http://example.bitrix24.com/rest/', 'clientEndpoint')).toThrow(InsecureUrlError);
    expect(parseEndpoint('http://127.0.0.1:8080/rest/', 'x').origin).toBe('http://127.0.0.1:8080');
    expect(parseEndpoint('http://[::1]:8080/rest', 'x').basePath).toBe('/rest/');
    expect(parseEndpoint('http://localhost/rest/', 'x').host).toBe('localhost');
    expect(() => parseEndpoint('ftp://x/', 'x')).toThrow(InvalidArgumentError);
    expect(() => parseEndpoint('not a url', 'x')).toThrow(InvalidArgumentError);
  });

  it('parses a webhook URL and never echoes it in errors', () => {
    expect(parseWebhookUrl('https://p.bitrix24.com/rest/7/c0de/')).toMatchObject({ userId: 7, code: 'c0de', host: 'p.bitrix24.com' });
    for (const bad of ['https://p.bitrix24.com/rest/c0de-secret/', 'http://p.bitrix24.com/rest/7/c0de-secret/', 'https://u:c0de-secret@p.bitrix24.com/rest/7/x/']) {
      let message = '';
      try {
        parseWebhookUrl(bad);
      } catch (error) {
        message = String(error) + JSON.stringify(error);
      }
      expect(message).not.toBe('');
      expect(message).not.toContain('c0de-secret');
    }
  });

  it('hides credentials from toString, JSON and inspect of the client', async () => {
    const client = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl: 'https://p.bitrix24.com/rest/7/c0de-secret/' } });
    for (const text of [String(client), JSON.stringify(client), inspect(client, { showHidden: true, depth: 5 })]) {
      expect(text).not.toContain('c0de-secret');
      expect(text).toContain('p.bitrix24.com');
    }
    await client.close();
  });
});
