// The one-command demo: portal simulator + DynamoDB Local + fauxqs, the
// pipeline's real tables and queues, the real poller and consumers, and chat
// traffic from the simulator's activity generator. Ends with a verdict:
// every generated event consumed, or a non-zero exit code.
import { createBitrix24Client } from '../bitrix24/client.js';
import { type FaultSpec, type PortalSimulator, startPortalSimulator } from '../simulator/index.js';
import { botEventSamples } from '../simulator/bot-event-samples.js';
import { type SourceConfig, parseSourceConfig } from '../shared/config.js';
import type { LocalAwsEndpoints } from './aws-emulators.js';
import { LocalUsageError } from './errors.js';
import { botRouter } from '../bot/bot-router.js';
import type { ConsumerHandlers } from '../consumers/consumer-handler.js';
import { botTokenCaller } from '../consumers/bot-token.js';
import { voiceSourcesFromConfig } from '../consumers/voice-sources.js';
import { createLocalConsumer, handlersForEveryType, quietConsumerLogger } from './local-consumers.js';
import { type PipelineRuntime, type RuntimeSourceInput, startPipelineRuntime } from './pipeline-runtime.js';
import { startProgressView } from './progress-view.js';
import { buildRuntimeFrame } from './runtime-frame.js';
import { type RunSummary, formatSummary, summarizeRun } from './run-summary.js';
import { removeLocalState, writeLocalState } from './state-file.js';

export interface DemoOptions {
  /** Seconds of chat traffic. @default 20 */
  readonly durationSeconds?: number;
  /** Events per second, over all sources. @default 20 */
  readonly eventsPerSecond?: number;
  /** Simulator fault injection (503/500/connection reset/malformed answers on Event.get). @default false */
  readonly faults?: boolean;
  /** User sources (one simulated user each). @default 1 */
  readonly userSources?: number;
  /** Add a fetch-mode bot source. @default false */
  readonly bot?: boolean;
  /** The simulator's Bitrix24 rate limit (2 req/s, 50 queued). @default true */
  readonly rateLimit?: boolean;
  /** Ends the traffic early (Ctrl-C, --follow). @default none: runs durationSeconds */
  readonly signal?: AbortSignal;
  /** Run until `signal` aborts instead of durationSeconds. @default false */
  readonly follow?: boolean;
  /** How long to wait for the queues to drain after the traffic, in seconds. @default 30 */
  readonly drainTimeoutSeconds?: number;
  /** Existing emulators (tests). @default start them */
  readonly endpoints?: LocalAwsEndpoints;
  /** Resource prefix. @default "b24-demo" */
  readonly prefix?: string;
  /** Length of one poller run, in seconds. @default 20 */
  readonly runSeconds?: number;
  /** Where progress and the summary go. @default process.stdout.write */
  readonly write?: (text: string) => void;
  /** Redraw the progress view in place. @default false */
  readonly tty?: boolean;
  /** State file for the operator CLI. @default none */
  readonly statePath?: string;
}

export interface DemoResult {
  readonly summary: RunSummary;
  readonly exitCode: number;
}

/** Faults the demo injects: all transient, all of the kinds the pipeline must survive without loss. */
const DEMO_FAULTS: readonly FaultSpec[] = [
  { method: 'im.v2.Event.get', kind: 'error', status: 503, code: 'QUERY_LIMIT_EXCEEDED', description: 'Too many requests' },
  { method: 'im.v2.Event.get', kind: 'error', status: 500, code: 'INTERNAL_SERVER_ERROR', description: 'Internal server error' },
  { method: 'im.v2.Event.get', kind: 'reset' },
  { method: 'im.v2.Event.get', kind: 'malformed' },
  { method: 'imbot.v2.Event.get', kind: 'error', status: 500, code: 'INTERNAL_SERVER_ERROR', description: 'Internal server error' },
];

type Target = { readonly userId: number } | { readonly botId: number };

interface DemoSource {
  readonly input: RuntimeSourceInput;
  readonly target: Target;
}

