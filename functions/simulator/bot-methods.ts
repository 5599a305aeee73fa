// The imbot.v2 methods a bot calls after an event, with the parameters, limits
// and error codes of their doc pages (api-reference/chat-bots/chat-bots-v2/imbot.v2/…):
// Bot.register/update/unregister/list, Command.register/update/answer,
// Chat.Message.send/update/delete/read, Chat.InputAction.notify. Each call
// that acts is recorded (sim.records) and acts on the messenger, so a bot's
// message is a real message that its chats' members see as events.
import { MAX_BOT_TOKEN_LENGTH, appKeyOf, botObjectOf, type BotRegistration, type PortalBot } from './portal-state.js';
import type { BotType } from './payloads.js';
import { boolParam, intParam, param, stringParam, type Params } from './params.js';
import type { AuthenticatedCall, MethodEnvironment, MethodHandler, MethodOutcome } from './rest-methods.js';

const BOT_TYPES: readonly BotType[] = ['bot', 'network', 'openline', 'supervisor', 'personal'];

/** imbot.v2/ui/chat-input-action-notify.md: the status codes; none means "typing". */
export const INPUT_ACTION_CODES = [
  'IMBOT_AGENT_ACTION_THINKING',
  'IMBOT_AGENT_ACTION_SEARCHING',
  'IMBOT_AGENT_ACTION_GENERATING',
  'IMBOT_AGENT_ACTION_ANALYZING',
  'IMBOT_AGENT_ACTION_PROCESSING',
  'IMBOT_AGENT_ACTION_TRANSLATING',
  'IMBOT_AGENT_ACTION_CONNECTING',
  'IMBOT_AGENT_ACTION_CHECKING',
  'IMBOT_AGENT_ACTION_CALCULATING',
  'IMBOT_AGENT_ACTION_READING_DOCS',
  'IMBOT_AGENT_ACTION_COMPOSING',
] as const;

/** imbot.v2/messages/chat-message-reaction-add.md "Available Reaction Codes" (the list may change without notice). */
export const REACTION_CODES = [
  'like',
  'dislike',
  'faceWithTearsOfJoy',
  'redHeart',
  'neutralFace',
  'fire',
  'cry',
  'slightlySmilingFace',
  'winkingFace',
  'laugh',
  'kiss',
  'wonder',
  'slightlyFrowningFace',
  'loudlyCryingFace',
  'faceWithStuckOutTongue',
  'faceWithStuckOutTongueAndWinkingEye',
  'smilingFaceWithSunglasses',
  'confusedFace',
  'flushedFace',
  'thinkingFace',
  'angry',
  'smilingFaceWithHorns',
  'faceWithThermometer',
  'facepalm',
  'poo',
  'flexedBiceps',
  'clappingHands',
  'raisedHand',
  'smilingFaceWithHeartEyes',
  'smilingFaceWithHearts',
  'pleadingFace',
  'relievedFace',
  'foldedHands',
  'okHand',
  'signHorns',
  'loveYouGesture',
  'clownFace',
  'partyingFace',
  'questionMark',
  'exclamationMark',
  'lightBulb',
  'bomb',
  'sleepingSymbol',
  'crossMark',
  'whiteHeavyCheckMark',
  'eyes',
  'handshake',
  'hundredPoints',
] as const;

function fail(status: number, code: string, description: string): MethodOutcome {
  return { ok: false, status, code, description };
}

function isOutcome(value: unknown): value is MethodOutcome {
  return typeof value === 'object' && value !== null && 'ok' in value;
}

function objectParam(params: Params, name: string): Params | undefined {
  const raw = param(params, name);
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Params) : undefined;
}

function optionalBool(params: Params, name: string): boolean | undefined {
  return param(params, name) === undefined ? undefined : boolParam(params, name);
}

