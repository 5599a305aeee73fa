// The typed pipeline configuration: sources and options. Validated once at
// synth (lib/) and again at run time (the poller's input, the local runtime),
// with messages that name the bad field and how to fix it.
import * as z from 'zod';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_ROUTES, ROUTE_KEY_PATTERN, ROUTINGS, routesFor } from './topology.js';
import { ConfigError } from './errors.js';
import { portalRatesSchema } from '../budget/rates.js';

const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/;
const HOST_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:\d{1,5})?$/i;

export const idleIntervalSchema = z
  .object({
    /** Seconds between polls right after activity. @default 5 */
    minSeconds: z.number().min(1).max(60).default(5),
    /** Seconds between polls after a long idle stretch. @default 30 */
    maxSeconds: z.number().min(1).max(300).default(30),
  })
  .strict()
  .refine((v) => v.minSeconds <= v.maxSeconds, {
    message: 'minSeconds must be ≤ maxSeconds (Bitrix24 recommends 5–30 s between idle polls)',
  });

/** `{langCode: text}` with two-letter lower-case language codes (imbot.v2/commands/command-register.md, `title`, `params`). */
const localizedTextSchema = z.record(
  z.string().regex(/^[a-z]{2}$/, 'language codes are two lower-case letters, e.g. "en", "de"'),
  z.string().min(1).max(255),
);

/**
 * One slash command of a bot source, as `imbot.v2.Command.register` takes it
 * (api-reference/chat-bots/chat-bots-v2/imbot.v2/commands/command-register.md, `fields`);
 * `bot commands --sync` registers missing ones and updates changed ones (Command.update).
 */
export const botCommandConfigSchema = z
  .object({
    /** With its slash, as ONIMBOTV2COMMANDADD carries it and the router's `commands` keys it: "/help". Sent without the slash. */
    command: z.string().regex(/^\/[A-Za-z0-9_-]{1,64}$/, 'a slash and one word of letters, digits, - or _, e.g. "/help"'),
    /** Title per language, shown in the command list: `{"en": "Show help"}`. Required unless `hidden`. */
    title: localizedTextSchema.optional(),
    /** Hint for the parameters per language: `{"en": "topic"}`. @default none */
    params: localizedTextSchema.optional(),
    /** Available in every chat, not only where the bot is a member. @default false */
    common: z.boolean().default(false),
    /** Not shown in the command list. @default false */
    hidden: z.boolean().default(false),
    /** Extranet users may call it. @default false */
    extranetSupport: z.boolean().default(false),
  })
  .strict()
  .superRefine((command, ctx) => {
    if (!command.hidden && (command.title === undefined || Object.keys(command.title).length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['title'], message: 'required for a visible command (command-register.md): e.g. {"en": "Show help"}, or set "hidden": true' });
    }
  });

export type BotCommandConfig = z.output<typeof botCommandConfigSchema>;

