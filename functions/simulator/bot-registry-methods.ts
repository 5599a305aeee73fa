// The imbot.v2 bot-lifecycle methods the operator CLI (`b24-pipeline bot …`)
// calls: Bot.register, Bot.list, Bot.get, Bot.unregister, Command.register,
// Command.list.
// The minimum the CLI needs, written against the official docs
// (api-reference/chat-bots/chat-bots-v2/imbot.v2/bots/bot-register.md,
// bot-list.md, bot-get.md, bot-unregister.md, commands/command-register.md,
// commands/command-list.md):
// - Bot.register: `fields.code` (BOT_CODE_REQUIRED), `fields.properties.name`
//   (BOT_PROPERTIES_REQUIRED), `fields.botToken` with webhook auth
//   (BOT_TOKEN_NOT_SPECIFIED; longer than 40 characters: BOT_TOKEN_INVALID_LENGTH,
//   change-log.md BOT-BC-0506-1), `fields.type` bot|network|openline|supervisor|personal
//   (BOT_INVALID_TYPE, default bot), `fields.eventMode` fetch|webhook
//   (BOT_INVALID_EVENT_MODE, default fetch; webhook without webhookUrl:
//   BOT_WEBHOOK_URL_REQUIRED). Idempotent per code and application: a repeat
//   returns the existing bot *without updating it* (so a new botToken is not
//   taken); a code another application holds answers BOT_CODE_ALREADY_TAKEN.
// - Bot.list: the application's bots (`filter.type`, `limit` default 50,
//   `offset`, `hasNextPage`); botToken required with webhook auth.
// - Bot.get (botId or code), Bot.unregister (botId), Command.register
//   (botId, `fields.command` without the slash, `fields.title` unless hidden;
//   idempotent per command): botId/botToken/ownership like every imbot.v2 method.
//   A botToken that does not match the bot answers BOT_OWNERSHIP_ERROR
//   (bot-update.md: after a rotation the old token gets it).
// "Application" here: the OAuth app (client_id), or for a webhook the webhook's
// user. Bots made with the test API (`sim.registerBot`) are not listed.
//
// Stopgap until the simulator's portal state owns the bot registry: the
// state has no API to choose a bot's token or to delete a bot, so this file
// sets the token on the bot record it just created and removes an
// unregistered bot from the state's map (guarded: it fails loudly if the
// state's shape changes).
import type { PortalBot, PortalState } from './portal-state.js';
import { boolParam, intParam, param, stringParam, type Params } from './params.js';
import type { AuthenticatedCall, MethodEnvironment, MethodOutcome } from './rest-methods.js';

type MethodHandler = (env: MethodEnvironment, call: AuthenticatedCall) => MethodOutcome;

/** bot-register.md, change-log.md BOT-BC-0506-1. */
export const MAX_BOT_TOKEN_LENGTH = 40;
const BOT_TYPES = ['bot', 'network', 'openline', 'supervisor', 'personal'] as const;
const EVENT_MODES = ['fetch', 'webhook'] as const;
const DEFAULT_LIST_LIMIT = 50;

interface BotProfile {
  readonly type: string;
  readonly eventMode: string;
  readonly name: string;
  readonly lastName: string;
  readonly workPosition: string;
  readonly isHidden: boolean;
  readonly isReactionsEnabled: boolean;
  readonly isSupportOpenline: boolean;
}

interface CommandRecord {
  readonly id: number;
  readonly command: string;
  readonly common: boolean;
  readonly hidden: boolean;
  readonly extranetSupport: boolean;
  readonly title: Readonly<Record<string, string>>;
}

interface Registry {
  /** `${application}\u0000${code}` → bot id. */
  readonly byCode: Map<string, number>;
  readonly profiles: Map<number, BotProfile>;
  readonly commands: Map<number, Map<string, CommandRecord>>;
  nextCommandId: number;
}

const registries = new WeakMap<PortalState, Registry>();

function registryOf(state: PortalState): Registry {
  let registry = registries.get(state);
  if (registry === undefined) {
    registry = { byCode: new Map(), profiles: new Map(), commands: new Map(), nextCommandId: 1 };
    registries.set(state, registry);
  }
  return registry;
}

function fail(status: number, code: string, description: string): MethodOutcome {
  return { ok: false, status, code, description };
}

function isOutcome(value: unknown): value is MethodOutcome {
  return typeof value === 'object' && value !== null && 'ok' in value;
}

