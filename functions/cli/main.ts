// The operator CLI: `b24-pipeline <command> [options]`. Parses arguments
// (node:util parseArgs), resolves the target (local rig or AWS stack), runs
// one command and prints text or JSON. `runCli` never exits the process: it
// returns the exit code, so tests call it in-process.
import { parseArgs } from 'node:util';
import { Bitrix24Error } from '../bitrix24/errors.js';
import { formatMs } from '../local/progress-view.js';
import { runBotCommand } from './bot-commands.js';
import { runSayCommand } from './say.js';
import { CliError, CliUsageError, ConfirmationRequiredError, UnknownRouteError, UnknownSourceError } from './errors.js';
import { routeDepths } from './queue-depths.js';
import { redriveDeadLetters } from './redrive.js';
import { sourceClientFor } from './source-credentials.js';
import { runSourcesCommand } from './sources.js';
import { listQuarantinedEvents, readSourceState, recordSubscription, resetCommittedOffset, type SourceStateView } from './source-state.js';
import { type PipelineTarget, resolveTarget } from './target.js';
import { OUTPUT_OPTIONS, TARGET_OPTIONS, targetOptionsOf } from './common-options.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** ms epoch. @default Date.now */
  readonly now?: () => number;
  /** Asks a question on an interactive terminal; undefined when there is none (then confirmations need a flag). */
  readonly prompt?: (question: string) => Promise<string>;
}

export const USAGE = `Usage: b24-pipeline <command> [options]

Commands
  status                         per source: committed offset, lease holder and expiry, last successful poll,
                                 subscription, quarantined events; per route: queue and DLQ depths
  subscribe   --source <id>      im.v2.Event.subscribe with the source's credentials (the poller keeps it up)
  unsubscribe --source <id>      im.v2.Event.unsubscribe; the poller stops re-subscribing until \`subscribe\`
                                 (recorded events stay readable until confirmed/expired)
  quarantine  --source <id>      list the source's invalid events kept in quarantine (raw JSON and reason)
  redrive     --route <r>|--all  move dead-lettered messages back to their queue  [--dry-run] [--max <n>]
  reset-offset --source <id> (--to <offset>|--clear) --yes-i-understand
                                 move the committed offset (only while no poller holds the lease)
  sources list|show|add|enable|disable|remove
                                 the source registry at run time, no deploy (see \`sources --help\`, docs/registry.md)
  bot register|commands|list|unregister
                                 set up a fetch-mode bot with imbot.v2 (see \`bot --help\`, docs/bots.md)

Target (default: the local pipeline the demo / dev mode started, via .b24-pipeline/local.json)
  --local                        force the local target even if B24_PIPELINE_STACK is set
  --state-file <path>            another local state file (env B24_LOCAL_STATE)
  --dynamodb-endpoint <url> --sqs-endpoint <url> [--prefix <p>]
                                 a local rig without a state file (prefix default "b24-local")
  --stack <name> [--region <r>]  a deployed stack (env B24_PIPELINE_STACK; standard AWS credential chain)

Output
  --json                         machine-readable output on stdout
  -h, --help
`;