export const sourceConfigSchema = z
  .object({
    /** Unique id: lower-case letters, digits, dashes (≤ 40). Names the schedule, state item and message groups. */
    id: z.string().regex(ID_PATTERN, 'use lower-case letters, digits and dashes, at most 40, e.g. "support-bot"'),
    /** `user`: im.v2.Event.get for the webhook's/app's user; `bot`: imbot.v2.Event.get for a fetch-mode bot. */
    kind: z.enum(['user', 'bot']),
    /** Portal host, e.g. `example.bitrix24.com` (no scheme, no path). */
    portal: z
      .string({ error: (issue) => (issue.input === undefined ? 'missing: the host of the Bitrix24 portal this source reads, e.g. "example.bitrix24.com"' : undefined) })
      .regex(HOST_PATTERN, 'give the portal host only, e.g. "example.bitrix24.com"'),
    /** How the poller authenticates: an inbound webhook URL or an OAuth application. */
    auth: z.enum(['webhook', 'oauth']),
    /** Secrets Manager secret name with the credentials. @default `<prefix>/sources/<id>` */
    secretName: z.string().min(1).max(512).optional(),
    /** Bot id (required for `kind: "bot"`). */
    botId: z.number().int().positive().optional(),
    /** Bot sources: also read the caller's ONIMV2* events with the same offset. @default false */
    withUserEvents: z.boolean().default(false),
    /** `continuous`: poll until shortly before the Lambda deadline; `per-schedule`: drain once and exit. @default continuous */
    mode: z.enum(['continuous', 'per-schedule']).default('continuous'),
    idleInterval: idleIntervalSchema.default({ minSeconds: 5, maxSeconds: 30 }),
    /**
     * Minimum seconds between Event.get calls while `hasMore`, 0.2–10. Bitrix24 asks for ≥ 2 s, which caps a
     * drain at 500 events/s; set it to 1/rate of your plan (0.5 standard, 0.2 Enterprise) to drain a backlog
     * at the API ceiling. @default 2
     */
    drainIntervalSeconds: z.number().min(0.2).max(10).default(2),
    /** Events per Event.get call, 1–1000. @default 1000 */
    pageLimit: z.number().int().min(1).max(1000).default(1000),
    /** A disabled source keeps its state and queues but is not scheduled. @default true */
    enabled: z.boolean().default(true),
    /** Bot sources: the bot's slash commands, kept registered by `b24-pipeline bot commands --sync`. @default none */
    commands: z.array(botCommandConfigSchema).max(100).optional(),
  })
  .strict()
  .superRefine((source, ctx) => {
    if (source.commands !== undefined) {
      if (source.kind !== 'bot') ctx.addIssue({ code: 'custom', path: ['commands'], message: 'commands apply to kind "bot" only' });
      const seen = new Set<string>();
      source.commands.forEach((command, index) => {
        const name = command.command.toLowerCase();
        if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['commands', index, 'command'], message: `"${command.command}" is listed twice (commands match regardless of case)` });
        seen.add(name);
      });
    }
    if (source.kind === 'bot' && source.botId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['botId'], message: 'required for kind "bot": bot.id from imbot.v2.Bot.register (`npm run cli -- bot register` prints it)' });
    }
    if (source.kind === 'user' && (source.botId !== undefined || source.withUserEvents)) {
      ctx.addIssue({ code: 'custom', path: ['botId'], message: 'botId/withUserEvents apply to kind "bot" only' });
    }
  });

/** The Marketplace install endpoint (functions/install, docs/install.md). Off unless `enabled`. */
export const installConfigSchema = z
  .object({
    /** Deploy the endpoint (a Lambda function URL Bitrix24 posts ONAPPINSTALL/ONAPPUNINSTALL to). @default false */
    enabled: z.boolean().default(false),
    /** Register this fetch-mode bot on every portal that installs the app, and poll it. @default none */
    botCode: z.string().regex(/^[a-z0-9_]{1,50}$/i, 'letters, digits and _ (≤ 50), e.g. "support_bot"').optional(),
    /** The bot's name on the portal. @default botCode */
    botName: z.string().min(1).max(100).optional(),
    /** index.md "Bot Types". @default "bot" */
    botType: z.enum(['bot', 'supervisor', 'personal', 'openline']).optional(),
    /** Subscribe the installing user's messenger events (im.v2.Event.subscribe) and poll them. @default false */
    subscribeUserEvents: z.boolean().default(false),
    /** Secrets Manager name of the app secret {clientId, clientSecret}. @default `<prefix>/app` */
    appSecretName: z.string().min(1).max(512).optional(),
  })
  .strict()
  .refine((install) => !install.enabled || install.botCode !== undefined || install.subscribeUserEvents, {
    message: 'an enabled install endpoint needs botCode and/or subscribeUserEvents: true, or it adds no source to poll',
  });

