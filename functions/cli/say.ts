// `b24-pipeline say "@support hello" [--chat <dialogId>] [--from <userId>]`:
// write to your bot as a user of the portal simulator (issue 12 §3). It posts
// to the simulator's test-control API, `POST /_sim/say`, which produces the
// events Bitrix24 would (functions/simulator/messenger.ts: a `bot`-type bot
// hears group chats only when @mentioned, every message of its 1:1 dialog;
// ONIMBOTV2COMMANDADD besides the message for a registered slash command).
// The running dev mode or demo then polls them like any event, and the bot's
// answers show in its live view.
//   - where: the simulator's origin from --simulator, B24_SIMULATOR_URL, or the
//     origin of B24_WEBHOOK_URL (dev mode against `npm run simulator`);
//   - to whom: the 1:1 dialog with the bot (B24_BOT_ID, or --bot-id) unless --chat;
//   - "@name" at the start becomes the BB-code mention `[USER=<botId>]name[/USER]`,
//     the form Bitrix24 stores mentions in (what the bot's mention filter looks for);
//   - from: --from, else the webhook's user (the /rest/<userId>/ part of its URL).
// Real portals have no /_sim/say: the command refuses a non-loopback origin.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadEnvWithDotEnv, PORTAL_ENV } from '../local/portal-env.js';
import { CliError, CliUsageError } from './errors.js';
import type { CliIo } from './main.js';

export const SAY_USAGE = `Usage: b24-pipeline say "<text>" [options]

Write to your bot as a portal user, in the portal simulator (POST /_sim/say): it produces the events Bitrix24
would (message, command, mention rules by bot type); dev mode or the demo shows the bot's answers.

  "@name text"              "@name" at the start mentions the bot: [USER=<botId>]name[/USER]
  --chat <dialogId>         a group chat ("chat5000"); default: the 1:1 dialog with the bot
  --from <userId>           who writes; default: the webhook's user (B24_WEBHOOK_URL)
  --bot-id <id>             the bot; default: B24_BOT_ID from the environment or .env
  --simulator <url>         the simulator; default: B24_SIMULATOR_URL, else the origin of B24_WEBHOOK_URL
  --env-file <path>         default ./.env
  --json, -h, --help
`;

const OPTIONS = {
  chat: { type: 'string' },
  from: { type: 'string' },
  'bot-id': { type: 'string' },
  simulator: { type: 'string' },
  'env-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface SayPlan {
  /** The simulator's origin, e.g. http://127.0.0.1:8787. */
  readonly origin: string;
  /** The body of POST /_sim/say. */
  readonly body: { readonly fromUserId: number; readonly text: string } & ({ readonly dialogId: string } | { readonly chatId: number });
}

function positiveInteger(text: string | undefined, what: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new CliUsageError(`${what} must be a positive integer; got "${text}".`);
  return value;
}

/** "@support hello" → "[USER=99]support[/USER] hello" (only a leading @word; an e-mail address inside the text stays). */
export function withMention(text: string, botId: number | undefined): string {
  const match = /^\s*@([^\s,:]+)[,:]?\s*([\s\S]*)$/.exec(text);
  if (match === null || botId === undefined) return text;
  const rest = match[2] ?? '';
  return `[USER=${botId}]${match[1] ?? ''}[/USER]${rest === '' ? '' : ` ${rest}`}`;
}

