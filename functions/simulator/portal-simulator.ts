// `startPortalSimulator`: the portal state, its REST methods and the HTTP
// server on 127.0.0.1, plus the test-control API (contract A).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RawBitrixEvent } from '../shared/event-types.js';
import { ChatActivity } from './chat-activity.js';
import { EventJsonWriter } from './event-json.js';
import { SimulatorOptionError, SimulatorServerError } from './errors.js';
import { FaultQueue } from './fault-queue.js';
import { createRequestHandler } from './http-server.js';
import { LeakyBucket } from './leaky-bucket.js';
import { PortalState } from './portal-state.js';
import type { MethodEnvironment } from './rest-methods.js';
import type { CallRecord, EventTarget, PortalSimulator, PortalSimulatorOptions, SentMessage } from './types.js';

export const DEFAULT_RATE_LIMIT = { drainPerSecond: 2, maxQueued: 50 } as const;

function validate(options: PortalSimulatorOptions): void {
  const { port, rateLimit, accessTokenTtlSeconds } = options;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new SimulatorOptionError(`port must be an integer 0–65535, got ${port}.`);
  }
  if (rateLimit !== undefined && rateLimit !== false && !(rateLimit.drainPerSecond > 0 && rateLimit.maxQueued >= 1)) {
    throw new SimulatorOptionError('rateLimit needs drainPerSecond > 0 and maxQueued >= 1 (or false to turn it off).');
  }
  if (accessTokenTtlSeconds !== undefined && !(accessTokenTtlSeconds > 0)) {
    throw new SimulatorOptionError(`accessTokenTtlSeconds must be > 0, got ${accessTokenTtlSeconds}.`);
  }
}

function listen(server: Server, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(new SimulatorServerError(`The portal simulator could not listen on 127.0.0.1:${port}: ${error.message}. Pick another --port.`, { cause: error }));
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new SimulatorServerError('The portal simulator did not get a TCP address.'));
        return;
      }
      resolve(address);
    });
  });
}

export async function startPortalSimulator(options: PortalSimulatorOptions = {}): Promise<PortalSimulator> {
  validate(options);
  const now = options.now ?? Date.now;
  const state = new PortalState(now, (options.accessTokenTtlSeconds ?? 3600) * 1000, options.utcOffsetMinutes ?? 180);
  const faults = new FaultQueue();
  const rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
  const bucket = rateLimit === false ? undefined : new LeakyBucket(rateLimit);
  let calls: CallRecord[] = [];
  const sentMessages: SentMessage[] = [];
  let nextMessageId = 900_000;
  const env: MethodEnvironment = {
    state,
    ...(options.eventGetFormat === undefined ? {} : { eventGetFormat: options.eventGetFormat }),
    recordMessage: (message) => {
      const id = nextMessageId++;
      sentMessages.push({ id, ...message });
      return id;
    },
  };
  const json = new EventJsonWriter();
  let baseUrl = '';
  let portalHost = '';
  const server = createServer(
    { keepAliveTimeout: 65_000 },
    createRequestHandler({
      state,
      faults,
      bucket,
      now,
      env,
      json,
      record: (call) => calls.push(call),
      baseUrl: () => baseUrl,
      portalHost: () => portalHost,
    }),
  );
  const address = await listen(server, options.port ?? 0);
  portalHost = `127.0.0.1:${address.port}`;
  baseUrl = `http://${portalHost}`;
  const emit = (target: EventTarget, type: string, data: unknown): RawBitrixEvent | undefined => state.emit(target, type, data);
  const activity = new ChatActivity(state, now, emit, options.seed ?? 1, (value) => json.markShareable(value));
  let stopped = false;

  return {
    baseUrl,
    portalHost,
    oauthTokenUrl: `${baseUrl}/oauth/token/`,
    addUser: (input) => {
      const user = state.addUser(input?.name);
      return { id: user.id, name: user.name };
    },
    createWebhook: (userId) => `${baseUrl}/rest/${userId}/${state.createWebhookCode(userId)}/`,
    registerApp: () => state.registerApp(),
    authorizeApp: (clientId, userId) => {
      const tokens = state.authorizeApp(clientId, userId);
      return {
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        expiresIn: Math.round((tokens.expiresAt - now()) / 1000),
        clientEndpoint: `${baseUrl}/rest/`,
      };
    },
    expireAccessTokens: (clientId) => state.expireAccessTokens(clientId),
    registerBot: (ownerUserId, input) => {
      const bot = state.registerBot(ownerUserId, input?.code, input?.clientId);
      return { botId: bot.id, botToken: bot.token };
    },
    subscribe: (userId) => {
      state.requireUser(userId);
      state.subscribe(userId);
    },
    unsubscribe: (userId) => state.unsubscribe(userId),
    emit,
    activity,
    faults,
    get calls(): readonly CallRecord[] {
      return calls;
    },
    clearCalls: () => {
      calls = [];
    },
    sentMessages,
    pendingEvents: (target) => state.pending(target),
    emittedEvents: (target) => state.emittedEvents(target),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      activity.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