export const pipelineConfigSchema = z
  .object({
    /** Prefix of every resource name. @default "b24" */
    prefix: z.string().regex(/^[a-z][a-z0-9-]{0,19}$/, 'lower-case letters, digits and dashes, ≤ 20').default('b24'),
    /**
     * Sources seeded into the source registry at deploy (origin "config"; docs/registry.md). More are added at
     * run time with `npm run cli -- sources add`, without a deploy. @default []
     */
    sources: z.array(sourceConfigSchema).default([]),
    /**
     * Kinds of source the deployment has queues for: `user` → the ONIMV2* routes, `bot` → the ONIMBOTV2* routes
     * (bot sources with withUserEvents also need `user`). Sources added at run time must be of these kinds.
     * @default the kinds in `sources`, or both when `sources` is empty
     */
    sourceKinds: z.array(z.enum(['user', 'bot'])).min(1, 'list at least one kind: "user", "bot"').optional(),
    /** The scheduled poller shards that poll every registered source (issue 13; docs/poller.md). */
    fleet: z
      .object({
        /** Scheduled poller shards: N EventBridge schedules, each invoking the poller with `{"shard": i, "shardCount": N}`, 1–100. @default 2 */
        shards: z.number().int().min(1).max(100).default(2),
        /** Sources one poller invocation claims and polls concurrently, 1–500. @default 50 */
        sourcesPerInvocation: z.number().int().min(1).max(500).default(50),
        /**
         * Bitrix24 request budget per portal, shared by every poller shard and consumer calling it (docs/fleet.md):
         * `{ "default": { "requestsPerSecond": 2, "burst": 10 }, "portals": { "big.bitrix24.com": { "requestsPerSecond": 5 } } }`.
         * @default 2 requests/s, burst 10 for every portal (the standard plan; Enterprise allows 5/s)
         */
        portalBudgets: portalRatesSchema.optional(),
      })
      .strict()
      .default({ shards: 2, sourcesPerInvocation: 50 }),
    /**
     * `per-type`: a FIFO queue per event type (`routes`); `chat-ordered`: all known types through one FIFO queue
     * (route "chat-events", a message group per chat) so a chat's events are handled in order across types
     * (docs/delivery.md). @default per-type
     */
    routing: z.enum(ROUTINGS as ['per-type', 'chat-ordered']).default('per-type'),
    /** Event type → route key (per-type routing only). Unlisted types go to the catch-all queue. @default DEFAULT_ROUTES */
    routes: z
      .record(z.string().regex(/^[A-Z0-9_]+$/, 'event types are upper-case, e.g. ONIMV2MESSAGEADD'), z.string().regex(ROUTE_KEY_PATTERN, 'route keys are lower-case letters, digits and dashes'))
      .default({ ...DEFAULT_ROUTES }),
    /** Minutes between scheduled poller runs per source. @default 1 */
    scheduleMinutes: z.number().int().min(1).max(60).default(1),
    /** Alarm after this many minutes without a successful poll of a source. @default 15 */
    staleAfterMinutes: z.number().int().min(2).max(720).default(15),
    /** E-mail subscribed to the alarm topic. @default none */
    alarmEmail: z.string().email().optional(),
    install: installConfigSchema.optional(),
    consumer: z
      .object({
        /** Records per consumer invocation, 1–10 for FIFO queues. @default 10 */
        batchSize: z.number().int().min(1).max(10).default(10),
        /** Concurrent consumer invocations per route, 2–1000. @default 5 */
        maxConcurrency: z.number().int().min(2).max(1000).default(5),
        /**
         * Failed attempts of one event before its consumer moves it to the route's DLQ, 1–100 (the queue's
         * maxReceiveCount is maxReceiveCountFor(maxAttempts), a backstop). @default 5
         */
        maxAttempts: z.number().int().min(1).max(100).default(DEFAULT_MAX_ATTEMPTS),
      })
      .strict()
      .default({ batchSize: 10, maxConcurrency: 5, maxAttempts: DEFAULT_MAX_ATTEMPTS }),
  })
  .strict()
  .superRefine((config, ctx) => {
    // The staleness alarm wants a PollSucceeded in each of the last staleAfterMinutes minutes' window;
    // a source is polled (at least) once per scheduleMinutes, so the window must be longer than that.
    if (config.staleAfterMinutes <= config.scheduleMinutes) {
      ctx.addIssue({
        code: 'custom',
        path: ['staleAfterMinutes'],
        message: `${config.staleAfterMinutes} must exceed scheduleMinutes (${config.scheduleMinutes}), or the staleness alarm fires on every poll cycle: set staleAfterMinutes to at least ${config.scheduleMinutes + 1} (e.g. ${Math.min(720, 2 * config.scheduleMinutes)}) or lower scheduleMinutes`,
      });
    }
    const seen = new Set<string>();
    config.sources.forEach((source, index) => {
      if (seen.has(source.id)) {
        ctx.addIssue({ code: 'custom', path: ['sources', index, 'id'], message: `duplicate source id "${source.id}": ids must be unique` });
      }
      seen.add(source.id);
      if (config.sourceKinds !== undefined) {
        const needed = source.kind === 'bot' && source.withUserEvents ? ['bot', 'user'] : [source.kind];
        const missing = needed.filter((kind) => !config.sourceKinds?.includes(kind as 'user' | 'bot'));
        if (missing.length > 0) {
          ctx.addIssue({ code: 'custom', path: ['sourceKinds'], message: `source "${source.id}" needs the "${missing.join('", "')}" routes: add ${missing.map((k) => `"${k}"`).join(', ')} to sourceKinds (or drop sourceKinds)` });
        }
      }
    });
    if (config.routing === 'chat-ordered' && JSON.stringify(config.routes) !== JSON.stringify(DEFAULT_ROUTES)) {
      ctx.addIssue({ code: 'custom', path: ['routes'], message: 'routes apply to routing "per-type" only: "chat-ordered" sends every type to the route "chat-events"; remove routes or use per-type' });
    }
  })
  // chat-ordered: every known type goes to the one route, so everything that reads `routes` (lib/, the local rig) follows.
  .transform((config) => (config.routing === 'chat-ordered' ? { ...config, routes: { ...routesFor('chat-ordered') } } : config));