function createSources(sim: PortalSimulator, userSources: number, bot: boolean): DemoSource[] {
  const sources: DemoSource[] = [];
  const source = (input: Record<string, unknown>): SourceConfig =>
    parseSourceConfig({ portal: sim.portalHost, auth: 'webhook', mode: 'continuous', idleInterval: { minSeconds: 1, maxSeconds: 2 }, ...input }, 'demo source');
  let firstUser: number | undefined;
  for (let i = 1; i <= userSources; i += 1) {
    const user = sim.addUser({ name: `Demo user ${i}` });
    firstUser ??= user.id;
    sim.subscribe(user.id);
    sources.push({
      input: { source: source({ id: userSources === 1 ? 'demo-user' : `demo-user-${i}`, kind: 'user' }), client: createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl: sim.createWebhook(user.id) } }) },
      target: { userId: user.id },
    });
  }
  if (bot) {
    const owner = firstUser ?? sim.addUser({ name: 'Bot owner' }).id;
    const { botId, botToken } = sim.registerBot(owner, { code: 'demo_bot' });
    sources.push({
      input: {
        source: source({ id: 'demo-bot', kind: 'bot', botId }),
        client: createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl: sim.createWebhook(owner) } }),
        botToken,
      },
      target: { botId },
    });
  }
  return sources;
}