function objectParam(params: Params, name: string): Params | undefined {
  const value = param(params, name);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Params) : undefined;
}

function applicationOf(call: AuthenticatedCall): string {
  return call.auth === 'oauth' && call.clientId !== undefined ? `app:${call.clientId}` : `user:${call.userId}`;
}

function owns(bot: PortalBot, call: AuthenticatedCall): boolean {
  return call.auth === 'oauth' && bot.clientId !== undefined ? bot.clientId === call.clientId : bot.clientId === undefined && bot.ownerUserId === call.userId;
}

function botObject(bot: PortalBot, profile: BotProfile | undefined, registry: Registry) {
  return {
    id: bot.id,
    code: bot.code,
    type: profile?.type ?? 'bot',
    isHidden: profile?.isHidden ?? false,
    isSupportOpenline: profile?.isSupportOpenline ?? false,
    isReactionsEnabled: profile?.isReactionsEnabled ?? true,
    backgroundId: null,
    language: 'en',
    moduleId: 'rest',
    eventMode: profile?.eventMode ?? 'fetch',
    countMessage: 0,
    countCommand: registry.commands.get(bot.id)?.size ?? 0,
    countChat: 0,
    countUser: 0,
  };
}

function userObject(bot: PortalBot, profile: BotProfile | undefined) {
  const firstName = profile?.name ?? bot.code;
  const lastName = profile?.lastName ?? '';
  return {
    id: bot.id,
    active: true,
    name: [firstName, lastName].filter((part) => part !== '').join(' '),
    firstName,
    lastName,
    workPosition: profile?.workPosition ?? '',
    bot: true,
    type: 'bot',
  };
}

/** The webhook-auth botToken rule shared by every method here. */
function missingToken(call: AuthenticatedCall, token: string | undefined): MethodOutcome | undefined {
  if (call.auth === 'webhook' && (token === undefined || token === '')) {
    return fail(400, 'BOT_TOKEN_NOT_SPECIFIED', 'Bot token is not specified');
  }
  return undefined;
}

/** botId (or, for Bot.get, code), botToken with webhook auth, ownership, token match. */
function resolveOwnedBot(env: MethodEnvironment, call: AuthenticatedCall, options: { byCode?: boolean } = {}): PortalBot | MethodOutcome {
  const registry = registryOf(env.state);
  const token = stringParam(call.params, 'botToken');
  const botId = intParam(call.params, 'botId');
  let bot: PortalBot | undefined;
  if (botId === undefined) {
    const code = options.byCode === true ? stringParam(call.params, 'code') : undefined;
    if (code === undefined || code === '') return fail(400, 'BOT_ID_REQUIRED', 'Bot ID is required');
    const id = registry.byCode.get(`${applicationOf(call)}\u0000${code}`);
    bot = id === undefined ? undefined : env.state.bot(id);
  } else if (botId !== 'invalid') {
    bot = env.state.bot(botId);
  }
  const noToken = missingToken(call, token);
  if (noToken !== undefined) return noToken;
  if (bot === undefined) return fail(400, 'BOT_NOT_FOUND', 'Bot not found');
  if (!owns(bot, call)) return fail(403, 'BOT_OWNERSHIP_ERROR', 'Bot is registered by another application');
  if (call.auth === 'webhook' && token !== bot.token) return fail(403, 'BOT_OWNERSHIP_ERROR', 'Bot is registered by another application');
  return bot;
}