/**
 * The bot a call acts for: `botId` required, `botToken` with webhook auth, the
 * calling application must own it. A wrong `botToken` is another
 * application's key: BOT_OWNERSHIP_ERROR ("Bot is registered by another
 * application"). `allowDeleted` lets Event.get read the final ONIMBOTV2DELETE.
 */
export function resolveBot(env: MethodEnvironment, call: AuthenticatedCall, options: { allowDeleted?: boolean } = {}): PortalBot | MethodOutcome {
  const botId = intParam(call.params, 'botId');
  if (botId === undefined) return fail(400, 'BOT_ID_REQUIRED', 'Bot ID is required');
  if (botId === 'invalid') return fail(400, 'BOT_NOT_FOUND', 'Bot not found');
  const bot = env.state.bot(botId);
  if (bot === undefined || (bot.deleted && options.allowDeleted !== true)) return fail(400, 'BOT_NOT_FOUND', 'Bot not found');
  const token = stringParam(call.params, 'botToken');
  if (call.auth === 'webhook' && (token === undefined || token === '')) {
    return fail(400, 'BOT_TOKEN_NOT_SPECIFIED', 'Bot token is not specified');
  }
  const owned = call.auth === 'oauth' && bot.clientId !== undefined ? bot.clientId === call.clientId : bot.ownerUserId === call.userId;
  if (!owned) return fail(403, 'BOT_OWNERSHIP_ERROR', 'Bot is registered by another application');
  if (token !== undefined && token !== '' && token !== bot.token) return fail(403, 'BOT_OWNERSHIP_ERROR', 'Bot is registered by another application');
  return bot;
}

function withBot(handler: (env: MethodEnvironment, call: AuthenticatedCall, bot: PortalBot) => MethodOutcome): MethodHandler {
  return (env, call) => {
    const bot = resolveBot(env, call);
    return isOutcome(bot) ? bot : handler(env, call, bot);
  };
}

function botAnswer(env: MethodEnvironment, bot: PortalBot): MethodOutcome {
  return { ok: true, result: { bot: botObjectOf(bot), users: [env.messenger.userObject(bot.id)] } };
}

function messageFields(call: AuthenticatedCall): Params {
  return objectParam(call.params, 'fields') ?? {};
}

/** Text and attachments of `fields` (chat-message-send.md): empty text without attach/keyboard → EMPTY_MESSAGE. */
function outgoing(fields: Params): { text: string; params: Record<string, unknown> } | undefined {
  const text = stringParam(fields, 'message') ?? '';
  const attach = param(fields, 'attach');
  const keyboard = param(fields, 'keyboard');
  const has = (v: unknown): boolean => (Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null && v !== '');
  if (text.trim() === '' && !has(attach) && !has(keyboard)) return undefined;
  const params: Record<string, unknown> = {};
  if (has(attach)) params.ATTACH = attach;
  if (has(keyboard)) params.KEYBOARD = keyboard;
  return { text, params };
}