const OPTIONS = {
  ...OUTPUT_OPTIONS,
  ...TARGET_OPTIONS,
  source: { type: 'string' },
  route: { type: 'string' },
  all: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  max: { type: 'string' },
  to: { type: 'string' },
  clear: { type: 'boolean' },
  'yes-i-understand': { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

const COMMANDS = ['status', 'subscribe', 'unsubscribe', 'quarantine', 'redrive', 'reset-offset'] as const;
type Command = (typeof COMMANDS)[number];

function integerOption(values: Values, name: 'max' | 'to'): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new CliUsageError(`--${name} must be a non-negative integer; got "${text}".`);
  return value;
}

function requireSource(values: Values, target: PipelineTarget): string {
  const sourceId = values.source;
  if (sourceId === undefined) {
    throw new CliUsageError(`--source <id> is required. Sources: ${target.sourceIds.join(', ') || '(none yet)'}.`);
  }
  if (!target.sourceIds.includes(sourceId)) throw new UnknownSourceError(sourceId, target.sourceIds);
  return sourceId;
}

interface Output {
  readonly json: unknown;
  readonly text: string;
}

/** Elapsed time since `at`, never negative (a clock a little ahead on the writer's side is not "-91 ms ago"). */
function ago(now: number, at: number): number {
  return Math.max(0, now - at);
}

function subscriptionText(target: PipelineTarget, s: SourceStateView, now: number): string {
  const config = target.sources.find((c) => c.id === s.sourceId);
  if (config?.kind === 'bot' && !config.withUserEvents) return 'subscription not needed (fetch-mode bot)';
  if (s.unsubscribedAt !== undefined) return `subscribed no (unsubscribed by an operator ${formatMs(ago(now, s.unsubscribedAt))} ago; \`subscribe\` resumes)`;
  if (!s.subscribed) return 'subscribed no (the next poll subscribes)';
  return `subscribed yes${s.subscribedAt === undefined ? '' : ` (last im.v2.Event.subscribe ${formatMs(ago(now, s.subscribedAt))} ago)`}`;
}

async function status(target: PipelineTarget, now: number): Promise<Output> {
  const [sources, queues] = await Promise.all([
    Promise.all(target.sourceIds.map((id) => readSourceState(target.dynamoDb, target.stateTableName, id, now))),
    routeDepths(target.sqs, target.queueUrls, target.deadLetterQueueUrls),
  ]);
  const lines = [`pipeline: ${target.label}`];
  if (sources.length === 0) lines.push('sources: none polled yet');
  for (const s of sources) {
    const lease = s.lease === undefined ? 'lease free' : `lease ${s.lease.holder} (${s.lease.expired ? 'expired' : `expires in ${formatMs(Math.max(0, s.lease.expiresAt - now))}`})`;
    lines.push(
      [
        `source ${s.sourceId}`,
        `offset ${s.committedOffset ?? '–'}`,
        lease,
        `last poll ${s.lastPollAt === undefined ? 'never' : `${formatMs(ago(now, s.lastPollAt))} ago`}`,
        `oldest event age ${s.oldestEventAgeMs === undefined ? '–' : formatMs(s.oldestEventAgeMs)}`,
        subscriptionText(target, s, now),
        `events ${s.eventsTotal ?? 0}`,
        s.quarantinedTotal === 0 ? 'quarantined 0' : `quarantined ${s.quarantinedTotal} (last: ${s.lastQuarantineReason ?? '?'}; \`quarantine --source ${s.sourceId}\` lists them)`,
      ].join(' · '),
    );
  }
  lines.push(`${'route'.padEnd(22)} ${'waiting'.padStart(8)} ${'in flight'.padStart(10)} ${'DLQ'.padStart(6)}`);
  for (const q of queues) {
    lines.push(`${q.route.padEnd(22)} ${String(q.waiting).padStart(8)} ${String(q.inFlight).padStart(10)} ${String(q.deadLettered).padStart(6)}`);
  }
  return {
    json: {
      target: { kind: target.kind, label: target.label, prefix: target.prefix, stateTableName: target.stateTableName },
      sources: sources.map((s) => ({
        ...s,
        ...(s.lastPollAt === undefined ? {} : { lastPollAgeMs: ago(now, s.lastPollAt) }),
      })),
      queues,
    },
    text: lines.join('\n'),
  };
}

async function subscription(command: 'subscribe' | 'unsubscribe', target: PipelineTarget, values: Values, io: CliIo): Promise<Output> {
  const sourceId = requireSource(values, target);
  const source = target.sources.find((s) => s.id === sourceId);
  if (source?.kind === 'bot' && !source.withUserEvents) {
    return {
      json: { sourceId, action: 'none', reason: 'fetch-mode bots need no subscription' },
      text: `Source "${sourceId}" is a fetch-mode bot without withUserEvents: imbot.v2.Event.get needs no subscription. Nothing to do.`,
    };
  }
  const { client } = await sourceClientFor(target, sourceId, { cwd: io.cwd, env: io.env, ...(values.region === undefined ? {} : { region: values.region }) });
  try {
    if (command === 'subscribe') await client.subscribe();
    else await client.unsubscribe();
  } finally {
    await client.close();
  }
  // Recorded so the poller keeps an operator's choice: it re-subscribes on its own only while no unsubscribe stands.
  await recordSubscription(target.dynamoDb, target.stateTableName, sourceId, { subscribed: command === 'subscribe', now: (io.now ?? Date.now)() });
  const text =
    command === 'subscribe'
      ? `Subscribed: portal ${client.portal} records the messenger events of source "${sourceId}"'s user from now on.`
      : `Unsubscribed: portal ${client.portal} stops recording events for source "${sourceId}". Events already recorded stay readable until confirmed or 24 h old.`;
  return { json: { sourceId, portal: client.portal, action: command === 'subscribe' ? 'subscribed' : 'unsubscribed' }, text };
}

async function quarantine(target: PipelineTarget, values: Values, now: number): Promise<Output> {
  const sourceId = requireSource(values, target);
  const events = await listQuarantinedEvents(target.dynamoDb, target.stateTableName, sourceId);
  if (events.length === 0) return { json: { sourceId, events: [] }, text: `Source "${sourceId}": no events in quarantine.` };
  const lines = [`Source "${sourceId}": ${events.length} event(s) in quarantine (invalid; the source committed past them).`];
  for (const e of events) {
    const when = e.quarantinedAt === undefined ? '' : ` · ${formatMs(ago(now, e.quarantinedAt))} ago`;
    lines.push(`- ${e.eventId === undefined ? `no usable id (${e.key})` : `event ${e.eventId}`}${when} · ${e.reason}`);
    if (e.raw !== undefined) lines.push(`  raw: ${e.raw.length > 500 ? `${e.raw.slice(0, 500)}… (${e.rawBytes ?? e.raw.length} bytes; --json for all)` : e.raw}`);
    else if (e.rawRef !== undefined) lines.push(`  raw: s3://${e.rawRef.bucket}/${e.rawRef.key} (${e.rawBytes ?? '?'} bytes)`);
  }
  return { json: { sourceId, events }, text: lines.join('\n') };
}

async function redrive(target: PipelineTarget, values: Values): Promise<Output> {
  const known = Object.keys(target.deadLetterQueueUrls).sort();
  let routes: string[];
  if (values.all === true) routes = known;
  else if (values.route !== undefined) {
    if (!known.includes(values.route)) throw new UnknownRouteError(values.route, known);
    routes = [values.route];
  } else throw new CliUsageError(`redrive needs --route <route> or --all. Routes: ${known.join(', ')}.`);
  const dryRun = values['dry-run'] === true;
  const max = integerOption(values, 'max');
  const results = [];
  for (const route of routes) {
    results.push(
      await redriveDeadLetters({
        sqs: target.sqs,
        route,
        queueUrl: target.queueUrls[route] ?? '',
        deadLetterQueueUrl: target.deadLetterQueueUrls[route] ?? '',
        dryRun,
        ...(max === undefined ? {} : { max }),
      }),
    );
  }
  const lines = results
    .filter((r) => r.found > 0 || routes.length === 1)
    .map((r) => (dryRun ? `${r.route}: ${r.found} message(s) in the DLQ (dry run: nothing moved)` : `${r.route}: moved ${r.moved} of ${r.found} message(s) back to the queue`));
  if (lines.length === 0) lines.push('No dead-lettered messages.');
  const moved = results.reduce((sum, r) => sum + r.moved, 0);
  const found = results.reduce((sum, r) => sum + r.found, 0);
  return { json: { dryRun, found, moved, routes: results }, text: lines.join('\n') };
}

const RESET_WARNING =
  'Bitrix24 deletes every event below an offset once it has been sent: moving the offset back re-reads only events still recorded ' +
  '(not yet confirmed and younger than 24 h); it cannot bring back events Bitrix24 already deleted. Moving it forward skips events for good.';

async function resetOffset(target: PipelineTarget, values: Values, io: CliIo, now: number): Promise<Output> {
  const sourceId = requireSource(values, target);
  const to = integerOption(values, 'to');
  if ((to === undefined) === (values.clear !== true)) {
    throw new CliUsageError('reset-offset needs exactly one of --to <offset> (the next Event.get sends it) or --clear (the next Event.get sends no offset: every recorded event).');
  }
  if (values['yes-i-understand'] !== true) {
    if (io.prompt === undefined) {
      throw new ConfirmationRequiredError(`Refusing to reset the offset of "${sourceId}" without confirmation. ${RESET_WARNING} Re-run with --yes-i-understand.`);
    }
    io.stderr(`${RESET_WARNING}\n`);
    const answer = await io.prompt(`Type the source id (${sourceId}) to confirm: `);
    if (answer.trim() !== sourceId) throw new ConfirmationRequiredError('Not confirmed: the offset was not changed.');
  }
  const { previous } = await resetCommittedOffset(target.dynamoDb, target.stateTableName, sourceId, { to, now });
  const text = `Source "${sourceId}": committed offset ${previous ?? '(none)'} → ${to ?? '(none: next read returns every recorded event)'}. ${RESET_WARNING}`;
  return { json: { sourceId, previousOffset: previous ?? null, committedOffset: to ?? null, warning: RESET_WARNING }, text };
}

function errorJson(error: CliError | Bitrix24Error | Error): unknown {
  return { error: { name: error.name, message: error.message } };
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv[0] === 'bot') return await runBotCommand(argv.slice(1), io);
  if (argv[0] === 'sources') return await runSourcesCommand(argv.slice(1), io);
  if (argv[0] === 'say') return await runSayCommand(argv.slice(1), io);
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const json = values.json === true;
  const fail = (error: CliError | Bitrix24Error | Error, code: number) => {
    if (json) io.stdout(`${JSON.stringify(errorJson(error))}\n`);
    io.stderr(`${error.name}: ${error.message}\n`);
    return code;
  };
  if (values.help === true || positionals.length === 0) {
    (values.help === true ? io.stdout : io.stderr)(USAGE);
    return values.help === true ? 0 : 2;
  }
  const command = positionals[0] as Command;
  if (!COMMANDS.includes(command) || positionals.length > 1) {
    return fail(new CliUsageError(`Unknown command "${positionals.join(' ')}". Commands: ${COMMANDS.join(', ')}. See --help.`), 2);
  }
  const now = (io.now ?? Date.now)();
  let target: PipelineTarget | undefined;
  try {
    target = await resolveTarget(targetOptionsOf(values), { cwd: io.cwd, env: io.env });
    let output: Output;
    switch (command) {
      case 'status':
        output = await status(target, now);
        break;
      case 'subscribe':
      case 'unsubscribe':
        output = await subscription(command, target, values, io);
        break;
      case 'quarantine':
        output = await quarantine(target, values, now);
        break;
      case 'redrive':
        output = await redrive(target, values);
        break;
      case 'reset-offset':
        output = await resetOffset(target, values, io, now);
        break;
    }
    io.stdout(json ? `${JSON.stringify(output.json, null, 2)}\n` : `${output.text}\n`);
    return 0;
  } catch (error) {
    if (error instanceof CliError) return fail(error, error.exitCode);
    if (error instanceof Bitrix24Error) return fail(error, 1);
    // Unexpected (an AWS SDK error, a bug): name and message only, never the raw object (it may hold request data).
    const safe = new CliError(`${command} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error'}`);
    return fail(safe, 1);
  } finally {
    target?.close();
  }
}
