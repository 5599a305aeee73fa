// `b24-pipeline bot …` over real HTTP against the portal simulator, with the
// documented imbot.v2 API (api-reference/chat-bots/chat-bots-v2/imbot.v2/bots/*.md,
// commands/command-register.md, command-list.md) as the judge: what the CLI
// did is checked by calling Bot.get / Command.list / Event.get ourselves.
// runCli is called in-process with its own env and cwd (never process.env).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Bitrix24Client, createBitrix24Client } from '../../../functions/bitrix24/client.js';
import { BotNotFoundError, BotTokenInvalidLengthError } from '../../../functions/bitrix24/errors.js';
import { generateBotToken, planBotToken } from '../../../functions/cli/bot-commands.js';
import { updateDotEnv } from '../../../functions/cli/bot-store.js';
import { type CliIo, runCli, USAGE } from '../../../functions/cli/main.js';
import { loadEnvWithDotEnv, portalSettingsFromEnv } from '../../../functions/local/portal-env.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';

let sim: PortalSimulator;
let webhookUrl: string;
let userId: number;
let workDir: string;
let envFile: string;
let client: Bitrix24Client;

function run(argv: string[], overrides: Partial<CliIo> = {}) {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: (text) => {
      out.stdout += text;
    },
    stderr: (text) => {
      out.stderr += text;
    },
    env: {},
    cwd: workDir,
    ...overrides,
  };
  return runCli(argv, io).then((code) => ({ code, ...out }));
}

async function savedEnv(): Promise<Record<string, string | undefined>> {
  return parseEnv(await readFile(envFile, 'utf8'));
}

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false });
  const user = sim.addUser({ name: 'Bot owner' });
  userId = user.id;
  webhookUrl = sim.createWebhook(user.id);
  client = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl } });
});

