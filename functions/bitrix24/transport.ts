// The HTTP adapter, on Node's own `node:http` / `node:https`: one keep-alive
// agent per client and protocol (connection reuse per origin, a cap on sockets
// per origin, idle sockets closed before the server's Keep-Alive hint),
// timeouts for connect / response headers / body, a cap on the response size,
// and transport failures turned into typed errors whose `cause` is a sanitised
// copy (never the raw Node error).
//
// Why not undici or fetch: the undici package cost ~300 KB of every Lambda
// bundle (its HTTP/1 parser ships twice as WebAssembly), and Node's built-in
// fetch cannot set a connect timeout or a per-origin socket cap without that
// package's Agent; it also loads Node's internal undici on the first call.
// `node:http` is already loaded by the AWS SDK's request handler, so this
// transport adds nothing to a cold start (docs/package.md).
//
// The timeout codes keep undici's names (UND_ERR_*_TIMEOUT): they appear in
// errors, logs and metrics, and retry-policy.ts treats a connect timeout as
// "never sent" (a write may then be sent again).
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import {
  Bitrix24Error,
  NetworkError,
  RequestAbortedError,
  RequestTimeoutError,
  ResponseTooLargeError,
} from './errors.js';

export interface TransportOptions {
  /** TCP+TLS connect timeout, in ms. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** Time from the connection to the response headers, in ms (Bitrix24 lets one request run 60 s). @default 65000 */
  readonly headersTimeoutMs?: number;
  /** Longest gap between body chunks, in ms. @default 30000 */
  readonly bodyTimeoutMs?: number;
  /** Largest response body read, in bytes; past it reading stops with ResponseTooLargeError. @default 33554432 (32 MiB) */
  readonly maxResponseBytes?: number;
  /** Idle keep-alive socket lifetime, in ms (shorter if the server's Keep-Alive header says so). @default 30000 */
  readonly keepAliveTimeoutMs?: number;
  /** Sockets per origin. @default 4 */
  readonly connectionsPerOrigin?: number;
}

export const DEFAULT_TRANSPORT_OPTIONS: Required<TransportOptions> = {
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 65_000,
  bodyTimeoutMs: 30_000,
  maxResponseBytes: 32 * 1024 * 1024,
  keepAliveTimeoutMs: 30_000,
  connectionsPerOrigin: 4,
};

