// `npm run simulator -- [--port 8089] [--rate 5] [--bot] [--bot-type bot|supervisor|personal|openline] [--seed 1] [--no-rate-limit]`
// Starts a local Bitrix24 portal simulator with one subscribed user and a
// webhook (optionally a fetch-mode bot and steady chat activity), prints the
// URLs and runs until Ctrl-C / SIGTERM.
import { parseArgs } from 'node:util';
import { startPortalSimulator } from '../functions/simulator/index.js';

function usage(message: string): never {
  process.stderr.write(`${message}\nUsage: npm run simulator -- [--port 8089] [--rate <events/s>] [--bot] [--bot-type bot|supervisor|personal|openline] [--seed <n>] [--no-rate-limit]\n`);
  process.exit(2);
}

function numberOption(value: string | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) usage(`--${name} must be a number >= ${min}, got "${value}".`);
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        rate: { type: 'string' },
        seed: { type: 'string' },
        bot: { type: 'boolean', default: false },
        'bot-type': { type: 'string' },
        'no-rate-limit': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  if (values.help) usage('Local Bitrix24 portal simulator.');
  const port = numberOption(values.port, 'port', 8089, 0);
  const rate = numberOption(values.rate, 'rate', 0, 0);
  const seed = numberOption(values.seed, 'seed', 1, 0);

  const sim = await startPortalSimulator({ port, seed, ...(values['no-rate-limit'] ? { rateLimit: false as const } : {}) });
  const user = sim.addUser({ name: 'Demo User' });
  const webhookUrl = sim.createWebhook(user.id);
  sim.subscribe(user.id);
  const botType = values['bot-type'] ?? 'bot';
  if (!['bot', 'supervisor', 'personal', 'openline'].includes(botType)) usage(`--bot-type must be bot, supervisor, personal or openline, got "${botType}".`);
  const bot = values.bot || values['bot-type'] !== undefined ? sim.registerBot(user.id, { code: 'demo_bot', name: 'Demo Bot', type: botType as 'bot' }) : undefined;

  const lines = [
    `Bitrix24 portal simulator on ${sim.baseUrl}`,
    `  user            ${user.id} (${user.name}), subscribed to im.v2 events`,
    `  webhook URL     ${webhookUrl}   (simulator-only credential)`,
    `  OAuth token URL ${sim.oauthTokenUrl}`,
  ];
  if (bot !== undefined) {
    lines.push(`  bot             id ${bot.botId} (${botType}), token ${bot.botToken}   (simulator-only credential)`);
    lines.push(`  talk to it      curl -s -X POST -H 'content-type: application/json' -d '{"fromUserId":${user.id},"dialogId":"${bot.botId}","text":"hello"}' ${sim.baseUrl}/_sim/say`);
  }
  if (rate > 0) {
    sim.activity.start({ userId: user.id }, rate);
    if (bot !== undefined) sim.activity.start({ botId: bot.botId }, rate);
    lines.push(`  activity        ${rate} events/s${bot === undefined ? '' : ' per target (user and bot)'}`);
  }
  lines.push('Press Ctrl-C to stop.');
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping (${sim.activity.generatedCount} events generated, ${sim.calls.length} calls answered)\n`);
    sim.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`Stopping the simulator failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
  process.exit(1);
});