export type SourceConfig = z.output<typeof sourceConfigSchema>;
export type SourceConfigInput = z.input<typeof sourceConfigSchema>;
export type PipelineConfig = z.output<typeof pipelineConfigSchema>;
export type PipelineConfigInput = z.input<typeof pipelineConfigSchema>;
export type InstallConfig = z.output<typeof installConfigSchema>;

/** Edit distance of two short strings (insertions, deletions, substitutions), for "did you mean". */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The known key closest to `key` (case-insensitive, at most a third of its letters off), if any. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance <= Math.max(1, Math.floor(key.length / 3)) && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

type ZodDef = { type?: string; shape?: Record<string, unknown>; innerType?: unknown; element?: unknown; in?: unknown };
const defOf = (schema: unknown): ZodDef => (schema as { _zod?: { def?: ZodDef } })._zod?.def ?? {};

/** The object keys a schema accepts at `path` (through defaults, optionals, arrays and pipes). */
function knownKeysAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  const unwrap = (s: unknown): unknown => {
    let def = defOf(s);
    while (def.type === 'default' || def.type === 'optional' || def.type === 'prefault' || def.type === 'pipe') {
      s = def.type === 'pipe' ? def.in : def.innerType;
      def = defOf(s);
    }
    return s;
  };
  for (const segment of path) {
    const def = defOf(unwrap(current));
    current = typeof segment === 'number' ? def.element : def.shape?.[String(segment)];
  }
  return Object.keys(defOf(unwrap(current)).shape ?? {});
}

function describeIssues(error: z.ZodError, schema: unknown): string {
  return error.issues
    .flatMap((issue) => {
      const at = (path: readonly PropertyKey[]): string =>
        path.length === 0 ? '(root)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
      if (issue.code === 'unrecognized_keys') {
        const known = knownKeysAt(schema, issue.path);
        return issue.keys.map((key) => {
          const suggestion = closestKey(key, known);
          const fix = suggestion === undefined ? `remove it (known keys: ${known.join(', ')})` : `did you mean "${suggestion}"?`;
          return `  - ${at([...issue.path, key])}: unknown key; ${fix}`;
        });
      }
      return [`  - ${at(issue.path)}: ${issue.message}`];
    })
    .join('\n');
}

/** Validates a pipeline configuration; throws ConfigError naming every bad field. */
export function parsePipelineConfig(input: unknown, origin = 'configuration'): PipelineConfig {
  const result = pipelineConfigSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(`Invalid ${origin}:\n${describeIssues(result.error, pipelineConfigSchema)}`);
  }
  return result.data;
}

/** Validates one source (e.g. the poller's scheduled input). */
export function parseSourceConfig(input: unknown, origin = 'source'): SourceConfig {
  const result = sourceConfigSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(`Invalid ${origin}:\n${describeIssues(result.error, sourceConfigSchema)}`);
  }
  return result.data;
}

export function secretNameOf(prefix: string, source: Pick<SourceConfig, 'id' | 'secretName'>): string {
  return source.secretName ?? `${prefix}/sources/${source.id}`;
}
