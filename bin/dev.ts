// `npm run dev`: the local pipeline against a real Bitrix24 portal with your
// own handlers. See docs/local.md.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { openDevWorkspace, runDev } from '../functions/local/dev.js';
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
B24_IDLE_SECONDS=5-30: seconds between idle polls (Bitrix24 recommends 5–30)

The workspace .b24-pipeline/dev/ (in the directory you run this from) keeps the
queues and idempotency records on disk: after a crash, run again to resume.
Ctrl-C (or kill -TERM): stop polling, publish and commit what was fetched, release
the lease, let the handlers finish what is queued, exit 0 (1 if something was left
queued, 2 on a set-up or fatal portal error). A second Ctrl-C quits at once; what
is queued stays in the workspace.`;

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
  // npm runs scripts in the package root; INIT_CWD is where the user typed the command.
  const cwd = process.env.INIT_CWD ?? process.cwd();
  const keep = currentSignalListeners();
  process.stdout.write('Starting DynamoDB Local and the SQS emulator…\n');
  const workspace = await openDevWorkspace(cwd);
  const takeover = takeOverSignals({
    keep,
    onFirst: () => process.stdout.write('\nStopping: committing, releasing the lease, letting the handlers finish what is queued… (Ctrl-C again to quit at once)\n'),
  });
  try {
    return await runDev({
      env: process.env,
      cwd,
      signal: takeover.signal,
      endpoints: workspace,
      ownerId: workspace.ownerId,
      ...(workspace.staleOwnerId === undefined ? {} : { staleOwnerId: workspace.staleOwnerId }),
      persistedIn: workspace.dir,
      completionJournalPath: workspace.completionJournalPath,
      tty: process.stdout.isTTY && values['no-tty'] !== true,
      statePath: resolve(process.cwd(), DEFAULT_LOCAL_STATE_PATH),
      ...(values.handlers === undefined ? {} : { handlersPath: values.handlers }),
      ...(values.out === undefined ? {} : { outPath: values.out }),
      ...(values['source-id'] === undefined ? {} : { sourceId: values['source-id'] }),
    });
  } finally {
    await workspace.stop();
    takeover.restore();
  }
}

runToExit(main);