const register: MethodHandler = (env, call) => {
  const fields = objectParam(call.params, 'fields');
  const code = fields === undefined ? undefined : stringParam(fields, 'code');
  if (fields === undefined || code === undefined || code === '') return fail(400, 'BOT_CODE_REQUIRED', 'Bot code is required');
  const properties = objectParam(fields, 'properties');
  const name = properties === undefined ? undefined : stringParam(properties, 'name');
  if (properties === undefined || name === undefined || name === '') return fail(400, 'BOT_PROPERTIES_REQUIRED', 'Bot properties are required');
  const token = stringParam(fields, 'botToken');
  if (call.auth === 'webhook' && (token === undefined || token === '')) return fail(400, 'BOT_TOKEN_NOT_SPECIFIED', 'Bot token is not specified');
  const type = stringParam(fields, 'type') ?? 'bot';
  if (!(BOT_TYPES as readonly string[]).includes(type)) return fail(400, 'BOT_INVALID_TYPE', `Invalid bot type. Allowed values: ${BOT_TYPES.join(', ')}`);
  const eventMode = stringParam(fields, 'eventMode') ?? 'fetch';
  if (eventMode !== 'fetch' && eventMode !== 'webhook') return fail(400, 'BOT_INVALID_EVENT_MODE', 'Invalid event mode. Allowed values: fetch, webhook');
  if (eventMode === 'webhook') {
    if ((stringParam(fields, 'webhookUrl') ?? '') === '') return fail(400, 'BOT_WEBHOOK_URL_REQUIRED', 'Webhook URL is required');
    return fail(400, 'BOT_REGISTER_FAILED', 'The simulator delivers bot events in fetch mode only (eventMode: "fetch")');
  }
  const gender = properties === undefined ? undefined : stringParam(properties, 'gender');
  const input: BotRegistration = {
    code,
    clientId: call.auth === 'oauth' ? call.clientId : undefined,
    type: type as BotType,
    token: call.auth === 'webhook' ? token : undefined,
    name,
    lastName: stringParam(properties, 'lastName'),
    workPosition: stringParam(properties, 'workPosition'),
    color: stringParam(properties, 'color'),
    gender: gender === 'F' ? 'F' : gender === 'M' ? 'M' : undefined,
    isHidden: optionalBool(fields, 'isHidden'),
    isReactionsEnabled: optionalBool(fields, 'isReactionsEnabled'),
    isSupportOpenline: optionalBool(fields, 'isSupportOpenline'),
    backgroundId: stringParam(fields, 'backgroundId'),
  };
  const outcome = env.state.registerBot(call.userId, input);
  if (!outcome.ok) return fail(400, outcome.code, outcome.description);
  env.records.botCalls.push({ method: 'imbot.v2.Bot.register', botId: outcome.bot.id, created: outcome.created, at: call.now });
  return botAnswer(env, outcome.bot);
};

const update = withBot((env, call, bot) => {
  const fields = objectParam(call.params, 'fields');
  if (fields === undefined) return fail(400, 'BOT_UPDATE_FAILED', 'Parameter "fields" is required');
  const newToken = stringParam(fields, 'botToken');
  if (newToken !== undefined && newToken.length > MAX_BOT_TOKEN_LENGTH) {
    return fail(400, 'BOT_TOKEN_INVALID_LENGTH', `botToken must be at most ${MAX_BOT_TOKEN_LENGTH} characters`);
  }
  const properties = objectParam(fields, 'properties') ?? {};
  const name = stringParam(properties, 'name');
  if (name !== undefined && name !== '') bot.name = name;
  const lastName = stringParam(properties, 'lastName');
  if (lastName !== undefined) bot.lastName = lastName;
  const workPosition = stringParam(properties, 'workPosition');
  if (workPosition !== undefined) bot.workPosition = workPosition;
  const color = stringParam(properties, 'color');
  if (color !== undefined) bot.color = color;
  const isHidden = optionalBool(fields, 'isHidden');
  if (isHidden !== undefined) bot.isHidden = isHidden;
  const isReactionsEnabled = optionalBool(fields, 'isReactionsEnabled');
  if (isReactionsEnabled !== undefined) bot.isReactionsEnabled = isReactionsEnabled;
  const isSupportOpenline = optionalBool(fields, 'isSupportOpenline');
  if (isSupportOpenline !== undefined) bot.isSupportOpenline = isSupportOpenline;
  if (newToken !== undefined && newToken !== '' && call.auth === 'webhook') bot.token = newToken;
  env.records.botCalls.push({ method: 'imbot.v2.Bot.update', botId: bot.id, at: call.now });
  return botAnswer(env, bot);
});

const unregister = withBot((env, call, bot) => {
  env.messenger.removeBot(bot);
  env.records.botCalls.push({ method: 'imbot.v2.Bot.unregister', botId: bot.id, at: call.now });
  return { ok: true, result: { result: true } };
});