function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const durationMs = (options.durationSeconds ?? 20) * 1000;
  const rate = options.eventsPerSecond ?? 20;
  const userSources = options.userSources ?? 1;
  if (!(rate > 0)) throw new LocalUsageError(`--rate must be a positive number of events per second; got ${rate}.`);
  if (!Number.isInteger(userSources) || userSources < 0 || userSources > 20) throw new LocalUsageError(`--sources must be an integer from 0 to 20; got ${userSources}.`);
  if (userSources === 0 && options.bot !== true) throw new LocalUsageError('Nothing to poll: use --sources ≥ 1 or --bot.');

  const startedAt = Date.now();
  const sim = await startPortalSimulator(options.rateLimit === false ? { rateLimit: false } : {});
  let runtime: PipelineRuntime | undefined;
  let faultTimer: NodeJS.Timeout | undefined;
  const notes: string[] = [];
  try {
    const sources = createSources(sim, userSources, options.bot === true);
    runtime = await startPipelineRuntime({
      sources: sources.map((s) => s.input),
      prefix: options.prefix ?? 'b24-demo',
      ...(options.endpoints === undefined ? {} : { endpoints: options.endpoints }),
      ...(options.runSeconds === undefined ? {} : { runSeconds: options.runSeconds }),
      consumerFor: (setup) => {
        const everyType = handlersForEveryType((event, sourceId) => setup.stats.recordHandled(sourceId, event.eventId));
        // The bot answers as the bot (ctx.reply → imbot.v2.Chat.Message.send, through the outbox); the loop guard
        // keeps it from answering bots, system messages and itself. Every event is still counted as handled.
        const botAnswers = botRouter({
          onMessage: async (event, ctx) => {
            await ctx.reply(`Echo #${event.eventId}: ${event.data.message.text.slice(0, 60)}`);
          },
        });
        const answerMessage = botAnswers.ONIMBOTV2MESSAGEADD;
        const handlers: ConsumerHandlers =
          answerMessage === undefined
            ? everyType
            : {
                ...everyType,
                ONIMBOTV2MESSAGEADD: async (event, ctx) => {
                  await answerMessage(event, ctx);
                  setup.stats.recordHandled(ctx.sourceId, event.eventId);
                },
              };
        const bySource = new Map(sources.map((s) => [s.input.source.id, s.input]));
        return createLocalConsumer(setup, {
          handlers,
          clientFactory: (sourceId) => {
            const input = bySource.get(sourceId);
            if (input === undefined) throw new LocalUsageError(`demo: no source "${sourceId}"`);
            return botTokenCaller(input.client, { sourceId, auth: input.source.auth, ...(input.botToken === undefined ? {} : { botToken: input.botToken }) });
          },
          voiceSources: voiceSourcesFromConfig(sources.map((s) => s.input.source)),
          logger: quietConsumerLogger((line) => notes.push(line)),
        });
      },
      onPollerLog: (level, message, fields) => notes.push(`[poller ${level}] ${message}${fields === undefined ? '' : ` ${JSON.stringify(fields)}`}`),
      onError: (where, error) => notes.push(`[${where}] ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`),
    });
    const live = runtime;
    if (options.statePath !== undefined) {
      await writeLocalState(options.statePath, { pid: process.pid, startedAt: new Date(startedAt).toISOString(), endpoints: live.endpoints, pipeline: live.pipeline, sources: live.sources });
    }

    for (const s of sources) sim.activity.start(s.target, rate / sources.length);
    if (options.faults === true) {
      let next = 0;
      faultTimer = setInterval(() => {
        const fault = DEMO_FAULTS[next % DEMO_FAULTS.length];
        next += 1;
        if (fault !== undefined) sim.faults.inject(fault);
      }, 1500);
    }

    let phase = 'traffic';
    const generated = () => sources.reduce((sum, s) => sum + sim.emittedEvents(s.target).length, 0);
    const view = startProgressView({
      frame: () =>
        buildRuntimeFrame(live, {
          title: 'b24-event-pipeline demo',
          startedAt,
          phase,
          generated: generated(),
          ...(options.faults === true ? { faultsInjected: sim.faults.injectedCount } : {}),
        }),
      write,
      tty: options.tty ?? false,
    });

    await sleepUnlessAborted(options.follow === true ? 2 ** 31 - 1 : durationMs, options.signal);
    sim.activity.stop();
    if (faultTimer !== undefined) clearInterval(faultTimer);
    sim.faults.clear();
    phase = 'draining';
    const generatedIds = () => new Map(sources.map((s) => [s.input.source.id, sim.emittedEvents(s.target).map((e) => e.eventId)]));
    const allConsumed = () => {
      for (const [sourceId, ids] of generatedIds()) {
        const done = live.stats.consumedIds(sourceId);
        if (ids.some((id) => !done.has(id))) return false;
      }
      return true;
    };
    await live.waitForDrain({ timeoutMs: (options.drainTimeoutSeconds ?? 30) * 1000, until: allConsumed });
    // Bot demo: removing the bot sends its last event, ONIMBOTV2DELETE (imbot.v2/events/events.md). Only once
    // every message was answered: a removed bot can no longer reply, so later replies would fail and be retried.
    if (sources.some((s) => 'botId' in s.target)) {
      for (const s of sources) if ('botId' in s.target) sim.unregisterBot(s.target.botId);
      await live.waitForDrain({ timeoutMs: (options.drainTimeoutSeconds ?? 30) * 1000, until: allConsumed });
    }
    phase = 'stopping';
    const depths = await live.queueDepths();
    await live.stop({ drainTimeoutMs: 5_000 });
    phase = 'done';
    await view.stop();

    const summary = summarizeRun({ generatedIds: generatedIds(), stats: live.stats, deadLettered: depths.deadLettered, durationMs: Date.now() - startedAt });
    if (notes.length > 0) write(`\n${notes.length} warning(s) during the run; the last ones:\n${notes.slice(-5).join('\n')}\n`);
    for (const s of sources) {
      if ('botId' in s.target) write(`\nBot events as delivered (documented shapes, imbot.v2/events/events.md):\n${botEventSamples(sim.emittedEvents(s.target)).join('\n')}\n`);
    }
    for (const s of sources) {
      if (!('botId' in s.target)) continue;
      const { botId } = s.target;
      // One answer per user message, never two: the reply text names the event it answers.
      const answers = sim.records.messages.filter((m) => m.botId === botId && m.text.startsWith('Echo #'));
      const perEvent = new Map<string, number>();
      for (const m of answers) {
        const key = m.text.slice(0, m.text.indexOf(':'));
        perEvent.set(key, (perEvent.get(key) ?? 0) + 1);
      }
      const twice = [...perEvent.values()].filter((n) => n > 1).length;
      const sample = answers.slice(0, 3).map((m) => `  bot → ${m.dialogId}: ${m.text}`);
      write(`\nBot conversation: ${answers.length} replies as the bot (imbot.v2.Chat.Message.send), ${twice} posted twice\n${sample.join('\n')}\n`);
    }
    write(`\n${formatSummary(summary)}\n`);
    return { summary, exitCode: summary.ok ? 0 : 1 };
  } finally {
    if (faultTimer !== undefined) clearInterval(faultTimer);
    sim.activity.stop();
    await runtime?.stop({ drainTimeoutMs: 0 });
    if (options.statePath !== undefined) await removeLocalState(options.statePath);
    await sim.stop();
  }
}