afterAll(async () => {
  await client.close();
  await sim.stop();
});

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'b24-bot-cli-'));
  envFile = join(workDir, '.env');
  await writeFile(envFile, `# my portal\nB24_WEBHOOK_URL=${webhookUrl}\nB24_SOURCE_ID=support\n`);
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('bot register (webhook)', () => {
  it('registers a fetch-mode bot with imbot.v2.Bot.register and saves botId/botToken to .env without printing the token', async () => {
    const result = await run(['bot', 'register', '--code', 'support_bot', '--name', 'Support', '--type', 'personal']);

    expect(result.code).toBe(0);
    const env = await savedEnv();
    const botId = Number(env.B24_BOT_ID);
    const botToken = env.B24_BOT_TOKEN ?? '';
    expect(botId).toBeGreaterThan(0);
    expect(botToken.length).toBeGreaterThanOrEqual(20);
    expect(botToken.length).toBeLessThanOrEqual(40);
    expect(result.stdout).toContain(`id ${botId}`);
    expect(result.stdout).toContain(`saved to ${envFile}`);
    expect(result.stdout + result.stderr).not.toContain(botToken);
    // The other lines of .env are kept.
    expect(env.B24_WEBHOOK_URL).toBe(webhookUrl);
    expect(await readFile(envFile, 'utf8')).toContain('# my portal\n');
    // The portal agrees: the saved token authorises this bot, registered as asked.
    const { result: got } = await client.call<{ bot: { id: number; code: string; type: string; eventMode: string } }>('imbot.v2.Bot.get', { botId, botToken });
    expect(got.bot).toMatchObject({ id: botId, code: 'support_bot', type: 'personal', eventMode: 'fetch' });
    const register = sim.calls.filter((c) => c.method.toLowerCase() === 'imbot.v2.bot.register');
    expect(register.at(-1)?.status).toBe(200);
  });

  it('is idempotent per code: a second run finds the bot with Bot.list and keeps its id and token', async () => {
    const first = await run(['bot', 'register', '--code', 'twice_bot', '--name', 'Twice']);
    const firstEnv = await savedEnv();
    const callsBefore = sim.calls.filter((c) => c.method.toLowerCase() === 'imbot.v2.bot.register').length;

    const second = await run(['bot', 'register', '--code', 'twice_bot', '--name', 'Twice']);

    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('already registered');
    const secondEnv = await savedEnv();
    expect(secondEnv.B24_BOT_ID).toBe(firstEnv.B24_BOT_ID);
    expect(secondEnv.B24_BOT_TOKEN).toBe(firstEnv.B24_BOT_TOKEN);
    expect(sim.calls.filter((c) => c.method.toLowerCase() === 'imbot.v2.bot.register').length).toBe(callsBefore);
  });

  it('refuses to save a new token for a bot that exists with a token it does not know', async () => {
    await run(['bot', 'register', '--code', 'lost_bot', '--name', 'Lost']);
    const botId = (await savedEnv()).B24_BOT_ID;
    await writeFile(envFile, `B24_WEBHOOK_URL=${webhookUrl}\n`);

    const again = await run(['bot', 'register', '--code', 'lost_bot', '--name', 'Lost']);

    expect(again.code).toBe(1);
    expect(again.stderr).toContain('BotTokenUnknownError');
    expect(again.stderr).toContain(`id ${botId}`);
    expect(again.stderr).toContain('--bot-token');
    expect((await savedEnv()).B24_BOT_TOKEN).toBeUndefined();
  });

  it('mends a run that saved the token but stopped before the id: the saved token is proven and the id saved', async () => {
    const botToken = generateBotToken();
    const { result } = await client.call<{ bot: { id: number } }>('imbot.v2.Bot.register', {
      fields: { code: 'half_bot', botToken, properties: { name: 'Half' }, eventMode: 'fetch' },
    });
    await writeFile(envFile, `B24_WEBHOOK_URL=${webhookUrl}\nB24_BOT_TOKEN=${botToken}\n`);

    const mended = await run(['bot', 'register', '--code', 'half_bot', '--name', 'Half']);

    expect(mended.code).toBe(0);
    expect(await savedEnv()).toMatchObject({ B24_BOT_ID: String(result.bot.id), B24_BOT_TOKEN: botToken });
  });

  it('names the 40-character limit for a 41-character --bot-token and calls nothing', async () => {
    const tooLong = 'x'.repeat(41);
    sim.clearCalls();

    const result = await run(['bot', 'register', '--code', 'long_bot', '--name', 'Long', '--bot-token', tooLong]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('at most 40');
    expect(result.stderr).toContain('BOT_TOKEN_INVALID_LENGTH');
    expect(result.stderr).not.toContain(tooLong);
    expect(sim.calls).toEqual([]);
    expect((await savedEnv()).B24_BOT_TOKEN).toBeUndefined();
  });

  it('the simulator refuses a 41-character botToken with BOT_TOKEN_INVALID_LENGTH and accepts 40 (bot-register.md)', async () => {
    const attempt = (botToken: string, code: string) =>
      client.call('imbot.v2.Bot.register', { fields: { code, botToken, properties: { name: 'Edge' } } });

    await expect(attempt('y'.repeat(41), 'edge_41')).rejects.toBeInstanceOf(BotTokenInvalidLengthError);
    await expect(attempt('y'.repeat(40), 'edge_40')).resolves.toMatchObject({ result: { bot: { code: 'edge_40', eventMode: 'fetch' } } });
  });

  it('uses a given --bot-token and the bot then receives its first event through the source dev mode reads', async () => {
    const result = await run(['bot', 'register', '--code', 'given_bot', '--name', 'Given', '--bot-token', 'my_token-123']);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('my_token-123');
    const env = await loadEnvWithDotEnv({}, envFile);
    const settings = portalSettingsFromEnv(env, { tokenFile: join(workDir, 'tokens.json') });
    expect(settings.source).toMatchObject({ kind: 'bot', botId: Number(env.B24_BOT_ID) });
    expect(settings.botToken).toBe('my_token-123');
    sim.emit({ botId: Number(env.B24_BOT_ID) }, 'ONIMBOTV2JOINCHAT', { chat: { id: 5 } });

    const page = await client.getBotEvents({ botId: Number(env.B24_BOT_ID), botToken: settings.botToken ?? '' });

    expect(page.events.map((e) => e.type)).toEqual(['ONIMBOTV2JOINCHAT']);
  });
});

describe('bot register next to variables set in the environment', () => {
  it('says when B24_BOT_ID / B24_BOT_TOKEN in the environment would win over the saved .env', async () => {
    const result = await run(['bot', 'register', '--code', 'shadow_bot', '--name', 'Shadow'], { env: { B24_BOT_ID: '1' } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('B24_BOT_ID is set in the environment, which wins over');
  });
});

describe('bot commands, list, unregister (webhook)', () => {
  it('registers /help with imbot.v2.Command.register and lists it', async () => {
    await run(['bot', 'register', '--code', 'cmd_bot', '--name', 'Commands']);
    const { B24_BOT_ID: botId, B24_BOT_TOKEN: botToken } = await savedEnv();

    const added = await run(['bot', 'commands', '--add', '/help', 'Show help']);
    const addedAgain = await run(['bot', 'commands', '--add', '/help', 'Show help']);
    const listed = await run(['bot', 'commands']);

    expect(added.code).toBe(0);
    expect(added.stdout).toContain('/help registered');
    expect(addedAgain.code).toBe(0);
    expect(listed.stdout).toMatch(/\/help\s+Show help/);
    const { result } = await client.call<{ commands: { command: string; title: string }[] }>('imbot.v2.Command.list', { botId: Number(botId), botToken });
    expect(result.commands).toEqual([expect.objectContaining({ command: '/help', title: 'Show help' })]);
  });

  it('a command without a title is refused before any call', async () => {
    await run(['bot', 'register', '--code', 'notitle_bot', '--name', 'No title']);
    const result = await run(['bot', 'commands', '--add', '/help']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('needs a title');
  });

  it('lists the bots of the credentials and marks the saved one', async () => {
    await run(['bot', 'register', '--code', 'listed_bot', '--name', 'Listed']);
    const botId = (await savedEnv()).B24_BOT_ID ?? '';

    const result = await run(['bot', 'list', '--json']);

    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { bots: { id: number; code: string }[]; savedBotId: number };
    expect(json.savedBotId).toBe(Number(botId));
    expect(json.bots).toContainEqual(expect.objectContaining({ id: Number(botId), code: 'listed_bot', eventMode: 'fetch' }));
  });

  it('unregisters only when confirmed, then forgets botId/botToken; the portal no longer knows the bot', async () => {
    await run(['bot', 'register', '--code', 'gone_bot', '--name', 'Gone']);
    const { B24_BOT_ID: botId, B24_BOT_TOKEN: botToken } = await savedEnv();

    const refused = await run(['bot', 'unregister']);
    const done = await run(['bot', 'unregister', '--yes-i-understand']);

    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('ConfirmationRequiredError');
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(`Bot ${botId} unregistered`);
    const env = await savedEnv();
    expect(env.B24_BOT_ID).toBeUndefined();
    expect(env.B24_BOT_TOKEN).toBeUndefined();
    expect(env.B24_WEBHOOK_URL).toBe(webhookUrl);
    await expect(client.call('imbot.v2.Bot.get', { botId: Number(botId), botToken })).rejects.toBeInstanceOf(BotNotFoundError);
    // The unregistered bot can still read its last event, ONIMBOTV2DELETE (docs/simulator.md).
    const last = await client.getBotEvents({ botId: Number(botId), botToken: botToken ?? '' });
    expect(last.events.map((event) => event.type)).toContain('ONIMBOTV2DELETE');
  });
});

describe('bot register (OAuth app)', () => {
  it('registers without a botToken and saves only the botId', async () => {
    const app = sim.registerApp();
    const tokens = sim.authorizeApp(app.clientId, userId);
    const env = {
      B24_OAUTH_CLIENT_ID: app.clientId,
      B24_OAUTH_CLIENT_SECRET: app.clientSecret,
      B24_OAUTH_REFRESH_TOKEN: tokens.refreshToken,
      B24_OAUTH_CLIENT_ENDPOINT: tokens.clientEndpoint,
      B24_OAUTH_TOKEN_URL: sim.oauthTokenUrl,
    };
    await writeFile(envFile, '');

    const withToken = await run(['bot', 'register', '--code', 'app_bot', '--name', 'App', '--bot-token', 'abc'], { env });
    const result = await run(['bot', 'register', '--code', 'app_bot', '--name', 'App'], { env });

    expect(withToken.code).toBe(2);
    expect(withToken.stderr).toContain('OAuth');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('no botToken (OAuth)');
    const saved = await savedEnv();
    expect(Number(saved.B24_BOT_ID)).toBeGreaterThan(0);
    expect(saved.B24_BOT_TOKEN).toBeUndefined();
  });
});

describe('the CLI front door', () => {
  it('names the bot commands in the usage (the CLI before had no "bot" command: "Unknown command")', async () => {
    const help = await run(['bot', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('imbot.v2.Bot.register');
    expect(USAGE).toContain('bot register|commands|list|unregister');
    const unknown = await run(['bot', 'frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('register, commands, list, unregister');
  });
});

describe('pure parts', () => {
  it('generates 40-character url-safe tokens from the random source', () => {
    const token = generateBotToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(generateBotToken()).not.toBe(token);
  });

  it('plans the token: never another bot\'s saved token, never a guess for an existing bot', () => {
    const generate = () => 'fresh';
    const existing = { id: 7, code: 'c', type: 'bot', eventMode: 'fetch' };
    expect(planBotToken({ auth: 'oauth', saved: { botToken: 't' }, generate })).toEqual({ kind: 'none' });
    expect(planBotToken({ auth: 'webhook', given: 'g', saved: { botToken: 't' }, existing, generate })).toEqual({ kind: 'known', token: 'g', origin: 'given' });
    expect(planBotToken({ auth: 'webhook', saved: { botId: 7, botToken: 't' }, existing, generate })).toEqual({ kind: 'known', token: 't', origin: 'saved' });
    expect(planBotToken({ auth: 'webhook', saved: { botId: 8, botToken: 't' }, existing, generate })).toBeUndefined();
    expect(planBotToken({ auth: 'webhook', saved: {}, existing, generate })).toBeUndefined();
    expect(planBotToken({ auth: 'webhook', saved: { botId: 8, botToken: 't' }, generate })).toEqual({ kind: 'new', token: 'fresh' });
    expect(planBotToken({ auth: 'webhook', saved: { botToken: 't' }, generate })).toEqual({ kind: 'known', token: 't', origin: 'saved' });
  });

  it('rewrites .env keys in place, drops their duplicates and keeps everything else', () => {
    const before = '# c\nA=1\nB24_BOT_ID=1\nexport B24_BOT_TOKEN=old\nB24_BOT_ID=2\n';
    expect(updateDotEnv(before, { B24_BOT_ID: '9', B24_BOT_TOKEN: undefined })).toBe('# c\nA=1\nB24_BOT_ID=9\n');
    expect(updateDotEnv('', { B24_BOT_TOKEN: 'a b' })).toBe("B24_BOT_TOKEN='a b'\n");
  });
});
