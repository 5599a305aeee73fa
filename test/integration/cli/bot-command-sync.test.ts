// `b24-pipeline bot commands --sync` over real HTTP against the portal
// simulator: the bot source's `commands` in pipeline.config.json registered
// (imbot.v2.Command.register), changed ones updated (imbot.v2.Command.update),
// checked by calling imbot.v2.Command.list ourselves; a second run changes nothing.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Bitrix24Client, createBitrix24Client } from '../../../functions/bitrix24/client.js';
import { type CliIo, runCli } from '../../../functions/cli/main.js';
import { planCommandSync } from '../../../functions/cli/command-sync.js';
import { parseSourceConfig } from '../../../functions/shared/config.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';

let sim: PortalSimulator;
let webhookUrl: string;
let ownerId: number;
let workDir: string;
let client: Bitrix24Client;

function run(argv: string[]) {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = { stdout: (t) => void (out.stdout += t), stderr: (t) => void (out.stderr += t), env: {}, cwd: workDir };
  return runCli(argv, io).then((code) => ({ code, ...out }));
}

async function writeConfig(botId: number, commands: unknown[]): Promise<void> {
  const config = {
    prefix: 'sync',
    sources: [{ id: 'support', kind: 'bot', portal: 'example.bitrix24.com', auth: 'webhook', botId, commands }],
  };
  await writeFile(join(workDir, 'pipeline.config.json'), JSON.stringify(config));
}

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false });
  ownerId = sim.addUser({ name: 'Bot owner' }).id;
  webhookUrl = sim.createWebhook(ownerId);
  client = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl } });
});
afterAll(async () => {
  await client.close();
  await sim.stop();
});
beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'b24-command-sync-'));
});
afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('bot commands --sync', () => {
  it('registers missing commands, updates changed ones, keeps the rest and says what it did', async () => {
    const bot = sim.registerBot(ownerId, { code: 'sync_bot' });
    await writeFile(join(workDir, '.env'), `B24_WEBHOOK_URL=${webhookUrl}\nB24_BOT_ID=${bot.botId}\nB24_BOT_TOKEN=${bot.botToken}\n`);
    // By hand earlier: /help with an old title, and /legacy the config does not list.
    await client.call('imbot.v2.Command.register', { botId: bot.botId, botToken: bot.botToken, fields: { command: 'help', title: { en: 'Old help' } } });
    await client.call('imbot.v2.Command.register', { botId: bot.botId, botToken: bot.botToken, fields: { command: 'legacy', title: { en: 'Legacy' } } });
    await writeConfig(bot.botId, [
      { command: '/help', title: { en: 'Show help', de: 'Hilfe' }, params: { en: 'topic' } },
      { command: '/reset', title: { en: 'Forget the conversation' }, common: true },
    ]);

    const first = await run(['bot', 'commands', '--sync']);

    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('1 registered, 1 updated, 0 unchanged, 1 not in the config');
    expect(first.stdout).toMatch(/updated\s+\/help \(title, params\)/);
    expect(first.stdout).toContain('not in the config, kept: /legacy');
    expect(first.stdout).not.toContain(bot.botToken);
    const { result } = await client.call<{ commands: { command: string; title: string; params: string; common: boolean }[] }>('imbot.v2.Command.list', {
      botId: bot.botId,
      botToken: bot.botToken,
    });
    expect(result.commands.map((c) => [c.command, c.title, c.params, c.common]).sort()).toEqual([
      ['/help', 'Show help', 'topic', false],
      ['/legacy', 'Legacy', '', false],
      ['/reset', 'Forget the conversation', '', true],
    ]);
    expect(sim.calls.filter((c) => c.method === 'imbot.v2.Command.update')).toHaveLength(1);

    const second = await run(['bot', 'commands', '--sync', '--json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ registered: [], updated: [], unchanged: ['/help', '/reset'], notInConfig: ['/legacy'] });
  });

  it('says which source to pick when the config has several bot sources', async () => {
    const bot = sim.registerBot(ownerId, { code: 'sync_bot_2' });
    await writeFile(join(workDir, '.env'), `B24_WEBHOOK_URL=${webhookUrl}\nB24_BOT_ID=${bot.botId}\nB24_BOT_TOKEN=${bot.botToken}\n`);
    const source = (id: string) => ({ id, kind: 'bot', portal: 'example.bitrix24.com', auth: 'webhook', botId: bot.botId, commands: [] });
    await writeFile(join(workDir, 'pipeline.config.json'), JSON.stringify({ sources: [source('one'), source('two')] }));

    const result = await run(['bot', 'commands', '--sync']);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/2 bot sources \(one, two\): name one with --source/);
  });
});

describe('the commands field of a source (strict, per command-register.md)', () => {
  const base = { id: 'support', kind: 'bot', portal: 'example.bitrix24.com', auth: 'webhook', botId: 5 };

  it.each([
    ['a command without its slash', [{ command: 'help', title: { en: 'Help' } }], /commands\[0\]\.command: a slash/],
    ['a visible command without a title', [{ command: '/help' }], /commands\[0\]\.title: required/],
    ['an unknown field', [{ command: '/help', title: { en: 'Help' }, description: 'x' }], /description/],
    ['a language code that is not two letters', [{ command: '/help', title: { english: 'Help' } }], /commands\[0\]\.title\.english/],
    ['the same command twice', [{ command: '/help', title: { en: 'a' } }, { command: '/HELP', title: { en: 'b' } }], /listed twice/],
  ])('refuses %s', (_what, commands, message) => {
    expect(() => parseSourceConfig({ ...base, commands })).toThrow(message);
  });

  it('refuses commands on a user source and accepts a hidden command without a title', () => {
    expect(() => parseSourceConfig({ ...base, kind: 'user', botId: undefined, commands: [] })).toThrow(/kind "bot" only/);
    expect(parseSourceConfig({ ...base, commands: [{ command: '/debug', hidden: true }] }).commands).toEqual([
      { command: '/debug', hidden: true, common: false, extranetSupport: false },
    ]);
  });

  it('plans by name regardless of case and compares in the chosen language', () => {
    const wanted = parseSourceConfig({ ...base, commands: [{ command: '/Help', title: { en: 'Help', de: 'Hilfe' } }] }).commands ?? [];
    const listed = [{ id: 7, command: '/help', title: 'Hilfe', params: '', common: false, hidden: false, extranetSupport: false }];
    expect(planCommandSync(wanted, listed, 'de')).toMatchObject({ register: [], update: [], keep: ['/Help'] });
    expect(planCommandSync(wanted, listed, 'en').update).toMatchObject([{ commandId: 7, changed: ['title'] }]);
  });
});
