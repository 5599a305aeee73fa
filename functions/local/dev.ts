// Dev mode: the local pipeline against a real Bitrix24 portal, with the
// user's own handlers as consumers, so a bot can be developed without
// deploying. Credentials come from the environment / `.env` and are never
// printed. Optional JSON-lines log of every handled event.
import { appendFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createBitrix24Client } from '../bitrix24/client.js';
import type { ConsumerHandlers } from '../consumers/consumer-handler.js';
import { KNOWN_EVENT_TYPES, type RawBitrixEvent } from '../shared/event-types.js';
import type { LocalAwsEndpoints } from './aws-emulators.js';
import { HandlersModuleError } from './errors.js';
import { createLocalConsumer, quietConsumerLogger } from './local-consumers.js';
import { type PipelineRuntime, startPipelineRuntime } from './pipeline-runtime.js';
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
  /** Seconds between idle polls (Bitrix24 recommends 5–30). @default 5..30 from the source config */
  readonly idleSeconds?: { readonly min: number; readonly max: number };
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

/** Wraps every handler so each event it finishes is appended to the JSON-lines file. */
function withEventLog(handlers: ConsumerHandlers, outPath: string | undefined, onHandled: (sourceId: string, eventId: number) => void): ConsumerHandlers {
  const wrapped: Record<string, (event: RawBitrixEvent, ctx: { readonly sourceId: string; readonly route: string | undefined }) => Promise<void>> = {};
  for (const [key, handler] of Object.entries(handlers) as Array<[string, (event: RawBitrixEvent, ctx: never) => Promise<void>]>) {
    wrapped[key] = async (event, ctx) => {
      await handler(event, ctx as never);
      onHandled(ctx.sourceId, event.eventId);
      if (outPath !== undefined) {
        await appendFile(outPath, `${JSON.stringify({ handledAt: new Date().toISOString(), sourceId: ctx.sourceId, route: ctx.route, handler: key, event })}\n`);
      }
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

export async function runDev(options: DevOptions): Promise<number> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const env = await loadEnvWithDotEnv(options.env, resolve(options.cwd, '.env'));
  const settings = portalSettingsFromEnv(env, { tokenFile: resolve(options.cwd, '.b24-pipeline', `tokens-${options.sourceId ?? env.B24_SOURCE_ID ?? 'dev'}.json`), ...(options.sourceId === undefined ? {} : { sourceId: options.sourceId }) });
  const source = options.idleSeconds === undefined ? settings.source : { ...settings.source, idleInterval: { minSeconds: options.idleSeconds.min, maxSeconds: options.idleSeconds.max } };
  const userHandlers = options.handlersPath === undefined ? loggingHandlers(write) : await loadHandlersModule(options.handlersPath, options.cwd);
  const outPath = options.outPath === undefined ? undefined : resolve(options.cwd, options.outPath);
  const client = createBitrix24Client({ credentials: settings.credentials });
  const startedAt = Date.now();
  const notes: string[] = [];
  let runtime: PipelineRuntime | undefined;
  try {
    runtime = await startPipelineRuntime({
      sources: [{ source, client, ...(settings.botToken === undefined ? {} : { botToken: settings.botToken }) }],
      prefix: options.prefix ?? 'b24-dev',
      ...(options.endpoints === undefined ? {} : { endpoints: options.endpoints }),
      consumerFor: (setup) =>
        createLocalConsumer(setup, {
          handlers: withEventLog(userHandlers, outPath, (sourceId, eventId) => setup.stats.recordHandled(sourceId, eventId)),
          logger: quietConsumerLogger((line) => notes.push(line)),
          // ctx.bitrix24 in the user's handlers calls the same portal.
          clientFactory: () => client,
        }),
      onPollerLog: (level, message, fields) => notes.push(`[poller ${level}] ${message}${fields === undefined ? '' : ` ${JSON.stringify(fields)}`}`),
      onError: (where, error) => notes.push(`[${where}] ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`),
    });
    const live = runtime;
    if (options.statePath !== undefined) {
      await writeLocalState(options.statePath, { pid: process.pid, startedAt: new Date(startedAt).toISOString(), endpoints: live.endpoints, pipeline: live.pipeline, sources: live.sources });
    }
    write(`Polling ${source.kind} source "${source.id}" on ${client.portal}. Ctrl-C to stop.\n`);
    const view = startProgressView({
      frame: () => buildRuntimeFrame(live, { title: `b24-event-pipeline dev · ${client.portal}`, startedAt }),
      write,
      tty: options.tty ?? false,
    });
    await new Promise<void>((resolveAbort) => {
      if (options.signal.aborted) resolveAbort();
      options.signal.addEventListener('abort', () => resolveAbort(), { once: true });
    });
    await live.stop({ drainTimeoutMs: 10_000 });
    await view.stop();
    const snapshot = live.stats.snapshot();
    if (notes.length > 0) write(`\n${notes.length} warning(s); the last ones:\n${notes.slice(-5).join('\n')}\n`);
    write(`\nStopped: ${snapshot.totals.polled} polled, ${snapshot.totals.published} published, ${snapshot.distinctConsumed} handled; offset committed, lease released.\n`);
    return 0;
  } finally {
    await runtime?.stop({ drainTimeoutMs: 0 });
    if (options.statePath !== undefined) await removeLocalState(options.statePath);
  }
}