/** Where and what to post, from the options and the (dotenv-merged) environment. Pure. */
export function planSay(text: string, options: { chat?: string; from?: string; botId?: string; simulator?: string }, env: Readonly<Record<string, string | undefined>>): SayPlan {
  if (text.trim() === '') throw new CliUsageError('say needs the text to write, e.g. say "@support hello".');
  const webhookUrl = env[PORTAL_ENV.webhookUrl];
  const originText = options.simulator ?? env.B24_SIMULATOR_URL ?? webhookUrl;
  if (originText === undefined || originText === '') {
    throw new CliUsageError('say posts to the portal simulator: pass --simulator <url>, or set B24_SIMULATOR_URL or B24_WEBHOOK_URL (e.g. in .env, as `npm run simulator` prints).');
  }
  let url: URL;
  try {
    url = new URL(originText);
  } catch {
    throw new CliUsageError(`The simulator URL "${originText.slice(0, 80)}" is not a URL.`);
  }
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new CliUsageError(`say works with the local portal simulator only (a real Bitrix24 portal has no /_sim/say); ${url.host} is not on this machine.`);
  }
  const botId = positiveInteger(options.botId ?? env[PORTAL_ENV.botId], '--bot-id / B24_BOT_ID');
  const webhookUser = webhookUrl === undefined ? undefined : /\/rest\/(\d+)\//.exec(webhookUrl)?.[1];
  const fromUserId = positiveInteger(options.from ?? webhookUser, '--from');
  if (fromUserId === undefined) throw new CliUsageError('say needs the user who writes: --from <userId> (or a B24_WEBHOOK_URL whose /rest/<userId>/ names one).');
  let where: { dialogId: string } | { chatId: number };
  if (options.chat !== undefined) {
    const chat = /^chat(\d+)$/.exec(options.chat) ?? /^(\d+)$/.exec(options.chat);
    if (chat === null) throw new CliUsageError(`--chat takes a group chat's dialog id ("chat5000") or chat id; got "${options.chat}".`);
    where = { chatId: Number(chat[1]) };
  } else {
    if (botId === undefined) throw new CliUsageError('say writes to the 1:1 dialog with the bot: set B24_BOT_ID (`bot register` saves it) or pass --bot-id, or name a group chat with --chat.');
    where = { dialogId: String(botId) };
  }
  return { origin: url.origin, body: { fromUserId, text: withMention(text, botId), ...where } };
}

/** Runs `say …` (argv without "say"); returns the exit code. */
export async function runSayCommand(argv: readonly string[], io: CliIo, fetchImpl: typeof fetch = fetch): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : String(error)}\n\n${SAY_USAGE}`);
    return 2;
  }
  if (values.help === true) {
    io.stdout(SAY_USAGE);
    return 0;
  }
  try {
    const env = await loadEnvWithDotEnv(io.env, resolve(io.cwd, values['env-file'] ?? '.env'));
    const plan = planSay(
      positionals.join(' '),
      {
        ...(values.chat === undefined ? {} : { chat: values.chat }),
        ...(values.from === undefined ? {} : { from: values.from }),
        ...(values['bot-id'] === undefined ? {} : { botId: values['bot-id'] }),
        ...(values.simulator === undefined ? {} : { simulator: values.simulator }),
      },
      env,
    );
    let response: Response;
    try {
      response = await fetchImpl(`${plan.origin}/_sim/say`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(plan.body) });
    } catch (error) {
      throw new CliError(`The portal simulator at ${plan.origin} did not answer (${error instanceof Error ? error.message : 'unknown error'}): is \`npm run simulator\` (or the demo) running?`);
    }
    const json = (await response.json().catch(() => ({}))) as { result?: { messageId?: number; dialogId?: string }; error_description?: string };
    if (!response.ok) throw new CliError(`The simulator refused: ${json.error_description ?? `HTTP ${response.status}`}`);
    const where = 'dialogId' in plan.body ? `the 1:1 dialog with bot ${plan.body.dialogId}` : `chat${plan.body.chatId}`;
    const result = { messageId: json.result?.messageId ?? null, fromUserId: plan.body.fromUserId, text: plan.body.text, ...('dialogId' in plan.body ? { dialogId: plan.body.dialogId } : { chatId: plan.body.chatId }) };
    io.stdout(values.json === true ? `${JSON.stringify(result, null, 2)}\n` : `User ${plan.body.fromUserId} wrote in ${where}: ${plan.body.text} (message ${result.messageId ?? '?'}). The bot's events are waiting for the poller.\n`);
    return 0;
  } catch (error) {
    const safe = error instanceof CliError ? error : new CliError(`say failed: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error'}`);
    if (values.json === true) io.stdout(`${JSON.stringify({ error: { name: safe.name, message: safe.message } })}\n`);
    io.stderr(`${safe.name}: ${safe.message}\n`);
    return safe.exitCode;
  }
}
