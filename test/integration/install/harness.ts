// The install function served over real HTTP on 127.0.0.1, the way a Lambda
// function URL hands a request to it: the body (base64 when binary), the
// lower-cased headers and the method. The portal simulator POSTs its app
// events here.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { REGISTRY_TABLE } from '../../../functions/registry/registry-table.js';
import { STATE_TABLE } from '../../../functions/shared/topology.js';

type UrlHandler = (event: Pick<LambdaFunctionURLEvent, 'body' | 'isBase64Encoded' | 'headers' | 'requestContext' | 'rawPath'>) => Promise<LambdaFunctionURLResult>;

export interface FunctionUrlServer {
  readonly url: string;
  stop(): Promise<void>;
}

export async function serveFunctionUrl(handler: UrlHandler): Promise<FunctionUrlServer> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name.toLowerCase()] = value;
      const event = {
        body: Buffer.concat(chunks).toString('base64'),
        isBase64Encoded: true,
        rawPath: new URL(req.url ?? '/', 'http://placeholder').pathname,
        // As a function URL: AWS sets domainName; x-forwarded-proto is https there, http on this test server.
        headers: { ...headers, 'x-forwarded-proto': 'http' },
        requestContext: { http: { method: req.method ?? 'GET' }, domainName: headers.host ?? '' },
      } as unknown as Pick<LambdaFunctionURLEvent, 'body' | 'isBase64Encoded' | 'headers' | 'requestContext' | 'rawPath'>;
      handler(event).then(
        (result) => {
          const answer = typeof result === 'string' ? { statusCode: 200, body: result } : result;
          res.writeHead(answer.statusCode ?? 200, { 'content-type': 'application/json' });
          res.end(answer.body ?? '');
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

export async function createTables(dynamoDb: DynamoDBClient, stateTable: string, registryTable: string): Promise<void> {
  for (const [name, key] of [
    [stateTable, STATE_TABLE.partitionKey],
    [registryTable, REGISTRY_TABLE.partitionKey],
  ] as const) {
    await dynamoDb.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
      }),
    );
  }
}
