// ctx.bitrix24: a Bitrix24 REST caller per source, created on first use and
// reused across records and warm invocations. The factory is injectable (tests
// and the local runtime pass their own); the Lambda default builds real
// clients from SOURCES + Secrets Manager (bitrix24-from-env.ts).
import { SourceClientError } from './errors.js';

export interface CallOptions {
  /** ms epoch: stop retrying and throw the last error. */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
  /** `read` or `write`; decides retries and whether ctx.bitrix24 routes the call through the outbox. @default methodKind(method) */
  readonly methodKind?: 'read' | 'write';
  /**
   * An imbot.v2 call as the source's bot: the client adds `botToken` from the
   * source's secret when the source uses webhook auth (none with OAuth), so the
   * token is never in a handler's params or logs. A webhook source whose secret
   * has no botToken fails with SourceClientError before anything is sent. @default false
   */
  readonly asBot?: boolean;
}

/** The part of the Bitrix24 client (functions/bitrix24) a handler uses. */
export interface Bitrix24Caller {
  /** Portal host, never a secret. */
  readonly portal: string;
  call<T = unknown>(method: string, params?: Record<string, unknown>, options?: CallOptions): Promise<{ result: T; time?: unknown }>;
}

/** Returns the client for a source id (a configured source); may be async (credentials from Secrets Manager). */
export type ClientFactory = (sourceId: string) => Bitrix24Caller | Promise<Bitrix24Caller>;

const noFactory: ClientFactory = (sourceId) => {
  throw new SourceClientError(
    sourceId,
    `ctx.bitrix24 is not available for source "${sourceId}": this consumer has no client factory (pass clientFactory, or set SOURCES and the source's secret in Lambda).`,
  );
};

export class SourceClients {
  readonly #factory: ClientFactory;
  readonly #clients = new Map<string, Promise<Bitrix24Caller>>();

  constructor(factory: ClientFactory | undefined) {
    this.#factory = factory ?? noFactory;
  }

  /** The client, created once per source; a failed creation is forgotten so the next use retries it. */
  async clientFor(sourceId: string): Promise<Bitrix24Caller> {
    let pending = this.#clients.get(sourceId);
    if (pending === undefined) {
      pending = (async () => await this.#factory(sourceId))();
      this.#clients.set(sourceId, pending);
      void pending.catch(() => this.#clients.delete(sourceId));
    }
    return await pending;
  }

  /** A caller usable synchronously from ctx; the client is only created when `call` is first used. */
  callerFor(sourceId: string, portal: string, defaultDeadline: () => number): Bitrix24Caller {
    return {
      portal,
      call: async <T = unknown>(method: string, params?: Record<string, unknown>, options?: CallOptions) => {
        const client = await this.clientFor(sourceId);
        return await client.call<T>(method, params, { deadline: defaultDeadline(), ...options });
      },
    };
  }
}