const botRegister: MethodHandler = (env, call) => {
  const registry = registryOf(env.state);
  const fields = objectParam(call.params, 'fields') ?? {};
  const code = stringParam(fields, 'code');
  if (code === undefined || code.trim() === '') return fail(400, 'BOT_CODE_REQUIRED', 'Bot code is required');
  // bot-register.md puts botToken in `fields`; quick-start.md sends it next to `fields`: take either.
  const token = stringParam(fields, 'botToken') ?? stringParam(call.params, 'botToken');
  const noToken = missingToken(call, token);
  if (noToken !== undefined) return noToken;
  if (token !== undefined && token.length > MAX_BOT_TOKEN_LENGTH) {
    return fail(400, 'BOT_TOKEN_INVALID_LENGTH', `Bot token must not exceed ${MAX_BOT_TOKEN_LENGTH} characters`);
  }
  const properties = objectParam(fields, 'properties');
  const name = properties === undefined ? undefined : stringParam(properties, 'name');
  if (name === undefined || name.trim() === '') return fail(400, 'BOT_PROPERTIES_REQUIRED', 'Bot properties are required');
  const type = stringParam(fields, 'type') ?? 'bot';
  if (!(BOT_TYPES as readonly string[]).includes(type)) return fail(400, 'BOT_INVALID_TYPE', 'Invalid bot type');
  const eventMode = stringParam(fields, 'eventMode') ?? 'fetch';
  if (!(EVENT_MODES as readonly string[]).includes(eventMode)) return fail(400, 'BOT_INVALID_EVENT_MODE', 'Invalid event mode');
  if (eventMode === 'webhook' && (stringParam(fields, 'webhookUrl') ?? '') === '') {
    return fail(400, 'BOT_WEBHOOK_URL_REQUIRED', 'Webhook URL is required');
  }

  const application = applicationOf(call);
  const existingId = registry.byCode.get(`${application}\u0000${code}`);
  const existing = existingId === undefined ? undefined : env.state.bot(existingId);
  if (existing !== undefined) {
    // Idempotent: the existing bot, not updated (bot-register.md).
    const profile = registry.profiles.get(existing.id);
    return { ok: true, result: { bot: botObject(existing, profile, registry), users: [userObject(existing, profile)] } };
  }
  for (const [key, id] of registry.byCode) {
    if (key.endsWith(`\u0000${code}`) && env.state.bot(id) !== undefined) {
      return fail(403, 'BOT_CODE_ALREADY_TAKEN', 'Bot code is already taken');
    }
  }

  const bot = env.state.registerBot(call.userId, code, call.auth === 'oauth' ? call.clientId : undefined);
  // OAuth bots need no token (index.md); keep the random one the state made, which no caller knows.
  if (token !== undefined && token !== '') (bot as { token: string }).token = token;
  const profile: BotProfile = {
    type,
    eventMode,
    name,
    lastName: stringParam(properties ?? {}, 'lastName') ?? '',
    workPosition: stringParam(properties ?? {}, 'workPosition') ?? '',
    isHidden: boolParam(fields, 'isHidden'),
    isReactionsEnabled: param(fields, 'isReactionsEnabled') === undefined ? true : boolParam(fields, 'isReactionsEnabled'),
    isSupportOpenline: boolParam(fields, 'isSupportOpenline'),
  };
  registry.byCode.set(`${application}\u0000${code}`, bot.id);
  registry.profiles.set(bot.id, profile);
  return { ok: true, result: { bot: botObject(bot, profile, registry), users: [userObject(bot, profile)] } };
};

const botList: MethodHandler = (env, call) => {
  const noToken = missingToken(call, stringParam(call.params, 'botToken'));
  if (noToken !== undefined) return noToken;
  const registry = registryOf(env.state);
  const application = applicationOf(call);
  const typeFilter = stringParam(objectParam(call.params, 'filter') ?? {}, 'type');
  const limitParam = intParam(call.params, 'limit');
  const offsetParam = intParam(call.params, 'offset');
  const limit = typeof limitParam === 'number' && limitParam > 0 ? limitParam : DEFAULT_LIST_LIMIT;
  const offset = typeof offsetParam === 'number' && offsetParam > 0 ? offsetParam : 0;
  const mine: PortalBot[] = [];
  for (const [key, id] of registry.byCode) {
    if (!key.startsWith(`${application}\u0000`)) continue;
    const bot = env.state.bot(id);
    if (bot === undefined) continue;
    if (typeFilter !== undefined && (registry.profiles.get(id)?.type ?? 'bot') !== typeFilter) continue;
    mine.push(bot);
  }
  mine.sort((a, b) => a.id - b.id);
  const page = mine.slice(offset, offset + limit);
  return {
    ok: true,
    result: {
      bots: page.map((bot) => botObject(bot, registry.profiles.get(bot.id), registry)),
      users: page.map((bot) => userObject(bot, registry.profiles.get(bot.id))),
      hasNextPage: offset + limit < mine.length,
    },
  };
};

const botGet: MethodHandler = (env, call) => {
  const bot = resolveOwnedBot(env, call, { byCode: true });
  if (isOutcome(bot)) return bot;
  const registry = registryOf(env.state);
  const profile = registry.profiles.get(bot.id);
  return { ok: true, result: { bot: botObject(bot, profile, registry), users: [userObject(bot, profile)] } };
};

