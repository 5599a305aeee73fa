// `startPortalSimulator`: the portal state, its REST methods and the HTTP
// server on 127.0.0.1, plus the test-control API (contract A).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RawBitrixEvent } from '../shared/event-types.js';
import { AppInstallFlow, type AppEventRecord } from './app-install.js';
import { ChatActivity } from './chat-activity.js';
import { EventJsonWriter } from './event-json.js';
import { SimulatorOptionError, SimulatorServerError } from './errors.js';
import { FaultQueue } from './fault-queue.js';
import { createRequestHandler } from './http-server.js';
import { LeakyBucket } from './leaky-bucket.js';
import { Messenger, type Room } from './messenger.js';
import { PortalState } from './portal-state.js';
import type { MethodEnvironment } from './rest-methods.js';
import type { CallRecord, EventTarget, PortalSimulator, PortalSimulatorOptions, SayWhere, SentMessage, SimulatorRecords } from './types.js';

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
  const records: SimulatorRecords = { messages: sentMessages, edits: [], deletes: [], reads: [], typing: [], commandAnswers: [], botCalls: [], reactions: [], userActions: [] };
  let nextMessageId = 900_000;
  const emit = (target: EventTarget, type: string, data: unknown): RawBitrixEvent | undefined => state.emit(target, type, data);
  const messenger = new Messenger(state, now, emit);
  const env: MethodEnvironment = {
    state,
    ...(options.eventGetFormat === undefined ? {} : { eventGetFormat: options.eventGetFormat }),
    messenger,
    records,
    recordMessage: (message, id) => {
      const messageId = id ?? nextMessageId++;
      sentMessages.push({ id: messageId, ...message });
      return messageId;
    },
  };
  const roomOf = (userId: number, where: SayWhere): Room => {
    const room = 'chatId' in where ? messenger.room(where.chatId) : messenger.resolveDialog(userId, where.dialogId);
    if (room === undefined || !room.members.has(userId)) {
      throw new SimulatorOptionError(`User ${userId} is in no chat ${'chatId' in where ? `with id ${where.chatId}` : `"${where.dialogId}"`}: create it with createChat() or addToChat() first.`);
    }
    return room;
  };
  const messageRoom = (messageId: number): Room => {
    const room = messenger.roomOfMessage(messageId);
    if (room === undefined) throw new SimulatorOptionError(`The portal simulator has no message ${messageId}.`);
    return room;
  };
  const control = {
    say: (input: Parameters<PortalSimulator['say']>[0]) => {
      state.requireUser(input.fromUserId);
      const room = roomOf(input.fromUserId, input);
      const message = messenger.post(room, { authorId: input.fromUserId, text: input.text, ...(input.commandContext === undefined ? {} : { commandContext: input.commandContext }) });
      return { messageId: message.id, chatId: room.chat.id, dialogId: messenger.chatFor(room, input.fromUserId).dialogId };
    },
    edit: (input: Parameters<PortalSimulator['edit']>[0]) => {
      if (messenger.edit(messageRoom(input.messageId), input.messageId, input.fromUserId, input.text) === undefined) {
        throw new SimulatorOptionError(`Message ${input.messageId} was deleted.`);
      }
    },
    deleteMessage: (input: Parameters<PortalSimulator['deleteMessage']>[0]) => {
      messenger.remove(messageRoom(input.messageId), input.messageId, input.fromUserId);
    },
    react: (input: Parameters<PortalSimulator['react']>[0]) => {
      messenger.react(messageRoom(input.messageId), input.messageId, input.fromUserId, input.reaction ?? 'like', input.action ?? 'add');
    },
    addToChat: (input: Parameters<PortalSimulator['addToChat']>[0]) => {
      const room = messenger.room(input.chatId);
      if (room === undefined || room.kind !== 'group') throw new SimulatorOptionError(`The portal simulator has no group chat ${input.chatId}: create it with createChat().`);
      if (!messenger.isKnown(input.memberId)) throw new SimulatorOptionError(`addToChat: no user or bot ${input.memberId}.`);
      messenger.addMember(room, input.memberId, input.byUserId);
    },
    pressButton: (input: Parameters<PortalSimulator['pressButton']>[0]) => {
      const text = `${input.command.startsWith('/') ? input.command : `/${input.command}`}${input.params === undefined || input.params === '' ? '' : ` ${input.params}`}`;
      return control.say({ ...input, text, commandContext: 'keyboard' });
    },
    sendContext: (input: Parameters<PortalSimulator['sendContext']>[0]) => {
      const bot = state.requireBot(input.botId);
      return messenger.sendContext(bot, input.fromUserId, input.context);
    },
    createChat: (input: Parameters<PortalSimulator['createChat']>[0]) => {
      state.requireUser(input.ownerId);
      const room = messenger.createGroup(input);
      return { chatId: room.chat.id, dialogId: room.chat.dialogId };
    },
    // POST /_sim/installApp (or /_sim/install-app): the app flow over HTTP, for a running `npm run simulator`.
    installApp: (input: Parameters<PortalSimulator['installApp']>[0]) => apps.install(input),
    uninstallApp: (input: Parameters<PortalSimulator['uninstallApp']>[0]) => apps.uninstall(input),
    updateApp: (input: Parameters<PortalSimulator['updateApp']>[0]) => apps.update(input),
  };
  const json = new EventJsonWriter();
  let baseUrl = '';
  let portalHost = '';
  const appEvents: AppEventRecord[] = [];
  const apps = new AppInstallFlow({ state, now, baseUrl: () => baseUrl, portalHost: () => portalHost, record: (record) => appEvents.push(record) });
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
      control: (action, body) => {
        const run = (control as Record<string, ((input: never) => unknown) | undefined>)[action];
        if (run === undefined) throw new SimulatorOptionError(`Unknown simulator action "${action}"; one of ${Object.keys(control).join(', ')}.`);
        return run(body as never);
      },
      requireHttps: options.requireHttps ?? false,
      baseUrl: () => baseUrl,
      portalHost: () => portalHost,
    }),
  );
  const address = await listen(server, options.port ?? 0);
  portalHost = `127.0.0.1:${address.port}`;
  baseUrl = `http://${portalHost}`;
  const activity = new ChatActivity(state, now, emit, options.seed ?? 1, (value) => json.markShareable(value), messenger);
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
    registerApp: (fixed) => state.registerApp(fixed),
    installApp: control.installApp,
    uninstallApp: control.uninstallApp,
    updateApp: control.updateApp,
    appEvents,
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
      const bot = state.requireRegisteredBot(ownerUserId, {
        code: input?.code,
        clientId: input?.clientId,
        type: input?.type,
        token: input?.botToken,
        name: input?.name,
      });
      return { botId: bot.id, botToken: bot.token };
    },
    unregisterBot: (botId) => messenger.removeBot(state.requireBot(botId)),
    createChat: control.createChat,
    say: control.say,
    edit: control.edit,
    deleteMessage: control.deleteMessage,
    react: control.react,
    addToChat: control.addToChat,
    pressButton: control.pressButton,
    sendContext: control.sendContext,
    records,
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
