// `npm run dev`: the local pipeline against a real Bitrix24 portal with your
// own handlers. See docs/local.md.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { startLocalAws } from '../functions/local/aws-emulators.js';
import { runDev } from '../functions/local/dev.js';
import { hideSqliteExperimentalWarning } from '../functions/local/quiet-warnings.js';
import { currentSignalListeners, takeOverSignals } from '../functions/local/signals.js';
import { DEFAULT_LOCAL_STATE_PATH } from '../functions/local/state-file.js';
import { runToExit } from '../functions/local/run-to-exit.js';

const USAGE = `Usage: npm run dev -- [--handlers ./my-handlers.ts] [--out events.jsonl] [--source-id <id>] [--no-tty]

Portal credentials (environment or .env; never printed):
  B24_WEBHOOK_URL=https://<portal>/rest/<userId>/<code>/        inbound webhook (scope im, imbot for bots)
  or B24_OAUTH_CLIENT_ID, B24_OAUTH_CLIENT_SECRET, B24_OAUTH_REFRESH_TOKEN, B24_OAUTH_CLIENT_ENDPOINT
     (rotated refresh tokens are kept in .b24-pipeline/tokens-<source>.json)
  B24_BOT_ID (+ B24_BOT_TOKEN with a webhook): poll a fetch-mode bot instead of the user
  B24_WITH_USER_EVENTS=true: bot source also reads the user's ONIMV2* events

--handlers  module exporting \`handlers\` (or default): { ONIMV2MESSAGEADD: async (event, ctx) => …, '*': … }
            (default: print one line per event)
--out       append every handled event to this JSON-lines file
Ctrl-C: stop polling, publish and commit what was fetched, release the lease, drain, exit.`;

async function main(): Promise<number> {
  hideSqliteExperimentalWarning();
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        handlers: { type: 'string' },
        out: { type: 'string' },
        'source-id': { type: 'string' },
        'no-tty': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const keep = currentSignalListeners();
  process.stdout.write('Starting DynamoDB Local and the SQS emulator…\n');
  const aws = await startLocalAws();
  const takeover = takeOverSignals({ keep, onFirst: () => process.stdout.write('\nStopping: committing, releasing the lease, draining… (Ctrl-C again to quit at once)\n') });
  try {
    return await runDev({
      env: process.env,
      cwd: process.cwd(),
      signal: takeover.signal,
      endpoints: aws,
      tty: process.stdout.isTTY && values['no-tty'] !== true,
      statePath: resolve(process.cwd(), DEFAULT_LOCAL_STATE_PATH),
      ...(values.handlers === undefined ? {} : { handlersPath: values.handlers }),
      ...(values.out === undefined ? {} : { outPath: values.out }),
      ...(values['source-id'] === undefined ? {} : { sourceId: values['source-id'] }),
    });
  } finally {
    await aws.stop();
    takeover.restore();
  }
}

runToExit(main);
