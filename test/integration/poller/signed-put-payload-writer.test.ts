// The Lambda's payload writer (a signed PutObject without the S3 client):
// real HTTP to fauxqs' S3, read back with the SDK's S3 client; a loopback
// server for S3's retryable answers and the signature's shape; a capturing
// handler for the AWS (virtual-hosted) address.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { HttpRequest } from '@smithy/types';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localDynamoDbClientConfig } from '../../../functions/local/aws-emulators.js';
import { PayloadWriteError } from '../../../functions/poller/errors.js';
import { signedPutPayloadWriter } from '../../../functions/poller/signed-put-payload-writer.js';
import { rigClients, uniqueName } from '../../setup/rig.js';

const { endpoints, s3 } = rigClients();
const dynamoDb = new DynamoDBClient(localDynamoDbClientConfig(endpoints));
const noWait = () => Promise.resolve();
afterAll(() => {
  dynamoDb.destroy();
  s3.destroy();
});

describe('signedPutPayloadWriter', () => {
  it('stores the object where the S3 client reads it (path-style to the endpoint override), keys with escaped characters included', async () => {
    const bucket = uniqueName('signed-put');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const writer = signedPutPayloadWriter({ client: dynamoDb, env: { AWS_ENDPOINT_URL_S3: endpoints.sqsEndpoint }, sleep: noWait });
    const key = `claim-check/${encodeURIComponent("src:a b/(x)'!")}/7001.json`;
    const body = JSON.stringify({ text: 'привет '.repeat(1000) });

    await writer.putJson({ bucket, key, body });

    const read = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(await read.Body?.transformToString('utf8')).toBe(body);
    expect(read.ContentType).toBe('application/json');
  });

  it('a missing bucket → PayloadWriteError with S3 code, not retried', async () => {
    const writer = signedPutPayloadWriter({ client: dynamoDb, env: { AWS_ENDPOINT_URL_S3: endpoints.sqsEndpoint }, sleep: noWait });

    const error = await writer.putJson({ bucket: uniqueName('absent'), key: 'k.json', body: '{}' }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(PayloadWriteError);
    expect(error).toMatchObject({ code: 'PAYLOAD_WRITE_FAILED', httpStatus: 404, s3Code: 'NoSuchBucket', message: expect.stringContaining('after 1 attempt(s)') as unknown });
  });

  it('retries SlowDown and 5xx, signs with SigV4 for s3 and the payload hash', async () => {
    const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
    const answers = [
      [503, '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>'],
      [500, '<Error><Code>InternalError</Code></Error>'],
      [200, ''],
    ] as const;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const [status, text] = answers[seen.length - 1] ?? [500, ''];
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(text);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const delays: number[] = [];
      const writer = signedPutPayloadWriter({
        client: dynamoDb,
        env: { AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` },
        sleep: (ms) => {
          delays.push(ms);
          return Promise.resolve();
        },
      });
      const body = '{"eventId":7002}';

      await writer.putJson({ bucket: 'payloads', key: 'quarantine/s1/7002.json', body });

      expect(seen).toHaveLength(3);
      expect(delays).toEqual([100, 200]);
      const first = seen[0];
      expect(first).toMatchObject({ method: 'PUT', url: '/payloads/quarantine/s1/7002.json', body });
      expect(first?.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'));
      expect(first?.headers.authorization).toMatch(
        new RegExp(`^AWS4-HMAC-SHA256 Credential=${LOCAL_CREDENTIALS.accessKeyId}/\\d{8}/${LOCAL_REGION}/s3/aws4_request, SignedHeaders=[^,]*host[^,]*x-amz-content-sha256`),
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('without an endpoint override: https, virtual-hosted `<bucket>.s3.<region>.amazonaws.com`', async () => {
    const sent: HttpRequest[] = [];
    const writer = signedPutPayloadWriter({
      client: {
        config: {
          region: () => Promise.resolve('eu-central-1'),
          credentials: () => Promise.resolve({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
          sha256: dynamoDb.config.sha256,
          requestHandler: {
            handle: (request: HttpRequest) => {
              sent.push(request);
              return Promise.resolve({ response: { statusCode: 200, headers: {}, body: undefined } });
            },
          },
        },
      },
      env: {},
    });

    await writer.putJson({ bucket: 'stack-payloadbucket-abc123', key: 'claim-check/s1/1.json', body: '{}' });

    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ method: 'PUT', protocol: 'https:', hostname: 'stack-payloadbucket-abc123.s3.eu-central-1.amazonaws.com', path: '/claim-check/s1/1.json' });
    expect(sent[0]?.headers.authorization).toContain('/eu-central-1/s3/aws4_request');
  });
});