const list: MethodHandler = (env, call) => {
  const token = stringParam(call.params, 'botToken');
  if (call.auth === 'webhook' && (token === undefined || token === '')) return fail(400, 'BOT_TOKEN_NOT_SPECIFIED', 'Bot token is not specified');
  const appKey = appKeyOf(call.auth === 'oauth' ? call.clientId : undefined, call.userId);
  const filter = objectParam(call.params, 'filter');
  const type = filter === undefined ? undefined : stringParam(filter, 'type');
  const limitRaw = intParam(call.params, 'limit');
  const offsetRaw = intParam(call.params, 'offset');
  const limit = typeof limitRaw === 'number' && limitRaw > 0 ? limitRaw : 50;
  const offset = typeof offsetRaw === 'number' && offsetRaw > 0 ? offsetRaw : 0;
  const mine = env.state
    .allBots()
    .filter((b) => !b.deleted && appKeyOf(b.clientId, b.ownerUserId) === appKey && (type === undefined || b.type === type));
  const page = mine.slice(offset, offset + limit);
  return {
    ok: true,
    result: { bots: page.map((b) => botObjectOf(b)), users: page.map((b) => env.messenger.userObject(b.id)), hasNextPage: offset + limit < mine.length },
  };
};

/** `{langCode: text}` (command-register.md: title, params) or a plain string → the English (or first) text. */
function localized(raw: unknown): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw !== 'object' || raw === null) return '';
  const byLanguage = raw as Params;
  const text = byLanguage.en ?? Object.values(byLanguage)[0];
  return typeof text === 'string' ? text : '';
}

