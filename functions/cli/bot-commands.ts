// `b24-pipeline bot …`: set up a fetch-mode bot the imbot.v2 way
// (api-reference/chat-bots/chat-bots-v2/imbot.v2/bots/bot-register.md) and
// put its botId / botToken where the source reads them (bot-store.ts).
//   bot register --code <c> --name <n> [--type bot|personal|supervisor|openline] [--bot-token <t>]
//   bot commands [--add /help "<title>"]      imbot.v2.Command.register / Command.list
//   bot commands --sync [--config <file>]     the source config's `commands` kept registered (command-sync.ts)
//   bot list                                   imbot.v2.Bot.list
//   bot unregister [--bot-id <id>]             imbot.v2.Bot.unregister
// Credentials: locally the same B24_* variables / `.env` as dev mode; with
// --stack the source's secret. The bot token is never printed.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type Bitrix24Client, createBitrix24Client } from '../bitrix24/client.js';
import { Bitrix24Error, BotError } from '../bitrix24/errors.js';
import { LocalRuntimeError } from '../local/errors.js';
import { loadEnvWithDotEnv, PORTAL_ENV, portalSettingsFromEnv } from '../local/portal-env.js';
import { readFile } from 'node:fs/promises';
import { type BotCommandConfig, parsePipelineConfig, secretNameOf } from '../shared/config.js';
import { type ListedCommand, listedCommandOf, planCommandSync } from './command-sync.js';
import { type BotStore, DotEnvBotStore, type SavedBot, SecretBotStore } from './bot-store.js';
import { BotNotConfiguredError, BotTokenUnknownError, CliError, CliUsageError, ConfirmationRequiredError, MissingCredentialsError } from './errors.js';
import type { CliIo } from './main.js';
import { sourceClientFor } from './source-credentials.js';
import { resolveTarget } from './target.js';
import { OUTPUT_OPTIONS, STACK_OPTIONS } from './common-options.js';

/** bot-register.md: "Maximum length — 40 characters"; change-log.md BOT-BC-0506-1 (BOT_TOKEN_INVALID_LENGTH). */
export const MAX_BOT_TOKEN_LENGTH = 40;
/** index.md "Bot Types" (network is not a fetch-mode pipeline bot). */
export const BOT_TYPES = ['bot', 'personal', 'supervisor', 'openline'] as const;
const LIST_PAGE = 50;
const LIST_MAX_PAGES = 20;

export const BOT_USAGE = `Usage: b24-pipeline bot <command> [options]

Commands
  register --code <code> --name <name> [--type bot|personal|supervisor|openline] [--bot-token <t>] [--work-position <text>]
                     imbot.v2.Bot.register (eventMode "fetch"), idempotent per code; saves botId and botToken
                     where the source reads them. Webhook auth: botToken ≤ ${MAX_BOT_TOKEN_LENGTH} characters, generated when
                     not given. OAuth apps: no botToken (only the registering app reads the bot's events).
  commands [--add <command> <title>] [--lang <xx>] [--common] [--hidden]
                     imbot.v2.Command.register (e.g. --add /help "Show help"); without --add: imbot.v2.Command.list
  commands --sync [--config <file>] [--source <id>] [--lang <xx>]
                     the bot source's "commands" in the pipeline config (default ./pipeline.config.json; the
                     only bot source, or --source): registers missing ones, updates changed ones
                     (imbot.v2.Command.update), lists the bot's commands the config does not name (kept)
  list               imbot.v2.Bot.list: the bots of these credentials
  unregister [--yes-i-understand]
                     imbot.v2.Bot.unregister, then forgets botId/botToken

Where
  (default)          local: credentials from B24_WEBHOOK_URL or B24_OAUTH_* (environment or .env), botId/botToken
                     saved to .env as ${PORTAL_ENV.botId} / ${PORTAL_ENV.botToken}   [--env-file <path>]
                     [--source <id>: the dev-mode source whose OAuth token file is shared, default B24_SOURCE_ID or "dev"]
  --stack <name> --source <id> [--region <r>]
                     a deployed stack: the source's Secrets Manager secret (botToken written there);
                     botId goes into the source configuration (the command prints it)
  --bot-id <id> --bot-token <t>  act on this bot instead of the saved one

  --json             machine-readable output; -h, --help
`;

