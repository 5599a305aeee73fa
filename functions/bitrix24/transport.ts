// The HTTP adapter: one undici Agent per client (keep-alive connection reuse
// per origin), timeouts for connect / response headers / body, a cap on the
// response size, and transport failures turned into typed errors whose
// `cause` is a sanitised copy (never the raw undici error).
import { Agent } from './undici-agent.js';
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
  /** Time to the response headers, in ms (Bitrix24 lets one request run 60 s). @default 65000 */
  readonly headersTimeoutMs?: number;
  /** Longest gap between body chunks, in ms. @default 30000 */
  readonly bodyTimeoutMs?: number;
  /** Largest response body read, in bytes; past it reading stops with ResponseTooLargeError. @default 33554432 (32 MiB) */
  readonly maxResponseBytes?: number;
  /** Idle keep-alive socket lifetime, in ms. @default 30000 */
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

/** A copy of a transport error with only its name, code and a scrubbed message: safe as a `cause`. */
function sanitisedCause(error: unknown, redact: (text: string) => string): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  const copy = new Error(redact(source.message));
  copy.name = source.name;
  const code = (source as { code?: unknown }).code;
  if (typeof code === 'string') Object.defineProperty(copy, 'code', { value: code, enumerable: true });
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

export class HttpTransport {
  readonly #agent: Agent;
  readonly #options: Required<TransportOptions>;
  readonly #redact: (text: string) => string;
  #connectionsOpened = 0;
  #requests = 0;

  constructor(options: TransportOptions | undefined, redact: (text: string) => string) {
    this.#options = { ...DEFAULT_TRANSPORT_OPTIONS, ...options };
    this.#redact = redact;
    this.#agent = new Agent({
      connect: { timeout: this.#options.connectTimeoutMs },
      headersTimeout: this.#options.headersTimeoutMs,
      bodyTimeout: this.#options.bodyTimeoutMs,
      keepAliveTimeout: this.#options.keepAliveTimeoutMs,
      connections: this.#options.connectionsPerOrigin,
    });
    this.#agent.on('connect', () => {
      this.#connectionsOpened += 1;
    });
  }

  get stats(): TransportStats {
    return { connectionsOpened: this.#connectionsOpened, requests: this.#requests };
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    this.#requests += 1;
    const base = { method: request.restMethod, host: request.host };
    try {
      const response = await this.#agent.request({
        origin: request.origin,
        path: request.path,
        method: request.method,
        headers: request.body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        ...(request.body === undefined ? {} : { body: request.body }),
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      });
      const limit = this.#options.maxResponseBytes;
      // Destroying the body below emits an error nobody else listens to.
      response.body.on('error', () => undefined);
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > limit) {
        response.body.destroy();
        throw new ResponseTooLargeError({ method: request.restMethod, code: 'RESPONSE_TOO_LARGE', httpStatus: response.statusCode, limitBytes: limit });
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        const buffer = chunk as Buffer;
        size += buffer.length;
        if (size > limit) {
          response.body.destroy();
          throw new ResponseTooLargeError({ method: request.restMethod, code: 'RESPONSE_TOO_LARGE', httpStatus: response.statusCode, limitBytes: limit });
        }
        chunks.push(buffer);
      }
      return { status: response.statusCode, body: Buffer.concat(chunks).toString('utf8') };
    } catch (error) {
      if (error instanceof Bitrix24Error) throw error;
      const cause = sanitisedCause(error, this.#redact);
      if (request.deadlineSignal?.aborted === true) {
        throw new RequestTimeoutError({ ...base, code: 'DEADLINE', phase: 'deadline', cause });
      }
      if (request.signal?.aborted === true) {
        throw new RequestAbortedError({ method: request.restMethod, code: 'ABORTED', cause });
      }
      const code = errorCode(error) ?? 'UNKNOWN';
      if (code === 'UND_ERR_CONNECT_TIMEOUT') {
        throw new RequestTimeoutError({ ...base, code, phase: 'connect', timeoutMs: this.#options.connectTimeoutMs, cause });
      }
      if (code === 'UND_ERR_HEADERS_TIMEOUT') {
        throw new RequestTimeoutError({ ...base, code, phase: 'headers', timeoutMs: this.#options.headersTimeoutMs, cause });
      }
      if (code === 'UND_ERR_BODY_TIMEOUT') {
        throw new RequestTimeoutError({ ...base, code, phase: 'body', timeoutMs: this.#options.bodyTimeoutMs, cause });
      }
      throw new NetworkError({ ...base, code, cause });
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
