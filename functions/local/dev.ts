// Dev mode: the local pipeline against a real Bitrix24 portal, with the
// user's own handlers as consumers, so a bot can be developed without
// deploying. Credentials come from the environment / `.env` and are never
// printed. Optional JSON-lines log of every handled event.
//
// A developer may point this at their real portal, where every event the
// poller commits is deleted by Bitrix24: so the workspace persists
// (`.b24-pipeline/dev/`: DynamoDB Local's database, fauxqs's queues, the
// idempotency records, the completion journal) and a restart after a crash
// resumes — nothing lost, and no handler that completed (its completion
// journalled, completion-journal.ts) runs again. A lock keeps a second run
// off the same workspace. A fatal portal error (credentials, permission,
// portal gone) ends the run with the fix named; transient trouble (HTML
// instead of JSON, timeouts, 5xx) is shown live, as are handler log lines,
// errors and replies.
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConditionalCheckFailedException, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { type Bitrix24Client, createBitrix24Client } from '../bitrix24/client.js';
import { Bitrix24Error } from '../bitrix24/errors.js';
import type { Bitrix24Logger } from '../bitrix24/logger.js';
import type { ConsumerContext, ConsumerHandlers } from '../consumers/consumer-handler.js';
import type { ConsumerLogger, LogAttributes } from '../consumers/observability.js';
import { sourceStateKey } from '../poller/dynamodb-source-state.js';
import { classifyFailure } from '../poller/error-policy.js';
import { idempotencyKey } from '../shared/envelope.js';
import { KNOWN_EVENT_TYPES } from '../shared/event-types.js';
import { STATE_TABLE } from '../shared/topology.js';
import { type LocalAwsEndpoints, startLocalAws } from './aws-emulators.js';
import { type CompletionJournal, inMemoryCompletionJournal, openCompletionJournal } from './completion-journal.js';
import { acquireDevLock } from './dev-lock.js';
import { HandlersModuleError, LocalUsageError, PortalFatalError } from './errors.js';
import { type ActionLine, type HandledLog, handledLog } from './handled-log.js';
import { LiveLog } from './live-log.js';
import { botTokenCaller } from '../consumers/bot-token.js';
import { voiceSourcesFromConfig } from '../consumers/voice-sources.js';
import { createLocalConsumer } from './local-consumers.js';
import { observeBitrix24Client } from './observers.js';
import { type PipelineRuntime, type StopReport, startPipelineRuntime } from './pipeline-runtime.js';
import { type Env, loadEnvWithDotEnv, portalSettingsFromEnv } from './portal-env.js';
import { startProgressView } from './progress-view.js';
import { buildRuntimeFrame } from './runtime-frame.js';
import { removeLocalState, writeLocalState } from './state-file.js';

export interface DevOptions {
  /** Module exporting the handlers (`handlers` or default export): { ONIMV2MESSAGEADD: async (event, ctx) => …, '*': … }. */
  readonly handlersPath?: string;
  /** JSON-lines file receiving every handled event. @default none */
  readonly outPath?: string;
  readonly env: Env;
  readonly cwd: string;
  /** Stops the run (Ctrl-C). */
  readonly signal: AbortSignal;
  readonly endpoints?: LocalAwsEndpoints;
  /** @default "b24-dev" */
  readonly prefix?: string;
  readonly write?: (text: string) => void;
  readonly tty?: boolean;
  readonly statePath?: string;
  /** Source id. @default B24_SOURCE_ID or "dev" */
  readonly sourceId?: string;
  /** Seconds between idle polls (Bitrix24 recommends 5–30). @default B24_IDLE_SECONDS ("5" or "5-30"), else 5..30 */
  readonly idleSeconds?: { readonly min: number; readonly max: number };
  /** Lease owner id prefix of this run. @default `dev-<host>-<pid>` */
  readonly ownerId?: string;
  /** Lease owner id prefix of a previous run of this workspace that died: its lease is released before polling. */
  readonly staleOwnerId?: string;
  /** The workspace directory whose emulators keep the queues on disk (for the final line). @default not persisted */
  readonly persistedIn?: string;
  /** How long Ctrl-C waits for the consumers to finish what is queued, ms. @default 120000 */
  readonly drainTimeoutMs?: number;
  /**
   * The completion journal (completion-journal.ts) of the workspace: a handler that completed is never called
   * again, even after kill -9. @default in memory (for emulators that keep nothing on disk either)
   */
  readonly completionJournalPath?: string;
}