const OPTIONS = {
  ...OUTPUT_OPTIONS,
  ...STACK_OPTIONS,
  source: { type: 'string' },
  local: { type: 'boolean' },
  'env-file': { type: 'string' },
  code: { type: 'string' },
  name: { type: 'string' },
  type: { type: 'string' },
  'work-position': { type: 'string' },
  'bot-token': { type: 'string' },
  'bot-id': { type: 'string' },
  add: { type: 'string' },
  sync: { type: 'boolean' },
  config: { type: 'string' },
  lang: { type: 'string' },
  common: { type: 'boolean' },
  hidden: { type: 'boolean' },
  'yes-i-understand': { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

const SUBCOMMANDS = ['register', 'commands', 'list', 'unregister'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

/** What Bot.register / Bot.list / Bot.get answer about a bot (bot-register.md "Fields of the Bot Object"). */
export interface PortalBotInfo {
  readonly id: number;
  readonly code: string;
  readonly type: string;
  readonly eventMode: string;
}

interface Output {
  readonly json: unknown;
  readonly text: string;
}

/** The Bitrix24 side of the bot commands: a client, its auth kind, and where the bot is saved. */
interface BotContext {
  readonly client: Bitrix24Client;
  readonly auth: 'webhook' | 'oauth';
  readonly store: BotStore;
  /** Variables set in the process environment that win over what the store saves (local only). */
  readonly shadowing: readonly string[];
  close(): Promise<void>;
}

// ---- pure decisions ------------------------------------------------------------

/** A botToken of ≤ 40 characters from a CSPRNG (30 bytes → 40 base64url characters). */
export function generateBotToken(random: (size: number) => Buffer = randomBytes): string {
  return random(30).toString('base64url').slice(0, MAX_BOT_TOKEN_LENGTH);
}

export function checkBotToken(token: string): void {
  if (token.length > MAX_BOT_TOKEN_LENGTH) {
    throw new CliUsageError(
      `--bot-token is ${token.length} characters long; Bitrix24 accepts at most ${MAX_BOT_TOKEN_LENGTH} and refuses longer ones with BOT_TOKEN_INVALID_LENGTH ` +
        '(imbot.v2.Bot.register). Pass a shorter token, or leave --bot-token out and one is generated.',
    );
  }
  if (token.trim() !== token || token === '') throw new CliUsageError('--bot-token must be non-empty, without leading or trailing spaces.');
}

export type TokenPlan =
  | { readonly kind: 'none' }
  | { readonly kind: 'known'; readonly token: string; readonly origin: 'given' | 'saved' }
  | { readonly kind: 'new'; readonly token: string };

/**
 * Which botToken `bot register` uses. OAuth: none (index.md: the bot is tied
 * to the app's client_id). Webhook: the given one; for a bot already on the
 * portal the saved one when it is this bot's (or a token saved by a run that
 * stopped before it saved the id); for a new bot a fresh one — never another
 * bot's saved token (botToken is unique per bot). `undefined` when the bot
 * exists and its token is unknown here.
 */
export function planBotToken(input: {
  readonly auth: 'webhook' | 'oauth';
  readonly given?: string;
  readonly saved: SavedBot;
  readonly existing?: PortalBotInfo;
  readonly generate: () => string;
}): TokenPlan | undefined {
  const { auth, given, saved, existing } = input;
  if (auth === 'oauth') return { kind: 'none' };
  if (given !== undefined) return { kind: 'known', token: given, origin: 'given' };
  if (existing !== undefined) {
    if (saved.botToken !== undefined && (saved.botId === undefined || saved.botId === existing.id)) return { kind: 'known', token: saved.botToken, origin: 'saved' };
    return undefined;
  }
  if (saved.botToken !== undefined && saved.botId === undefined) return { kind: 'known', token: saved.botToken, origin: 'saved' };
  return { kind: 'new', token: input.generate() };
}

function botInfoOf(value: unknown, method: string): PortalBotInfo {
  const bot = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const id = typeof bot.id === 'string' ? Number(bot.id) : bot.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
    throw new CliError(`${method} answered without a bot id (result.bot.id); the portal's API revision may differ: check imbot.v2.Revision.get.`);
  }
  return {
    id,
    code: typeof bot.code === 'string' ? bot.code : '',
    type: typeof bot.type === 'string' ? bot.type : 'bot',
    eventMode: typeof bot.eventMode === 'string' ? bot.eventMode : 'fetch',
  };
}

// ---- Bitrix24 calls ---------------------------------------------------------------

function tokenParam(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { botToken: token };
}

/** Every bot of these credentials (bot-list.md: `limit`/`offset` pages, `hasNextPage`). */
async function listBots(client: Bitrix24Client, token: string | undefined): Promise<PortalBotInfo[]> {
  const bots: PortalBotInfo[] = [];
  for (let page = 0; page < LIST_MAX_PAGES; page++) {
    const { result } = await client.call<{ bots?: unknown[]; hasNextPage?: boolean }>('imbot.v2.Bot.list', {
      ...tokenParam(token),
      limit: LIST_PAGE,
      offset: page * LIST_PAGE,
    });
    for (const bot of result.bots ?? []) bots.push(botInfoOf(bot, 'imbot.v2.Bot.list'));
    if (result.hasNextPage !== true) break;
  }
  return bots;
}

/** Proves a token is this bot's before it is saved (a wrong one answers BOT_OWNERSHIP_ERROR, bot-update.md). */
async function proveToken(client: Bitrix24Client, code: string, botId: number, token: string, savedTo: string): Promise<void> {
  try {
    await client.call('imbot.v2.Bot.get', { botId, botToken: token });
  } catch (error) {
    if (error instanceof BotError) throw new BotTokenUnknownError(code, botId, `${savedTo} (the token there or given is refused: ${error.code})`);
    throw error;
  }
}

// ---- where the bot lives ------------------------------------------------------------

async function localContext(values: Values, io: CliIo): Promise<BotContext> {
  const envFile = resolve(io.cwd, values['env-file'] ?? '.env');
  const env = await loadEnvWithDotEnv(io.env, envFile);
  let settings;
  try {
    // Only the portal credentials matter here: a half-written bot (id without token) must not stop `bot register` from mending it.
    // The token file dev mode keeps the rotated OAuth refresh token in (dev.ts): one chain for both.
    const tokenFile = resolve(io.cwd, '.b24-pipeline', `tokens-${values.source ?? env[PORTAL_ENV.sourceId] ?? 'dev'}.json`);
    settings = portalSettingsFromEnv({ ...env, [PORTAL_ENV.botId]: undefined }, { tokenFile });
  } catch (error) {
    if (error instanceof LocalRuntimeError) throw new MissingCredentialsError(`${error.message} The bot commands need scope "imbot" on the webhook or app.`, { cause: error });
    throw error;
  }
  const client = createBitrix24Client({ credentials: settings.credentials });
  const shadowing = [PORTAL_ENV.botId, PORTAL_ENV.botToken].filter((name) => (io.env[name] ?? '') !== '');
  return { client, auth: settings.credentials.kind, store: new DotEnvBotStore(envFile), shadowing, close: () => client.close() };
}

async function stackContext(stack: string, values: Values, io: CliIo): Promise<BotContext> {
  const sourceId = values.source;
  if (sourceId === undefined) throw new CliUsageError('With --stack, name the bot source with --source <id>: its secret receives the botToken.');
  const region = values.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
  const target = await resolveTarget({ stack, ...(region === undefined ? {} : { region }) }, { cwd: io.cwd, env: io.env });
  const secrets = new SecretsManagerClient(region === undefined ? {} : { region });
  try {
    const source = target.sources.find((s) => s.id === sourceId);
    if (source === undefined && !target.sourceIds.includes(sourceId)) {
      throw new BotNotConfiguredError(`Stack ${stack} has no source "${sourceId}". Sources: ${target.sourceIds.join(', ') || '(none)'}. Add a source of kind "bot" and deploy first (docs/deploy.md).`);
    }
    const secretName = target.secretNames[sourceId] ?? secretNameOf(target.prefix, source ?? { id: sourceId, secretName: undefined });
    const { client } = await sourceClientFor(target, sourceId, { cwd: io.cwd, env: io.env, ...(region === undefined ? {} : { region }) });
    const store = new SecretBotStore({ client: secrets, secretName, sourceId, ...(source?.botId === undefined ? {} : { configuredBotId: source.botId }) });
    const auth = source?.auth ?? (client.toString().includes('webhook') ? 'webhook' : 'oauth');
    return {
      client,
      auth,
      store,
      shadowing: [],
      close: async () => {
        await client.close();
        secrets.destroy();
        target.close();
      },
    };
  } catch (error) {
    secrets.destroy();
    target.close();
    throw error;
  }
}

// ---- subcommands ----------------------------------------------------------------

function requireOption(values: Values, name: 'code' | 'name'): string {
  const value = values[name]?.trim();
  if (value === undefined || value === '') throw new CliUsageError(`bot register needs --${name} <${name}> (e.g. --code support_bot --name "Support").`);
  return value;
}

async function register(context: BotContext, values: Values): Promise<Output> {
  const code = requireOption(values, 'code');
  const name = requireOption(values, 'name');
  const type = values.type ?? 'bot';
  if (!(BOT_TYPES as readonly string[]).includes(type)) throw new CliUsageError(`--type must be one of ${BOT_TYPES.join(', ')} (index.md "Bot Types"); got "${type}".`);
  const given = values['bot-token'];
  if (given !== undefined) {
    checkBotToken(given);
    if (context.auth === 'oauth') throw new CliUsageError('--bot-token applies to webhook auth only: an OAuth app\'s bots need no botToken (they are tied to its client_id).');
  }
  const { client, store, auth } = context;
  const saved = await store.read();

  // Look the code up first (Bot.list needs some botToken with a webhook; any of ours will do for the lookup).
  const lookupToken = auth === 'webhook' ? (given ?? saved.botToken ?? generateBotToken()) : undefined;
  let existing: PortalBotInfo | undefined;
  let listed = true;
  try {
    existing = (await listBots(client, lookupToken)).find((bot) => bot.code === code);
  } catch (error) {
    // A portal that refuses Bot.list for a token it does not know yet: Bot.register is idempotent per code
    // anyway (bot-register.md); the token is then checked after the call.
    if (!(error instanceof BotError)) throw error;
    listed = false;
  }
  const plan = planBotToken({ auth, saved, existing, generate: () => generateBotToken(), ...(given === undefined ? {} : { given }) });
  if (plan === undefined) throw new BotTokenUnknownError(code, existing?.id ?? 0, store.label);
  const token = plan.kind === 'none' ? undefined : plan.token;

  let bot: PortalBotInfo;
  let created: boolean;
  if (existing !== undefined) {
    if (token !== undefined) {
      await proveToken(client, code, existing.id, token, store.label);
    }
    bot = existing;
    created = false;
  } else {
    // Saved before the call: if the answer is lost or we stop, the next run finds the bot and its token.
    if (plan.kind === 'new') await store.saveToken(plan.token);
    const workPosition = values['work-position'];
    const { result } = await client.call<{ bot?: unknown }>('imbot.v2.Bot.register', {
      ...tokenParam(token),
      fields: {
        code,
        ...tokenParam(token),
        type,
        eventMode: 'fetch',
        properties: { name, ...(workPosition === undefined ? {} : { workPosition }) },
      },
    });
    bot = botInfoOf(result.bot, 'imbot.v2.Bot.register');
    created = true;
    if (!listed && token !== undefined) await proveToken(client, code, bot.id, token, store.label);
  }
  const todo = await store.saveBot({ botId: bot.id, ...(token === undefined ? {} : { botToken: token }) });
  const saidToken = token === undefined ? 'no botToken (OAuth)' : 'botToken';
  const lines = [
    `Bot "${code}" ${created ? 'registered' : 'already registered'}: id ${bot.id} (type ${bot.type}, eventMode ${bot.eventMode}).`,
    `botId and ${saidToken} saved to ${store.label} (token not shown).`,
  ];
  if (!created && bot.type !== type) lines.push(`Note: it exists with type "${bot.type}"; Bot.register does not change a bot — use imbot.v2.Bot.update, or unregister and register again.`);
  if (bot.eventMode !== 'fetch') lines.push(`Warning: eventMode is "${bot.eventMode}": imbot.v2.Event.get reads only fetch-mode bots.`);
  if (todo !== undefined) lines.push(todo);
  if (context.shadowing.length > 0) lines.push(shadowNote(context));
  return {
    json: { botId: bot.id, code, type: bot.type, eventMode: bot.eventMode, created, savedTo: store.label, tokenSaved: token !== undefined, ...(todo === undefined ? {} : { todo }) },
    text: lines.join('\n'),
  };
}

function shadowNote(context: BotContext): string {
  return `Note: ${context.shadowing.join(' and ')} ${context.shadowing.length === 1 ? 'is' : 'are'} set in the environment, which wins over ${context.store.label}: unset ${context.shadowing.length === 1 ? 'it' : 'them'} so dev mode reads the saved bot.`;
}

/** The bot a command acts on: --bot-id / --bot-token, else what is saved. */
async function savedBot(context: BotContext, values: Values): Promise<{ botId: number; botToken?: string }> {
  const saved = await context.store.read();
  const idText = values['bot-id'];
  let botId = saved.botId;
  if (idText !== undefined) {
    botId = Number(idText);
    if (!Number.isSafeInteger(botId) || botId <= 0) throw new CliUsageError(`--bot-id must be a positive integer (bot.id from imbot.v2.Bot.register); got "${idText}".`);
  }
  if (botId === undefined) throw new BotNotConfiguredError(`No bot saved in ${context.store.label}: run \`b24-pipeline bot register --code <code> --name <name>\` first, or pass --bot-id.`);
  const given = values['bot-token'];
  if (given !== undefined) checkBotToken(given);
  const botToken = context.auth === 'oauth' ? undefined : (given ?? saved.botToken);
  if (context.auth === 'webhook' && botToken === undefined) {
    throw new BotNotConfiguredError(`No botToken for bot ${botId} in ${context.store.label}: pass --bot-token (the one it was registered with).`);
  }
  return { botId, ...(botToken === undefined ? {} : { botToken }) };
}

/** The `commands` of the bot source in the pipeline config file (the only bot source, or --source). */
async function configuredCommands(values: Values, io: CliIo): Promise<{ sourceId: string; commands: readonly BotCommandConfig[]; file: string }> {
  const file = resolve(io.cwd, values.config ?? 'pipeline.config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliUsageError(`bot commands --sync reads the pipeline config, and ${file} could not be read (${error instanceof Error ? error.message : 'unknown error'}): pass --config <file>.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliUsageError(`${file} is not JSON.`);
  }
  const config = parsePipelineConfig(json, file);
  const bots = config.sources.filter((s) => s.kind === 'bot' && (values.source === undefined || s.id === values.source));
  const source = bots[0];
  if (source === undefined || bots.length > 1) {
    const all = config.sources.filter((s) => s.kind === 'bot').map((s) => s.id);
    throw new CliUsageError(
      values.source === undefined
        ? `${file} has ${all.length} bot sources (${all.join(', ') || 'none'}): name one with --source <id>.`
        : `${file} has no bot source "${values.source}" (bot sources: ${all.join(', ') || 'none'}).`,
    );
  }
  return { sourceId: source.id, commands: source.commands ?? [], file };
}

async function syncCommands(context: BotContext, values: Values, io: CliIo, bot: { botId: number; botToken?: string }): Promise<Output> {
  const { botId, botToken } = bot;
  const lang = values.lang ?? 'en';
  if (!/^[a-z]{2}$/.test(lang)) throw new CliUsageError(`--lang is a two-letter lower-case language code (en, de, …); got "${lang}".`);
  const wanted = await configuredCommands(values, io);
  const { result } = await context.client.call<{ commands?: unknown[] }>('imbot.v2.Command.list', { botId, ...tokenParam(botToken) });
  const listed = (result.commands ?? []).map(listedCommandOf).filter((c): c is ListedCommand => c !== undefined);
  const plan = planCommandSync(wanted.commands, listed, lang);
  const lines: string[] = [];
  // Register and update are idempotent per command (command-register.md; an update sets the same fields again),
  // so the client's retries after a lost answer cannot make a second command.
  for (const item of plan.register) {
    await context.client.call('imbot.v2.Command.register', { botId, ...tokenParam(botToken), fields: item.fields });
    lines.push(`registered ${item.command}`);
  }
  for (const item of plan.update) {
    await context.client.call('imbot.v2.Command.update', { botId, ...tokenParam(botToken), commandId: item.commandId, fields: item.fields });
    lines.push(`updated    ${item.command} (${item.changed.join(', ')})`);
  }
  for (const name of plan.keep) lines.push(`unchanged  ${name}`);
  for (const name of plan.extra) lines.push(`not in the config, kept: ${name} (imbot.v2.Command.unregister removes it)`);
  const summary = `Bot ${botId}, source "${wanted.sourceId}" (${wanted.file}): ${plan.register.length} registered, ${plan.update.length} updated, ${plan.keep.length} unchanged${plan.extra.length === 0 ? '' : `, ${plan.extra.length} not in the config`}.`;
  return {
    json: {
      botId,
      sourceId: wanted.sourceId,
      registered: plan.register.map((c) => c.command),
      updated: plan.update.map((c) => ({ command: c.command, commandId: c.commandId, changed: c.changed })),
      unchanged: plan.keep,
      notInConfig: plan.extra,
    },
    text: [summary, ...lines].join('\n'),
  };
}

async function commands(context: BotContext, values: Values, positionals: readonly string[], io: CliIo): Promise<Output> {
  const { botId, botToken } = await savedBot(context, values);
  if (values.sync === true) {
    if (values.add !== undefined || positionals.length > 0) throw new CliUsageError('--sync takes its commands from the config: use it without --add.');
    return await syncCommands(context, values, io, { botId, ...(botToken === undefined ? {} : { botToken }) });
  }
  const add = values.add;
  if (add === undefined) {
    if (positionals.length > 0) throw new CliUsageError(`Unexpected "${positionals.join(' ')}": to register a command use --add /help "Show help".`);
    const { result } = await context.client.call<{ commands?: { command?: unknown; title?: unknown }[] }>('imbot.v2.Command.list', { botId, ...tokenParam(botToken) });
    const list = (result.commands ?? []).map((c) => ({ command: typeof c.command === 'string' ? c.command : '', title: typeof c.title === 'string' ? c.title : '' }));
    const text = list.length === 0 ? `Bot ${botId} has no commands.` : list.map((c) => `${c.command.padEnd(16)} ${c.title}`).join('\n');
    return { json: { botId, commands: list }, text };
  }
  const command = add.replace(/^\//, '');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(command)) throw new CliUsageError(`--add takes a command like /help (letters, digits, - and _); got "${add}".`);
  const title = positionals.join(' ').trim();
  if (title === '' && values.hidden !== true) throw new CliUsageError(`--add ${add} needs a title shown in the command list, e.g. --add /${command} "Show help" (or --hidden).`);
  const lang = values.lang ?? 'en';
  if (!/^[a-z]{2}$/.test(lang)) throw new CliUsageError(`--lang is a two-letter lower-case language code (en, de, …); got "${lang}".`);
  // command-register.md: parameters in `fields`, the command without "/", title per language.
  const { result } = await context.client.call<{ command?: { id?: unknown; command?: unknown } }>('imbot.v2.Command.register', {
    botId,
    ...tokenParam(botToken),
    fields: {
      command,
      ...(title === '' ? {} : { title: { [lang]: title } }),
      common: values.common === true,
      hidden: values.hidden === true,
    },
  });
  const rawId = result.command?.id;
  const id = typeof rawId === 'number' || typeof rawId === 'string' ? rawId : undefined;
  return {
    json: { botId, command: `/${command}`, commandId: id ?? null },
    text: `Command /${command} registered for bot ${botId}${id === undefined ? '' : ` (command id ${String(id)})`}. Its calls arrive as ONIMBOTV2COMMANDADD events.`,
  };
}

async function list(context: BotContext, values: Values): Promise<Output> {
  const saved = await context.store.read();
  const given = values['bot-token'];
  if (given !== undefined) checkBotToken(given);
  const token = context.auth === 'webhook' ? (given ?? saved.botToken) : undefined;
  if (context.auth === 'webhook' && token === undefined) {
    throw new BotNotConfiguredError(`imbot.v2.Bot.list through a webhook needs a botToken, and none is saved in ${context.store.label}: pass --bot-token, or register a bot first.`);
  }
  const bots = await listBots(context.client, token);
  const text =
    bots.length === 0
      ? 'No bots registered by these credentials.'
      : bots.map((b) => `${String(b.id).padStart(6)}  ${b.code.padEnd(24)} ${b.type.padEnd(10)} ${b.eventMode}${b.id === saved.botId ? `  (saved in ${context.store.label})` : ''}`).join('\n');
  return { json: { bots, savedBotId: saved.botId ?? null }, text };
}

async function unregister(context: BotContext, values: Values, io: CliIo): Promise<Output> {
  const { botId, botToken } = await savedBot(context, values);
  if (values['yes-i-understand'] !== true) {
    const warning = `Unregistering deletes bot ${botId} from the portal, with its chats' bot membership and its event subscriptions (bot-unregister.md).`;
    if (io.prompt === undefined) throw new ConfirmationRequiredError(`${warning} Re-run with --yes-i-understand.`);
    io.stderr(`${warning}\n`);
    const answer = await io.prompt(`Type the bot id (${botId}) to confirm: `);
    if (answer.trim() !== String(botId)) throw new ConfirmationRequiredError('Not confirmed: the bot was not unregistered.');
  }
  // Not retried: after a lost answer a second call would only say BOT_NOT_FOUND.
  await context.client.call('imbot.v2.Bot.unregister', { botId, ...tokenParam(botToken) }, { maxAttempts: 1 });
  const saved = await context.store.read();
  const todo = saved.botId === undefined || saved.botId === botId ? await context.store.forget() : undefined;
  const lines = [`Bot ${botId} unregistered.${saved.botId === botId ? ` botId and botToken removed from ${context.store.label}.` : ''}`];
  if (todo !== undefined) lines.push(todo);
  if (context.shadowing.length > 0) lines.push(shadowNote(context));
  return { json: { botId, unregistered: true, ...(todo === undefined ? {} : { todo }) }, text: lines.join('\n') };
}

// ---- entry ------------------------------------------------------------------------

/** Runs `bot <subcommand> …` (argv without the leading "bot"); returns the exit code. */
export async function runBotCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : String(error)}\n\n${BOT_USAGE}`);
    return 2;
  }
  const json = values.json === true;
  const fail = (error: Error, code: number): number => {
    if (json) io.stdout(`${JSON.stringify({ error: { name: error.name, message: error.message } })}\n`);
    io.stderr(`${error.name}: ${error.message}\n`);
    return code;
  };
  if (values.help === true || positionals.length === 0) {
    (values.help === true ? io.stdout : io.stderr)(BOT_USAGE);
    return values.help === true ? 0 : 2;
  }
  const [subcommand, ...rest] = positionals as [Subcommand, ...string[]];
  if (!SUBCOMMANDS.includes(subcommand) || (subcommand !== 'commands' && rest.length > 0)) {
    return fail(new CliUsageError(`Unknown bot command "${positionals.join(' ')}". Commands: ${SUBCOMMANDS.join(', ')}. See bot --help.`), 2);
  }
  let context: BotContext | undefined;
  try {
    const stack = values.stack ?? (values.local === true ? undefined : io.env.B24_PIPELINE_STACK);
    context = stack !== undefined && stack !== '' ? await stackContext(stack, values, io) : await localContext(values, io);
    let output: Output;
    switch (subcommand) {
      case 'register':
        output = await register(context, values);
        break;
      case 'commands':
        output = await commands(context, values, rest, io);
        break;
      case 'list':
        output = await list(context, values);
        break;
      case 'unregister':
        output = await unregister(context, values, io);
        break;
    }
    io.stdout(json ? `${JSON.stringify(output.json, null, 2)}\n` : `${output.text}\n`);
    return 0;
  } catch (error) {
    if (error instanceof CliError) return fail(error, error.exitCode);
    if (error instanceof Bitrix24Error) return fail(error, 1);
    // An AWS SDK error or a bug: name and message only, never the raw object (it may hold request data).
    return fail(new CliError(`bot ${subcommand} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error'}`), 1);
  } finally {
    await context?.close();
  }
}