export interface HttpRequest {
  readonly origin: string;
  /** Host shown in errors (never the path: it can hold a webhook code). */
  readonly host: string;
  /** Path + query; may be secret. */
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly body?: string;
  /** REST method name for errors. */
  readonly restMethod: string;
  readonly signal?: AbortSignal;
  /** Set when the signal may fire because the caller's deadline passed. */
  readonly deadlineSignal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export interface TransportStats {
  /** TCP connections opened so far (keep-alive makes this much smaller than `requests`). */
  readonly connectionsOpened: number;
  readonly requests: number;
}

const TIMEOUT_CODES = {
  connect: 'UND_ERR_CONNECT_TIMEOUT',
  headers: 'UND_ERR_HEADERS_TIMEOUT',
  body: 'UND_ERR_BODY_TIMEOUT',
} as const;

type TransportTimeoutPhase = keyof typeof TIMEOUT_CODES;

/** This transport's own timer fired: carries the phase to the error mapping. */
class PhaseTimeout extends Error {
  readonly code: string;
  constructor(readonly phase: TransportTimeoutPhase, timeoutMs: number) {
    super(`${phase} timeout after ${timeoutMs} ms`);
    this.name = 'TimeoutError';
    this.code = TIMEOUT_CODES[phase];
  }
}

/** A copy of a transport error with only its name, code and a scrubbed message: safe as a `cause`. */
function sanitisedCause(error: unknown, redact: (text: string) => string): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  const copy = new Error(redact(source.message));
  copy.name = source.name;
  const code = errorCode(source);
  if (code !== undefined) Object.defineProperty(copy, 'code', { value: code, enumerable: true });
  // Keep the stack out: it is noise and could echo a URL.
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return cause === undefined ? undefined : errorCode(cause);
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

/** `new URL(origin).hostname` keeps IPv6 brackets; `node:http` wants the bare address. */
function bareHostname(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

export class HttpTransport {
  readonly #httpAgent: HttpAgent;
  readonly #httpsAgent: HttpsAgent;
  readonly #options: Required<TransportOptions>;
  readonly #redact: (text: string) => string;
  #connectionsOpened = 0;
  #requests = 0;
  #inFlight = 0;
  #closed = false;
  #drained: (() => void) | undefined;

  constructor(options: TransportOptions | undefined, redact: (text: string) => string) {
    this.#options = { ...DEFAULT_TRANSPORT_OPTIONS, ...options };
    this.#redact = redact;
    // `timeout` is the idle lifetime of a pooled socket: Node's agent destroys a
    // free socket when it fires, and shortens it to the server's Keep-Alive hint
    // minus 1 s, so a socket the server is about to close is not reused.
    const agentOptions = { keepAlive: true, maxSockets: this.#options.connectionsPerOrigin, timeout: this.#options.keepAliveTimeoutMs, scheduling: 'lifo' } as const;
    this.#httpAgent = new HttpAgent(agentOptions);
    this.#httpsAgent = new HttpsAgent(agentOptions);
  }

  get stats(): TransportStats {
    return { connectionsOpened: this.#connectionsOpened, requests: this.#requests };
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    this.#requests += 1;
    this.#inFlight += 1;
    const base = { method: request.restMethod, host: request.host };
    try {
      return await this.#exchange(request);
    } catch (error) {
      if (error instanceof Bitrix24Error) throw error;
      const cause = sanitisedCause(error, this.#redact);
      if (request.deadlineSignal?.aborted === true) {
        throw new RequestTimeoutError({ ...base, code: 'DEADLINE', phase: 'deadline', cause });
      }
      if (request.signal?.aborted === true) {
        throw new RequestAbortedError({ method: request.restMethod, code: 'ABORTED', cause });
      }
      if (error instanceof PhaseTimeout) {
        const timeoutMs = { connect: this.#options.connectTimeoutMs, headers: this.#options.headersTimeoutMs, body: this.#options.bodyTimeoutMs }[error.phase];
        throw new RequestTimeoutError({ ...base, code: error.code, phase: error.phase, timeoutMs, cause });
      }
      throw new NetworkError({ ...base, code: errorCode(error) ?? 'UNKNOWN', cause });
    } finally {
      this.#inFlight -= 1;
      if (this.#inFlight === 0) this.#drained?.();
    }
  }

  /** One request/response on a pooled socket. Rejects with the raw failure; `send` maps it. */
  #exchange(request: HttpRequest): Promise<HttpResponse> {
    const options = this.#options;
    const url = new URL(request.origin);
    const secure = url.protocol === 'https:';
    if (request.signal?.aborted === true) return Promise.reject(asError(request.signal.reason));
    return new Promise<HttpResponse>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const arm = (phase: TransportTimeoutPhase, ms: number): void => {
        clearTimeout(timer);
        timer = setTimeout(() => fail(new PhaseTimeout(phase, ms)), ms);
      };
      const onAbort = (): void => fail(request.signal?.reason ?? new Error('aborted'));
      const finish = (): void => {
        settled = true;
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
      };
      // Destroying the request closes its socket: a half-read answer never goes back to the pool.
      const fail = (error: unknown): void => {
        if (settled) return;
        finish();
        req.destroy();
        reject(asError(error));
      };
      const headers: Record<string, string> = { accept: 'application/json' };
      if (request.body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(request.body));
      }
      const req: ClientRequest = (secure ? httpsRequest : httpRequest)({
        protocol: url.protocol,
        hostname: bareHostname(url),
        ...(url.port === '' ? {} : { port: Number(url.port) }),
        path: request.path,
        method: request.method,
        headers,
        agent: secure ? this.#httpsAgent : this.#httpAgent,
      });
      req.on('error', fail);
      request.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('socket', (socket: Socket) => {
        if (settled) return;
        // A pooled socket is ready; a new one connects first (TCP, then TLS for https).
        if (req.reusedSocket) {
          arm('headers', options.headersTimeoutMs);
          return;
        }
        arm('connect', options.connectTimeoutMs);
        socket.once(secure ? 'secureConnect' : 'connect', () => {
          this.#connectionsOpened += 1;
          if (!settled) arm('headers', options.headersTimeoutMs);
        });
      });
      req.on('response', (response: IncomingMessage) => {
        if (settled) {
          response.resume();
          return;
        }
        const status = response.statusCode ?? 0;
        const limit = options.maxResponseBytes;
        const tooLarge = (): ResponseTooLargeError =>
          new ResponseTooLargeError({ method: request.restMethod, code: 'RESPONSE_TOO_LARGE', httpStatus: status, limitBytes: limit });
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > limit) {
          fail(tooLarge());
          return;
        }
        arm('body', options.bodyTimeoutMs);
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limit) {
            fail(tooLarge());
            return;
          }
          chunks.push(chunk);
          arm('body', options.bodyTimeoutMs);
        });
        response.on('error', fail);
        // Closed before 'end': the connection dropped mid-body.
        response.on('close', () => fail(Object.assign(new Error('the connection closed before the answer was complete'), { code: 'ECONNRESET' })));
        response.on('end', () => {
          if (settled) return;
          finish();
          resolve({ status, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end(request.body);
    });
  }

  /** Stops taking requests; requests in flight finish first, then the pooled sockets close. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      this.#httpAgent.destroy();
      this.#httpsAgent.destroy();
    }
  }
}