const commandRegister = withBot((env, call, bot) => {
  const fields = objectParam(call.params, 'fields');
  const raw = fields === undefined ? undefined : param(fields, 'command');
  if (fields === undefined || raw === undefined || raw === null || raw === '') return fail(400, 'COMMAND_REQUIRED', 'Command is required');
  if (typeof raw !== 'string') return fail(400, 'COMMAND_NAME_INVALID', 'Command name is invalid');
  const word = raw.replace(/^\//, '');
  if (!/^[^\s/]+$/.test(word)) return fail(400, 'COMMAND_NAME_INVALID', 'Command name is invalid');
  const hidden = boolParam(fields, 'hidden');
  const title = localized(param(fields, 'title'));
  if (!hidden && title === '') return fail(400, 'COMMAND_TITLE_REQUIRED', 'Command title is required');
  const params = localized(param(fields, 'params'));
  const command = env.state.addCommand(bot, {
    command: `/${word}`,
    title,
    params,
    common: boolParam(fields, 'common'),
    hidden,
    extranetSupport: boolParam(fields, 'extranetSupport'),
  });
  return {
    ok: true,
    result: { command: { id: command.id, botId: bot.id, command: command.command, common: command.common, hidden: command.hidden, extranetSupport: command.extranetSupport } },
  };
});

/**
 * imbot.v2/commands/command-update.md: `commandId` + `fields` (each key optional;
 * `title`/`params` per language, the simulator keeps one text) → `{command}`.
 * COMMAND_NOT_FOUND for another bot's or an unknown id; COMMAND_ALREADY_EXISTS for a taken name.
 */
const commandUpdate = withBot((_env, call, bot) => {
  const rawId = param(call.params, 'commandId');
  const commandId = typeof rawId === 'string' ? Number(rawId) : rawId;
  const existing = typeof commandId === 'number' ? bot.commands.get(commandId) : undefined;
  if (existing === undefined) return fail(400, 'COMMAND_NOT_FOUND', 'Command not found');
  const fields = objectParam(call.params, 'fields') ?? {};
  let command = existing.command;
  const rawName = param(fields, 'command');
  if (rawName !== undefined) {
    if (typeof rawName !== 'string') return fail(400, 'COMMAND_NAME_INVALID', 'Command name is invalid');
    const word = rawName.replace(/^\//, '');
    if (word === '') return fail(400, 'COMMAND_NAME_EMPTY', 'Command name is empty');
    if (!/^[^\s/]+$/.test(word)) return fail(400, 'COMMAND_NAME_INVALID', 'Command name is invalid');
    command = `/${word}`;
    if ([...bot.commands.values()].some((c) => c.id !== existing.id && c.command === command)) return fail(400, 'COMMAND_ALREADY_EXISTS', 'Command already exists');
  }
  const has = (name: string): boolean => param(fields, name) !== undefined;
  const updated = {
    ...existing,
    command,
    ...(has('title') ? { title: localized(param(fields, 'title')) } : {}),
    ...(has('params') ? { params: localized(param(fields, 'params')) } : {}),
    ...(has('common') ? { common: boolParam(fields, 'common') } : {}),
    ...(has('hidden') ? { hidden: boolParam(fields, 'hidden') } : {}),
    ...(has('extranetSupport') ? { extranetSupport: boolParam(fields, 'extranetSupport') } : {}),
  };
  bot.commands.set(existing.id, updated);
  return {
    ok: true,
    result: { command: { id: updated.id, botId: bot.id, command: updated.command, common: updated.common, hidden: updated.hidden, extranetSupport: updated.extranetSupport } },
  };
});

const commandAnswer = withBot((env, call, bot) => {
  const commandId = intParam(call.params, 'commandId');
  const messageId = intParam(call.params, 'messageId');
  const dialogId = stringParam(call.params, 'dialogId') ?? '';
  if (typeof commandId !== 'number' || !bot.commands.has(commandId) || typeof messageId !== 'number' || dialogId === '') {
    return fail(400, 'COMMAND_ANSWER_FAILED', 'Command answer failed');
  }
  const content = outgoing(messageFields(call));
  if (content === undefined) return fail(400, 'COMMAND_ANSWER_FAILED', 'Command answer failed: the message is empty');
  // Works where the bot is not a member too (posted as a system message): the
  // room is resolved as the user who gave the command sees it.
  const room = env.messenger.resolveDialog(bot.id, dialogId) ?? findRoomOfMessage(env, messageId);
  if (room === undefined) return fail(400, 'COMMAND_ANSWER_FAILED', 'Command answer failed: unknown dialog');
  const member = room.members.has(bot.id);
  const message = env.messenger.post(room, { authorId: bot.id, text: content.text, params: content.params, isSystem: !member || boolParam(messageFields(call), 'system') });
  env.records.commandAnswers.push({ botId: bot.id, commandId, messageId, dialogId, text: message.text, answerId: message.id, at: call.now });
  env.recordMessage({ method: call.method, botId: bot.id, dialogId, text: message.text, at: call.now }, message.id);
  return { ok: true, result: { result: true } };
});

function findRoomOfMessage(env: MethodEnvironment, messageId: number) {
  return env.messenger.roomOfMessage(messageId);
}

const messageSend = withBot((env, call, bot) => {
  const dialogId = stringParam(call.params, 'dialogId') ?? '';
  if (dialogId === '') return fail(400, 'DIALOG_ID_EMPTY', 'Parameter "dialogId" is required');
  const fields = messageFields(call);
  const content = outgoing(fields);
  if (content === undefined) return fail(400, 'EMPTY_MESSAGE', 'Message is empty');
  const room = env.messenger.resolveDialog(bot.id, dialogId);
  if (room === undefined) return fail(403, 'ACCESS_DENIED', 'Access denied');
  const message = env.messenger.post(room, { authorId: bot.id, text: content.text, params: content.params, isSystem: boolParam(fields, 'system') });
  env.recordMessage({ method: call.method, botId: bot.id, dialogId, text: message.text, at: call.now }, message.id);
  const templateId = stringParam(fields, 'templateId');
  return { ok: true, result: { id: message.id, uuidMap: templateId === undefined ? {} : { [templateId]: message.id } } };
});

const messageUpdate = withBot((env, call, bot) => {
  const messageId = intParam(call.params, 'messageId');
  const room = typeof messageId === 'number' ? env.messenger.roomOfMessage(messageId) : undefined;
  const stored = typeof messageId === 'number' ? room?.messages.get(messageId) : undefined;
  if (room === undefined || stored === undefined || stored.deleted || stored.message.authorId !== bot.id || typeof messageId !== 'number') {
    return fail(403, 'ACCESS_DENIED', 'Access denied');
  }
  const text = stringParam(messageFields(call), 'message') ?? stored.message.text;
  const message = env.messenger.edit(room, messageId, bot.id, text);
  env.records.edits.push({ botId: bot.id, messageId, text: message?.text ?? text, at: call.now });
  return { ok: true, result: { result: true } };
});

const messageDelete = withBot((env, call, bot) => {
  const messageId = intParam(call.params, 'messageId');
  const room = typeof messageId === 'number' ? env.messenger.roomOfMessage(messageId) : undefined;
  const stored = typeof messageId === 'number' ? room?.messages.get(messageId) : undefined;
  const isAdmin = room !== undefined && room.chat.owner === bot.id;
  if (room === undefined || stored === undefined || stored.deleted || typeof messageId !== 'number' || (stored.message.authorId !== bot.id && !isAdmin)) {
    return fail(403, 'ACCESS_DENIED', 'Access denied');
  }
  env.messenger.remove(room, messageId, bot.id);
  env.records.deletes.push({ botId: bot.id, messageId, complete: boolParam(call.params, 'complete'), at: call.now });
  return { ok: true, result: { result: true } };
});

const messageRead = withBot((env, call, bot) => {
  const dialogId = stringParam(call.params, 'dialogId') ?? '';
  const room = dialogId === '' ? undefined : env.messenger.resolveDialog(bot.id, dialogId);
  if (room === undefined || !room.members.has(bot.id)) return fail(403, 'ACCESS_DENIED', 'Access denied');
  const upTo = intParam(call.params, 'messageId');
  if (upTo === 'invalid' || (typeof upTo === 'number' && !room.messages.has(upTo))) return fail(400, 'MESSAGE_NOT_FOUND', 'Message not found');
  const ids = [...room.messages.values()].filter((m) => !m.deleted && (upTo === undefined || m.message.id <= upTo)).map((m) => m.message.id);
  const lastId = ids.at(-1) ?? 0;
  env.records.reads.push({ botId: bot.id, dialogId, ...(upTo === undefined ? {} : { messageId: upTo }), at: call.now });
  return { ok: true, result: { chatId: room.chat.id, lastId, counter: 0, viewedMessages: ids } };
});

const inputActionNotify = withBot((env, call, bot) => {
  const dialogId = stringParam(call.params, 'dialogId') ?? '';
  const room = dialogId === '' ? undefined : env.messenger.resolveDialog(bot.id, dialogId);
  if (room === undefined || !room.members.has(bot.id)) return fail(403, 'ACCESS_DENIED', 'Access denied');
  const statusMessageCode = stringParam(call.params, 'statusMessageCode');
  if (statusMessageCode !== undefined && statusMessageCode !== '' && !(INPUT_ACTION_CODES as readonly string[]).includes(statusMessageCode)) {
    return fail(400, 'INVALID_ARGUMENTS', `Unknown statusMessageCode; one of ${INPUT_ACTION_CODES.join(', ')}`);
  }
  const duration = intParam(call.params, 'duration');
  if (duration === 'invalid' || (typeof duration === 'number' && (duration < 1 || duration > 600))) {
    return fail(400, 'INVALID_ARGUMENTS', 'Parameter "duration" must be 1–600 seconds');
  }
  env.records.typing.push({
    botId: bot.id,
    dialogId,
    ...(statusMessageCode === undefined || statusMessageCode === '' ? {} : { statusMessageCode }),
    ...(duration === undefined ? {} : { duration }),
    at: call.now,
  });
  return { ok: true, result: { result: true } };
});

/**
 * imbot.v2/messages/chat-message-reaction-add.md: the bot must be in the
 * message's chat (ACCESS_DENIED), the code must exist (REACTION_NOT_FOUND), and
 * the same reaction twice is REACTION_ALREADY_SET. The message's author (a bot
 * too) sees ONIMBOTV2REACTIONCHANGE / ONIMV2REACTIONCHANGE.
 */
const reactionAdd = withBot((env, call, bot) => {
  const messageId = intParam(call.params, 'messageId');
  const room = typeof messageId === 'number' ? env.messenger.roomOfMessage(messageId) : undefined;
  const stored = typeof messageId === 'number' ? room?.messages.get(messageId) : undefined;
  if (room === undefined || stored === undefined || stored.deleted || typeof messageId !== 'number' || !room.members.has(bot.id)) {
    return fail(403, 'ACCESS_DENIED', 'Access denied');
  }
  const reaction = stringParam(call.params, 'reaction') ?? '';
  if (!(REACTION_CODES as readonly string[]).includes(reaction)) return fail(400, 'REACTION_NOT_FOUND', 'Reaction not found');
  if (env.records.reactions.some((r) => r.botId === bot.id && r.messageId === messageId && r.reaction === reaction)) {
    return fail(400, 'REACTION_ALREADY_SET', 'Reaction already set');
  }
  env.messenger.react(room, messageId, bot.id, reaction, 'add');
  env.records.reactions.push({ botId: bot.id, messageId, reaction, at: call.now });
  return { ok: true, result: { result: true } };
});

/** imbot.v2/bots/bot-get.md: by `botId` or `code` (of the caller's app); answers `{bot, users}` like register. */
const get: MethodHandler = (env, call) => {
  const code = stringParam(call.params, 'code');
  if (intParam(call.params, 'botId') === undefined && code !== undefined) {
    const appKey = appKeyOf(call.auth === 'oauth' ? call.clientId : undefined, call.userId);
    const found = env.state.allBots().find((b) => !b.deleted && b.code === code && appKeyOf(b.clientId, b.ownerUserId) === appKey);
    if (found === undefined) return fail(400, 'BOT_NOT_FOUND', 'Bot not found');
    const bot = resolveBot(env, { ...call, params: { ...call.params, botId: found.id } });
    return isOutcome(bot) ? bot : botAnswer(env, bot);
  }
  const bot = resolveBot(env, call);
  return isOutcome(bot) ? bot : botAnswer(env, bot);
};

/** imbot.v2/commands/command-list.md: `{commands: Command[]}` of the bot. */
const commandList = withBot((_env, _call, bot) => ({
  ok: true,
  result: {
    commands: [...bot.commands.values()].map((c) => ({
      id: c.id,
      botId: bot.id,
      command: c.command,
      title: c.title,
      params: c.params,
      common: c.common,
      hidden: c.hidden,
      extranetSupport: c.extranetSupport,
      category: bot.name ?? '',
      context: '',
    })),
  },
}));

export const BOT_METHODS: ReadonlyArray<readonly [string, MethodHandler]> = [
  ['imbot.v2.bot.register', register],
  ['imbot.v2.bot.update', update],
  ['imbot.v2.bot.unregister', unregister],
  ['imbot.v2.bot.list', list],
  ['imbot.v2.bot.get', get],
  ['imbot.v2.command.register', commandRegister],
  ['imbot.v2.command.update', commandUpdate],
  ['imbot.v2.command.answer', commandAnswer],
  ['imbot.v2.command.list', commandList],
  ['imbot.v2.chat.message.send', messageSend],
  ['imbot.v2.chat.message.update', messageUpdate],
  ['imbot.v2.chat.message.delete', messageDelete],
  ['imbot.v2.chat.message.read', messageRead],
  ['imbot.v2.chat.inputaction.notify', inputActionNotify],
  ['imbot.v2.chat.message.reaction.add', reactionAdd],
];