/** Where dev mode keeps its workspace, relative to the directory it was started from. */
export const DEV_WORKSPACE_DIR = '.b24-pipeline/dev';
/** The completion journal's file name in the workspace's `data/`. */
export const COMPLETION_JOURNAL_FILE = 'completions.jsonl';

export interface DevWorkspace extends LocalAwsEndpoints {
  readonly dir: string;
  /** Lease owner id prefix for this run. */
  readonly ownerId: string;
  /** Owner id of a previous run that died holding the workspace (kill -9), if any. */
  readonly staleOwnerId?: string;
  /** The workspace's completion journal (`data/completions.jsonl`), next to the emulators' data. */
  readonly completionJournalPath: string;
  /** Stops the emulators (their data stays on disk) and releases the lock. */
  stop(): Promise<void>;
}

/**
 * Takes the workspace lock (DevWorkspaceLockedError if another run holds it)
 * and starts DynamoDB Local and fauxqs with their data under
 * `<cwd>/.b24-pipeline/dev/data`.
 */
export async function openDevWorkspace(cwd: string): Promise<DevWorkspace> {
  const dir = resolve(cwd, DEV_WORKSPACE_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ownerId = `dev-${hostname()}-${process.pid}`;
  const lock = await acquireDevLock(join(dir, 'lock'), ownerId);
  let aws;
  try {
    aws = await startLocalAws({ dataDir: join(dir, 'data') });
  } catch (error) {
    await lock.release();
    throw error;
  }
  const running = aws;
  return {
    dynamoDbEndpoint: running.dynamoDbEndpoint,
    sqsEndpoint: running.sqsEndpoint,
    dir,
    ownerId,
    completionJournalPath: join(dir, 'data', COMPLETION_JOURNAL_FILE),
    ...(lock.stale === undefined ? {} : { staleOwnerId: lock.stale.ownerId }),
    async stop() {
      await running.stop();
      await lock.release();
    },
  };
}

/** `B24_IDLE_SECONDS`: "5" or "5-30". */
export function idleSecondsFromEnv(text: string | undefined): { min: number; max: number } | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?))?\s*$/.exec(text);
  const min = Number(match?.[1]);
  const max = match?.[2] === undefined ? min : Number(match[2]);
  if (match === null || !(min > 0) || !(max >= min)) throw new LocalUsageError(`B24_IDLE_SECONDS must be seconds ("5") or a range ("5-30"); got "${text}".`);
  return { min, max };
}


const HANDLER_KEYS = new Set<string>([...KNOWN_EVENT_TYPES, '*']);

/** Loads the user's handlers module and checks its shape. */
export async function loadHandlersModule(path: string, cwd: string): Promise<ConsumerHandlers> {
  const absolute = resolve(cwd, path);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    throw new HandlersModuleError(`Cannot load the handlers module ${absolute}: ${error instanceof Error ? error.message : String(error)}. Check the path and that it compiles.`, { cause: error });
  }
  // A deployable consumer module (`export const handler = lambdaConsumer({...})`) carries its handlers.
  const deployed = typeof mod.handler === 'function' ? (mod.handler as { handlers?: unknown }).handlers : undefined;
  const candidate = mod.handlers ?? deployed ?? mod.default;
  if (typeof candidate !== 'object' || candidate === null) {
    throw new HandlersModuleError(`${absolute} must export \`handler = lambdaConsumer({...})\`, \`handlers\` or a default export: an object like { ONIMV2MESSAGEADD: async (event, ctx) => { … }, '*': async (event) => { … } }.`);
  }
  const entries = Object.entries(candidate as Record<string, unknown>);
  const unknown = entries.filter(([key]) => !HANDLER_KEYS.has(key)).map(([key]) => key);
  if (unknown.length > 0) {
    throw new HandlersModuleError(`${absolute}: unknown handler key(s) ${unknown.join(', ')}. Use event types (${KNOWN_EVENT_TYPES.slice(0, 3).join(', ')}, …) or '*'.`);
  }
  const notFunctions = entries.filter(([, value]) => typeof value !== 'function').map(([key]) => key);
  if (notFunctions.length > 0) throw new HandlersModuleError(`${absolute}: handler(s) ${notFunctions.join(', ')} must be async functions (event, ctx) => Promise<void>.`);
  if (entries.length === 0) throw new HandlersModuleError(`${absolute} exports no handlers.`);
  return candidate;
}