function deleteFromState(state: PortalState, botId: number): void {
  const bots: unknown = Reflect.get(state, 'bots');
  if (!(bots instanceof Map) || !bots.has(botId)) {
    throw new Error('bot-registry-methods: PortalState no longer keeps bots in a private "bots" map; give it an unregisterBot() and use it here.');
  }
  bots.delete(botId);
}

const botUnregister: MethodHandler = (env, call) => {
  if (intParam(call.params, 'botId') === undefined) return fail(400, 'BOT_ID_REQUIRED', 'Bot ID is required');
  const bot = resolveOwnedBot(env, call);
  if (isOutcome(bot)) return bot;
  const registry = registryOf(env.state);
  deleteFromState(env.state, bot.id);
  for (const [key, id] of registry.byCode) if (id === bot.id) registry.byCode.delete(key);
  registry.profiles.delete(bot.id);
  registry.commands.delete(bot.id);
  return { ok: true, result: { result: true } };
};

function commandObject(botId: number, record: CommandRecord) {
  return { id: record.id, botId, command: `/${record.command}`, common: record.common, hidden: record.hidden, extranetSupport: record.extranetSupport };
}

const commandRegister: MethodHandler = (env, call) => {
  if (intParam(call.params, 'botId') === undefined) return fail(400, 'BOT_ID_REQUIRED', 'Bot ID is required');
  const bot = resolveOwnedBot(env, call);
  if (isOutcome(bot)) return bot;
  const fields = objectParam(call.params, 'fields') ?? {};
  const raw = param(fields, 'command');
  if (raw === undefined || raw === null || raw === '') return fail(400, 'COMMAND_REQUIRED', 'Command is required');
  if (typeof raw !== 'string') return fail(400, 'COMMAND_NAME_INVALID', 'Command name is invalid');
  // command-register.md: the command is sent without "/"; events carry it with the slash.
  const command = raw.replace(/^\//, '');
  if (command === '') return fail(400, 'COMMAND_NAME_INVALID', 'Command name is invalid');
  const hidden = boolParam(fields, 'hidden');
  const titleObject = objectParam(fields, 'title');
  const title: Record<string, string> = {};
  for (const [lang, text] of Object.entries(titleObject ?? {})) if (typeof text === 'string' && text !== '') title[lang] = text;
  if (!hidden && Object.keys(title).length === 0) return fail(400, 'COMMAND_TITLE_REQUIRED', 'Command title is required');
  const registry = registryOf(env.state);
  let commands = registry.commands.get(bot.id);
  if (commands === undefined) {
    commands = new Map();
    registry.commands.set(bot.id, commands);
  }
  const existing = commands.get(command.toLowerCase());
  if (existing !== undefined) return { ok: true, result: { command: commandObject(bot.id, existing) } };
  const record: CommandRecord = {
    id: registry.nextCommandId++,
    command,
    common: boolParam(fields, 'common'),
    hidden,
    extranetSupport: boolParam(fields, 'extranetSupport'),
    title,
  };
  commands.set(command.toLowerCase(), record);
  return { ok: true, result: { command: commandObject(bot.id, record) } };
};

/** Command.list (command-list.md): the bot's commands, `title` in the portal language (en here). */
const commandList: MethodHandler = (env, call) => {
  if (intParam(call.params, 'botId') === undefined) return fail(400, 'BOT_ID_REQUIRED', 'Bot ID is required');
  const bot = resolveOwnedBot(env, call);
  if (isOutcome(bot)) return bot;
  const commands = [...(registryOf(env.state).commands.get(bot.id)?.values() ?? [])].map((record) => ({
    ...commandObject(bot.id, record),
    title: record.title.en ?? Object.values(record.title)[0] ?? '',
    params: '',
    category: bot.code,
    context: '',
  }));
  return { ok: true, result: { commands } };
};

/** Lower-cased method name → handler, spread into rest-methods.ts's table. */
export const BOT_REGISTRY_METHODS: readonly (readonly [string, MethodHandler])[] = [
  ['imbot.v2.bot.register', botRegister],
  ['imbot.v2.bot.list', botList],
  ['imbot.v2.bot.get', botGet],
  ['imbot.v2.bot.unregister', botUnregister],
  ['imbot.v2.command.register', commandRegister],
  ['imbot.v2.command.list', commandList],
];
