// A loopback stand-in for the one Secrets Manager action the poller Lambda
// uses (GetSecretValue, AWS JSON 1.1 protocol), so the cold-start benchmark can
// run the real handler bundle — real SDK client, real HTTP — without AWS.
// Only for the benchmark; the tests use the handler's injectable secret reader.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SecretsStandIn {
  readonly endpoint: string;
  /** GetSecretValue calls answered. */
  readonly calls: () => number;
  stop(): Promise<void>;
}

export async function startSecretsStandIn(secrets: Readonly<Record<string, string>>): Promise<SecretsStandIn> {
  let calls = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      let body: { SecretId?: string } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { SecretId?: string };
      } catch {
        // answered as not found below
      }
      const name = body.SecretId ?? '';
      const value = secrets[name];
      response.setHeader('content-type', 'application/x-amz-json-1.1');
      if (!target.endsWith('.GetSecretValue') || value === undefined) {
        response.statusCode = 400;
        response.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'Secrets Manager cannot find the specified secret.' }));
        return;
      }
      calls += 1;
      response.end(
        JSON.stringify({
          ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}`,
          Name: name,
          SecretString: value,
          VersionId: 'bench-v1',
          VersionStages: ['AWSCURRENT'],
          CreatedDate: Date.now() / 1000,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls: () => calls,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