type JournalledHandler = (event: { readonly eventId: number; readonly type: string }, ctx: ConsumerContext) => Promise<void>;

/**
 * Wraps every handler with the completion journal (completion-journal.ts): a
 * handler whose completion an earlier run journalled is not called again;
 * otherwise it runs, its completion is journalled (durably, before the
 * idempotency record and the SQS delete), counted and written to `--out`.
 */
export function journalledHandlers(
  handlers: ConsumerHandlers,
  journal: CompletionJournal,
  log: HandledLog | undefined,
  onHandled: (sourceId: string, eventId: number) => void,
): ConsumerHandlers {
  const wrapped: Record<string, JournalledHandler> = {};
  for (const [key, handler] of Object.entries(handlers) as Array<[string, JournalledHandler]>) {
    wrapped[key] = async (event, ctx) => {
      const eventKey = idempotencyKey(ctx.sourceId, event.eventId);
      const earlier = journal.completedAt(eventKey);
      if (earlier !== undefined) {
        // Journalled, but its idempotency record never reached COMPLETED: a kill -9 (or an
        // expired INPROGRESS record under load) came between the two.
        ctx.logger.info(`already completed at ${earlier} (journalled); not run again`);
        await log?.appendIfMissing({ handledAt: earlier, sourceId: ctx.sourceId, route: ctx.route, handler: key, event });
        return;
      }
      await handler(event, ctx);
      const handledAt = await journal.record(eventKey);
      onHandled(ctx.sourceId, event.eventId);
      await log?.append({ handledAt, sourceId: ctx.sourceId, route: ctx.route, handler: key, event });
    };
  }
  return wrapped;
}

/** A handler set that only logs one line per event, for a first run without --handlers. */
export function loggingHandlers(write: (text: string) => void): ConsumerHandlers {
  return {
    '*': (event) => {
      write(`event ${event.eventId} ${event.type}\n`);
      return Promise.resolve();
    },
  };
}


/** Releases the lease a killed run of this workspace left (condition: still held by that run). */
async function releaseStaleLease(dynamoDb: DynamoDBClient, tableName: string, sourceId: string, staleOwner: string): Promise<boolean> {
  try {
    await dynamoDb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [STATE_TABLE.partitionKey]: { S: sourceStateKey(sourceId) } },
        UpdateExpression: 'REMOVE leaseOwner, leaseExpiresAt SET leaseReleasedAt = :now',
        ConditionExpression: 'leaseOwner = :owner',
        ExpressionAttributeValues: { ':owner': { S: staleOwner }, ':now': { N: String(Date.now()) } },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false; // not held by it any more
    throw error;
  }
}

/** What to do about a fatal portal error, by kind. */
function fatalFix(error: Bitrix24Error): string {
  switch (error.kind) {
    case 'auth':
    case 'oauth':
      return 'Check B24_WEBHOOK_URL (copy the inbound webhook URL again from the portal; the code in it may have been regenerated) or the B24_OAUTH_* settings, in the environment or .env.';
    case 'permission':
      return 'Give the webhook (or the app) the scopes dev mode needs: im, and imbot for a bot source.';
    case 'portal-gone':
      return 'Check the portal address in B24_WEBHOOK_URL / B24_OAUTH_CLIENT_ENDPOINT: that portal is gone or was renamed.';
    case 'bot':
      return 'Check B24_BOT_ID and B24_BOT_TOKEN: the bot must be registered with imbot.v2.Bot.register (eventMode "fetch") by this webhook\'s user or app.';
    default:
      return 'Check the dev-mode settings (B24_* variables) against the message above.';
  }
}

/** Decorates the poller's client: a fatal error ends dev mode, a transient one is shown live. */
function watchPortal(client: Bitrix24Client, on: { fatal(error: Bitrix24Error): void; transient(error: Bitrix24Error): void }): Bitrix24Client {
  return observeBitrix24Client(client, {
    around: async (operation, run) => {
      // The poller's own calls; the handlers' calls are shown by showCalls.
      if (operation.kind === 'call' || operation.kind === 'unsubscribe') return await run();
      try {
        return await run();
      } catch (error) {
        if (error instanceof Bitrix24Error) {
          if (classifyFailure(error).action === 'stop') on.fatal(error);
          else on.transient(error);
        }
        throw error;
      }
    },
  });
}

