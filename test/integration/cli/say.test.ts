// `b24-pipeline say` over real HTTP against the portal simulator: the text is
// posted to /_sim/say and the bot gets the events Bitrix24 would — its 1:1
// dialog always, a group chat only when @mentioned (a `bot`-type bot), and a
// registered slash command also as ONIMBOTV2COMMANDADD.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bitrix24Client, createBitrix24Client } from '../../../functions/bitrix24/client.js';
import { type CliIo, runCli } from '../../../functions/cli/main.js';
import { planSay, withMention } from '../../../functions/cli/say.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';

let sim: PortalSimulator;
let workDir: string;
let client: Bitrix24Client;
let bot: { botId: number; botToken: string };
let userId: number;

function run(argv: string[]) {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = { stdout: (t) => void (out.stdout += t), stderr: (t) => void (out.stderr += t), env: {}, cwd: workDir };
  return runCli(argv, io).then((code) => ({ code, ...out }));
}

const botEvents = () => sim.pendingEvents({ botId: bot.botId }).map((e) => ({ type: e.type, text: (e.data as { message?: { text?: string } }).message?.text }));

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false });
  userId = sim.addUser({ name: 'Ann Asker' }).id;
  const webhookUrl = sim.createWebhook(userId);
  bot = sim.registerBot(userId, { code: 'support' });
  client = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl } });
  await client.call('imbot.v2.Command.register', { botId: bot.botId, botToken: bot.botToken, fields: { command: 'help', title: { en: 'Help' } } });
  workDir = await mkdtemp(join(tmpdir(), 'b24-say-'));
  await writeFile(join(workDir, '.env'), `B24_WEBHOOK_URL=${webhookUrl}\nB24_BOT_ID=${bot.botId}\nB24_BOT_TOKEN=${bot.botToken}\n`);
});
afterAll(async () => {
  await client.close();
  await sim.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe('say', () => {
  it('writes to the bot in its 1:1 dialog as the webhook user; a slash command also comes as ONIMBOTV2COMMANDADD', async () => {
    const hello = await run(['say', '@support hello']);
    const help = await run(['say', '/help billing']);

    expect(hello).toMatchObject({ code: 0, stderr: '' });
    expect(hello.stdout).toContain(`User ${userId} wrote in the 1:1 dialog with bot ${bot.botId}`);
    expect(hello.stdout).not.toContain(bot.botToken);
    expect(help.code).toBe(0);
    expect(botEvents()).toEqual([
      { type: 'ONIMBOTV2MESSAGEADD', text: `[USER=${bot.botId}]support[/USER] hello` },
      { type: 'ONIMBOTV2MESSAGEADD', text: '/help billing' },
      { type: 'ONIMBOTV2COMMANDADD', text: '/help billing' },
    ]);
  });

  it('in a group chat a bot-type bot hears only the message that mentions it', async () => {
    const before = botEvents().length;
    const chat = sim.createChat({ ownerId: userId, memberIds: [bot.botId] });

    expect((await run(['say', '--chat', chat.dialogId, 'nobody mentioned'])).code).toBe(0);
    expect((await run(['say', '--chat', chat.dialogId, '@support are you there?', '--json'])).code).toBe(0);

    expect(botEvents().slice(before)).toEqual([{ type: 'ONIMBOTV2MESSAGEADD', text: `[USER=${bot.botId}]support[/USER] are you there?` }]);
  });

  it('refuses a real portal and says what is missing', async () => {
    expect(() => planSay('hi', { simulator: 'https://example.bitrix24.com' }, {})).toThrow(/local portal simulator only/);
    expect(() => planSay('hi', { simulator: 'http://127.0.0.1:1' }, {})).toThrow(/--from/);
    expect(() => planSay('hi', { simulator: 'http://127.0.0.1:1', from: '3' }, {})).toThrow(/B24_BOT_ID/);
    expect(withMention('mail me at a@b.c', 5)).toBe('mail me at a@b.c');
    const failed = await run(['say', '--chat', 'chat999999', 'hi']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/The simulator refused: User \d+ is in no chat/);
  });
});
