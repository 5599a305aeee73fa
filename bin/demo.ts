// `npm run demo`: the whole pipeline locally, with simulated chat traffic.
// See docs/local.md. Exit code 0 = every generated event consumed.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { startLocalAws } from '../functions/local/aws-emulators.js';
import { runDemo } from '../functions/local/demo.js';
import { hideSqliteExperimentalWarning } from '../functions/local/quiet-warnings.js';
import { currentSignalListeners, takeOverSignals } from '../functions/local/signals.js';
import { DEFAULT_LOCAL_STATE_PATH } from '../functions/local/state-file.js';
import { runToExit } from '../functions/local/run-to-exit.js';

const USAGE = `Usage: npm run demo -- [options]

  --duration <s>      seconds of simulated chat traffic (default 20)
  --rate <n>          events per second over all sources (default 20)
  --faults on|off     inject 503/500/connection resets/malformed answers into Event.get (default off)
  --follow            keep the traffic running until Ctrl-C (the CLI can inspect it meanwhile)
  --sources <n>       simulated users, one source each (default 1)
  --bot               add a fetch-mode bot source (imbot.v2.Event.get)
  --rate-limit on|off the simulator's Bitrix24 rate limit, 2 req/s (default on)
  --no-tty            plain progress lines even on a terminal
  -h, --help

Ctrl-C: stops the traffic, drains, prints the summary. A second Ctrl-C exits at once.
While it runs:  npm run cli -- status`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function number(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) fail(`--${name} must be a positive number; got "${text}".`);
  return value;
}

function onOff(text: string | undefined, name: string, fallback: boolean): boolean {
  if (text === undefined) return fallback;
  if (text === 'on') return true;
  if (text === 'off') return false;
  return fail(`--${name} must be "on" or "off"; got "${text}".`);
}

async function main(): Promise<number> {
  hideSqliteExperimentalWarning();
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        duration: { type: 'string' },
        rate: { type: 'string' },
        faults: { type: 'string' },
        follow: { type: 'boolean' },
        sources: { type: 'string' },
        bot: { type: 'boolean' },
        'rate-limit': { type: 'string' },
        'no-tty': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const keep = currentSignalListeners();
  process.stdout.write('Starting DynamoDB Local, the SQS emulator and the portal simulator…\n');
  const aws = await startLocalAws();
  const takeover = takeOverSignals({
    keep,
    onFirst: () => process.stdout.write('\nStopping: traffic off, draining the queues… (Ctrl-C again to quit at once)\n'),
  });
  try {
    const result = await runDemo({
      durationSeconds: number(values.duration, 'duration', 20),
      eventsPerSecond: number(values.rate, 'rate', 20),
      faults: onOff(values.faults, 'faults', false),
      follow: values.follow === true,
      userSources: values.sources === undefined ? 1 : Math.floor(number(values.sources, 'sources', 1)),
      bot: values.bot === true,
      rateLimit: onOff(values['rate-limit'], 'rate-limit', true),
      signal: takeover.signal,
      endpoints: aws,
      tty: process.stdout.isTTY && values['no-tty'] !== true,
      statePath: resolve(process.cwd(), DEFAULT_LOCAL_STATE_PATH),
    });
    return result.exitCode;
  } finally {
    await aws.stop();
    takeover.restore();
  }
}

runToExit(main);