const POSTING_METHOD = /(^|\.)(message\.add|Message\.send|Command\.answer)$/i;

/** The ctx method a Bitrix24 method stands for (bot-voice.ts's table), for the live view and `--out`. */
export function actionOf(method: string): ActionLine['action'] {
  if (POSTING_METHOD.test(method)) return 'reply';
  if (/(^|\.)(InputAction\.notify|dialog\.writing)$/i.test(method)) return 'typing';
  if (/(^|\.)(Message\.read|dialog\.read)$/i.test(method)) return 'read';
  if (/(^|\.)(Reaction\.add|message\.like)$/i.test(method)) return 'react';
  if (/(^|\.)(Message\.update|message\.update)$/i.test(method)) return 'edit';
  return 'call';
}

function fullTextOf(params: Record<string, unknown> | undefined): string | undefined {
  const fields = params?.fields;
  const candidates = [params?.MESSAGE, params?.message, params?.text, typeof fields === 'object' && fields !== null ? (fields as Record<string, unknown>).message : undefined];
  return candidates.find((value): value is string => typeof value === 'string');
}

function textOf(params: Record<string, unknown> | undefined): string | undefined {
  const text = fullTextOf(params);
  return text === undefined ? undefined : text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/**
 * Decorates the handlers' client (ctx.bitrix24, and ctx.reply/typing/read on top of it): every call,
 * and every reply with its text, goes to the live view; with `--out`, every call Bitrix24
 * acknowledged is a line of the file too.
 */
function showCalls(client: Bitrix24Client, live: LiveLog, out?: { log: HandledLog; sourceId: string }): Bitrix24Client {
  return observeBitrix24Client(client, {
    around: async (operation, run) => {
      if (operation.kind !== 'call') return await run();
      const { method, params } = operation;
      try {
        const result = await run();
        const dialog = params?.DIALOG_ID ?? params?.dialogId;
        const dialogId = typeof dialog === 'string' || typeof dialog === 'number' ? String(dialog) : undefined;
        const action = actionOf(method);
        if (action === 'reply') {
          const text = textOf(params);
          live.add('reply', `${method} → ${dialogId ?? '?'}${text === undefined ? '' : `: ${JSON.stringify(text)}`}`);
        } else {
          live.add('handler', `ctx.bitrix24 ${method} ok`);
        }
        if (out !== undefined) {
          const text = action === 'reply' || action === 'edit' ? fullTextOf(params) : undefined;
          // Bitrix24 has acted: a full disk must not fail the handler (and make it run again).
          await out.log
            .appendAction({ sentAt: new Date().toISOString(), sourceId: out.sourceId, action, method, ...(dialogId === undefined ? {} : { dialogId }), ...(text === undefined ? {} : { text }) })
            .catch((error: unknown) => live.add('error', `writing ${method} to --out failed: ${error instanceof Error ? error.message : String(error)}`));
        }
        return result;
      } catch (error) {
        live.add('error', `ctx.bitrix24 ${method} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
        throw error;
      }
    },
  });
}

const CONTEXT_KEYS = new Set(['route', 'messageId', 'receiveCount', 'messageGroupId', 'sourceId', 'eventId', 'type']);

/** The handlers' logger (ctx.logger and the consumer framework's own lines), shown live. */
export function liveConsumerLogger(live: LiveLog, onProblem: (line: string) => void, keys: LogAttributes = {}): ConsumerLogger {
  const line = (level: 'info' | 'warn' | 'error', message: string, attributes?: LogAttributes) => {
    const all = { ...keys, ...attributes };
    const scalar = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : undefined);
    const eventId = scalar(all.eventId);
    const route = scalar(all.route);
    const who = eventId === undefined ? (route === undefined ? '' : `${route}: `) : `#${eventId} ${scalar(all.type) ?? ''}: `;
    const extra = Object.fromEntries(Object.entries(all).filter(([key]) => !CONTEXT_KEYS.has(key)));
    const text = `${who}${level === 'warn' ? 'warning: ' : ''}${message}${Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : ''}`;
    live.add(level === 'info' ? 'handler' : 'error', text);
    if (level !== 'info') onProblem(`[consumer ${level}] ${text}`);
  };
  return {
    debug: () => undefined,
    info: (message, attributes) => line('info', message, attributes),
    warn: (message, attributes) => line('warn', message, attributes),
    error: (message, attributes) => line('error', message, attributes),
    child: (more) => liveConsumerLogger(live, onProblem, { ...keys, ...more }),
  };
}

/** The final line: claims only what stop() found. */
export function finalLine(input: {
  readonly polled: number;
  readonly published: number;
  readonly handled: number;
  readonly report: StopReport;
  readonly persistedIn?: string;
}): { text: string; clean: boolean } {
  const { report } = input;
  const counts = `${input.polled} polled, ${input.published} published, ${input.handled} handled`;
  const leaseReleased = report.sources.every((s) => s.leaseReleased);
  const offsets = report.sources.map((s) => (s.committedOffset === undefined ? undefined : `${s.sourceId}@${s.committedOffset}`)).filter((s) => s !== undefined);
  const lease = leaseReleased ? 'lease released' : 'the lease was NOT released (it expires on its own within a minute)';
  const dlq = report.depths !== undefined && report.depths.deadLettered > 0 ? ` ${report.depths.deadLettered} dead-lettered (a handler kept failing; see the live log, redrive with the CLI).` : '';
  if (report.drained && leaseReleased) {
    return { text: `Stopped: ${counts}; offset committed, lease released${offsets.length > 0 ? ` (${offsets.join(', ')})` : ''}; queues empty.${dlq}`, clean: dlq === '' };
  }
  const left = report.depths === undefined ? 'the queues could not be read' : `${report.depths.visible} waiting and ${report.depths.inFlight} in flight`;
  const where =
    input.persistedIn === undefined
      ? 'They were already confirmed at the portal and are NOT handled: this run kept its queues in memory.'
      : `They stay queued in ${input.persistedIn} and are handled on the next \`npm run dev\` started here.`;
  return { text: `Stopped before everything was handled: ${counts}; ${left}. ${where} Offset committed, ${lease}.${dlq}`, clean: false };
}

export async function runDev(options: DevOptions): Promise<number> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const tty = options.tty ?? false;
  const env = await loadEnvWithDotEnv(options.env, resolve(options.cwd, '.env'));
  const settings = portalSettingsFromEnv(env, { tokenFile: resolve(options.cwd, '.b24-pipeline', `tokens-${options.sourceId ?? env.B24_SOURCE_ID ?? 'dev'}.json`), ...(options.sourceId === undefined ? {} : { sourceId: options.sourceId }) });
  const idle = options.idleSeconds ?? idleSecondsFromEnv(env.B24_IDLE_SECONDS);
  const source = idle === undefined ? settings.source : { ...settings.source, idleInterval: { minSeconds: idle.min, maxSeconds: idle.max } };
  // Plain output: each live line at once. Terminal: the last lines under the table.
  const live = new LiveLog(tty ? {} : { write: (line) => write(`${line}\n`) });
  const userHandlers = options.handlersPath === undefined ? loggingHandlers((text) => live.add('handler', text)) : await loadHandlersModule(options.handlersPath, options.cwd);
  const outPath = options.outPath === undefined ? undefined : resolve(options.cwd, options.outPath);
  const notes: string[] = [];
  const portalLogger: Bitrix24Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (message, attributes) => {
      const a = attributes ?? {};
      const detail = [a.method, a.code, typeof a.attempt === 'number' ? `attempt ${a.attempt}` : undefined, typeof a.waitMs === 'number' ? `next in ${(a.waitMs / 1000).toFixed(1)} s` : undefined]
        .filter((part) => part !== undefined)
        .map(String)
        .join(' · ');
      live.add('portal', `${message.replace(/^bitrix24: /, '')}${detail === '' ? '' : ` (${detail})`}`);
    },
    error: (message) => live.add('portal', message.replace(/^bitrix24: /, '')),
  };
  // Opened before anything that needs closing: an unreadable journal stops the run at once.
  const journal = options.completionJournalPath === undefined ? inMemoryCompletionJournal() : await openCompletionJournal(options.completionJournalPath);
  const client = createBitrix24Client({ credentials: settings.credentials, logger: portalLogger });
  let fatal: PortalFatalError | undefined;
  let onFatal: () => void = () => undefined;
  const fatalSeen = new Promise<void>((resolveFatal) => {
    onFatal = resolveFatal;
  });
  const pollerClient = watchPortal(client, {
    fatal: (error) => {
      if (fatal !== undefined) return;
      fatal = new PortalFatalError(`The portal refused ${error.method ?? 'the call'} with ${error.code}: ${error.message} ${fatalFix(error)}`, error.code, { cause: error });
      live.add('error', `fatal: ${error.code} — stopping dev mode`);
      onFatal();
    },
    transient: (error) => live.add('portal', `${error.code} (transient; dev mode keeps retrying): ${error.message}`),
  });
  const log = outPath === undefined ? undefined : handledLog(outPath);
  const handlerClient = showCalls(client, live, log === undefined ? undefined : { log, sourceId: source.id });
  const startedAt = Date.now();
  let runtime: PipelineRuntime | undefined;
  try {
    runtime = await startPipelineRuntime({
      sources: [{ source, client: pollerClient, ...(settings.botToken === undefined ? {} : { botToken: settings.botToken }) }],
      prefix: options.prefix ?? 'b24-dev',
      ownerId: options.ownerId ?? `dev-${hostname()}-${process.pid}`,
      ...(options.endpoints === undefined ? {} : { endpoints: options.endpoints }),
      consumerFor: (setup) =>
        createLocalConsumer(setup, {
          handlers: journalledHandlers(userHandlers, journal, log, (sourceId, eventId) => setup.stats.recordHandled(sourceId, eventId)),
          logger: liveConsumerLogger(live, (line) => notes.push(line)),
          // ctx.bitrix24 in the user's handlers calls the same portal; ctx.reply answers as the source's bot (its token added with webhook auth).
          clientFactory: () => botTokenCaller(handlerClient, { sourceId: source.id, auth: source.auth, ...(settings.botToken === undefined ? {} : { botToken: settings.botToken }) }),
          voiceSources: voiceSourcesFromConfig([source]),
        }),
      beforePolling: async ({ pipeline, dynamoDb }) => {
        if (options.staleOwnerId === undefined) return;
        if (await releaseStaleLease(dynamoDb, pipeline.stateTableName, source.id, `${options.staleOwnerId}-${source.id}`)) {
          live.add('poller', `released the lease a previous run left when it died (${options.staleOwnerId}); resuming from its committed offset`);
        }
      },
      onPollerLog: (level, message, fields) => {
        const code = typeof fields?.errorCode === 'string' ? ` (${fields.errorCode})` : '';
        live.add(level === 'error' ? 'error' : 'poller', `${message}${code}`);
        notes.push(`[poller ${level}] ${message}${fields === undefined ? '' : ` ${JSON.stringify(fields)}`}`);
      },
      onError: (where, error) => {
        const text = `[${where}] ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
        live.add('error', text);
        notes.push(text);
      },
    });
    const running = runtime;
    if (options.statePath !== undefined) {
      await writeLocalState(options.statePath, { pid: process.pid, startedAt: new Date(startedAt).toISOString(), endpoints: running.endpoints, pipeline: running.pipeline, sources: running.sources });
    }
    write(`Polling ${source.kind} source "${source.id}" on ${client.portal}${options.persistedIn === undefined ? '' : ` (workspace ${options.persistedIn})`}. Ctrl-C to stop.\n`);
    const view = startProgressView({
      frame: () => buildRuntimeFrame(running, { title: `b24-event-pipeline dev · ${client.portal}`, startedAt, ...(tty ? { recent: live.recent() } : {}) }),
      write,
      tty,
    });
    await Promise.race([
      fatalSeen,
      new Promise<void>((resolveAbort) => {
        if (options.signal.aborted) resolveAbort();
        options.signal.addEventListener('abort', () => resolveAbort(), { once: true });
      }),
    ]);
    const report = await running.stop({ drainTimeoutMs: options.drainTimeoutMs ?? 120_000 });
    await view.stop();
    const snapshot = running.stats.snapshot();
    if (tty && notes.length > 0) write(`\n${notes.length} warning(s); the last ones:\n${notes.slice(-5).join('\n')}\n`);
    const final = finalLine({
      polled: snapshot.totals.polled,
      published: snapshot.totals.published,
      handled: snapshot.distinctConsumed,
      report,
      ...(options.persistedIn === undefined ? {} : { persistedIn: options.persistedIn }),
    });
    write(`\n${final.text}\n`);
    if (fatal !== undefined) throw fatal;
    return final.clean ? 0 : 1;
  } finally {
    await runtime?.stop({ drainTimeoutMs: 0 });
    await journal.close();
    if (options.statePath !== undefined) await removeLocalState(options.statePath);
  }
}
