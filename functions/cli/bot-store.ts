// Where a bot source reads its botId / botToken, as a small port the bot
// commands write through:
// - locally: the `.env` dev mode and the CLI read (B24_BOT_ID, B24_BOT_TOKEN;
//   functions/local/portal-env.ts), rewritten atomically, other lines kept;
// - on AWS: the source's Secrets Manager secret ("botToken", merged into the
//   JSON the poller reads, functions/bitrix24/source-secret.ts). The botId
//   lives in the source's configuration (CDK props), which only a deploy
//   changes: the store says so instead of writing it.
// Values are credentials: never printed, never put in an error.
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import { GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PORTAL_ENV } from '../local/portal-env.js';
import { CliError, CliUsageError, MissingCredentialsError } from './errors.js';

export interface SavedBot {
  readonly botId?: number;
  readonly botToken?: string;
}

export interface BotStore {
  /** Where the values go, for messages ("/repo/.env", "secret b24/sources/x"). Never a value. */
  readonly label: string;
  read(): Promise<SavedBot>;
  /**
   * Saves a token before the bot is registered with it (so a crash after the
   * registration never loses the token) and forgets a botId of another bot.
   */
  saveToken(botToken: string): Promise<void>;
  /** Saves the bot's id and token; returns what the operator still has to do, if anything. */
  saveBot(bot: { botId: number; botToken?: string }): Promise<string | undefined>;
  /** Forgets the bot (after unregister); returns what the operator still has to do, if anything. */
  forget(): Promise<string | undefined>;
}

// ---- .env ---------------------------------------------------------------------

const PLAIN_VALUE = /^[A-Za-z0-9_.:/@+=-]*$/;

function envLine(key: string, value: string): string {
  if (PLAIN_VALUE.test(value)) return `${key}=${value}`;
  if (!value.includes("'") && !/[\r\n]/.test(value)) return `${key}='${value}'`;
  throw new CliUsageError(`${key} cannot be written to .env: the value has a quote or line break. Use a botToken of letters, digits and -_. only.`);
}

/** Sets (or with undefined removes) `KEY=value` lines, keeping every other line and comment. Pure: exported for tests. */
export function updateDotEnv(text: string, values: Readonly<Record<string, string | undefined>>): string {
  const lines = text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/);
  const handled = new Set<string>();
  const out: string[] = [];
  for (const line of lines) {
    const key = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1];
    if (key === undefined || !Object.hasOwn(values, key)) {
      out.push(line);
      continue;
    }
    // A later duplicate would win when the file is read: keep only the first, rewritten.
    if (handled.has(key)) continue;
    handled.add(key);
    const value = values[key];
    if (value !== undefined) out.push(envLine(key, value));
  }
  for (const [key, value] of Object.entries(values)) if (!handled.has(key) && value !== undefined) out.push(envLine(key, value));
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

function parseBotId(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const id = Number(text.trim());
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

export class DotEnvBotStore implements BotStore {
  readonly label: string;
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
    this.label = path;
  }

  async #text(): Promise<string | undefined> {
    try {
      return await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CliError(`Cannot read ${this.#path} (${(error as NodeJS.ErrnoException).code ?? 'error'}): fix its permissions or pass another --env-file.`, { cause: error });
    }
  }

  async read(): Promise<SavedBot> {
    const text = await this.#text();
    if (text === undefined) return {};
    // The same parser dev mode reads .env with (portal-env.ts).
    const values = parseEnv(text) as Record<string, string | undefined>;
    const botId = parseBotId(values[PORTAL_ENV.botId]);
    const botToken = values[PORTAL_ENV.botToken];
    return { ...(botId === undefined ? {} : { botId }), ...(botToken === undefined || botToken === '' ? {} : { botToken }) };
  }

  async #write(values: Readonly<Record<string, string | undefined>>): Promise<void> {
    const before = await this.#text();
    const after = updateDotEnv(before ?? '', values);
    const mode = before === undefined ? 0o600 : (await stat(this.#path)).mode & 0o777;
    const temporary = `${this.#path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, after, { mode: 0o600 });
    await chmod(temporary, mode);
    await rename(temporary, this.#path);
  }

  async saveToken(botToken: string): Promise<void> {
    await this.#write({ [PORTAL_ENV.botToken]: botToken, [PORTAL_ENV.botId]: undefined });
  }

  async saveBot(bot: { botId: number; botToken?: string }): Promise<string | undefined> {
    await this.#write({ [PORTAL_ENV.botId]: String(bot.botId), ...(bot.botToken === undefined ? {} : { [PORTAL_ENV.botToken]: bot.botToken }) });
    return undefined;
  }

  async forget(): Promise<string | undefined> {
    if ((await this.#text()) === undefined) return undefined;
    await this.#write({ [PORTAL_ENV.botId]: undefined, [PORTAL_ENV.botToken]: undefined });
    return undefined;
  }
}

// ---- Secrets Manager ------------------------------------------------------------

export class SecretBotStore implements BotStore {
  readonly label: string;
  readonly #client: SecretsManagerClient;
  readonly #secretName: string;
  readonly #sourceId: string;
  readonly #configuredBotId: number | undefined;

  /** `configuredBotId`: the botId in the source's configuration (stack output Sources), if any. */
  constructor(input: { client: SecretsManagerClient; secretName: string; sourceId: string; configuredBotId?: number }) {
    this.#client = input.client;
    this.#secretName = input.secretName;
    this.#sourceId = input.sourceId;
    this.#configuredBotId = input.configuredBotId;
    this.label = `secret ${input.secretName}`;
  }

  async #json(): Promise<Record<string, unknown>> {
    let text: string | undefined;
    try {
      text = (await this.#client.send(new GetSecretValueCommand({ SecretId: this.#secretName }))).SecretString;
    } catch (error) {
      throw new MissingCredentialsError(
        `Cannot read secret ${this.#secretName} (${error instanceof Error ? error.name : 'error'}): put the source's credentials there first (docs/deploy.md) and allow secretsmanager:GetSecretValue.`,
      );
    }
    try {
      const value: unknown = JSON.parse(text ?? '');
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // answered below
    }
    throw new MissingCredentialsError(`Secret ${this.#secretName} is not a JSON object: store {"webhookUrl": "…"} or the OAuth fields (value not shown).`);
  }

  async #put(json: Record<string, unknown>): Promise<void> {
    try {
      await this.#client.send(new PutSecretValueCommand({ SecretId: this.#secretName, SecretString: JSON.stringify(json) }));
    } catch (error) {
      throw new CliError(
        `Could not write secret ${this.#secretName} (${error instanceof Error ? error.name : 'error'}): allow secretsmanager:PutSecretValue on it, then re-run (the bot registration itself is idempotent).`,
      );
    }
  }

  async read(): Promise<SavedBot> {
    const json = await this.#json();
    const botToken = typeof json.botToken === 'string' && json.botToken !== '' ? json.botToken : undefined;
    return { ...(this.#configuredBotId === undefined ? {} : { botId: this.#configuredBotId }), ...(botToken === undefined ? {} : { botToken }) };
  }

  async saveToken(botToken: string): Promise<void> {
    const json = await this.#json();
    if (json.botToken === botToken) return;
    await this.#put({ ...json, botToken });
  }

  async saveBot(bot: { botId: number; botToken?: string }): Promise<string | undefined> {
    if (bot.botToken !== undefined) await this.saveToken(bot.botToken);
    if (this.#configuredBotId === bot.botId) return undefined;
    return `Set botId: ${bot.botId} (kind "bot") for source "${this.#sourceId}" in the pipeline's sources and run \`npx cdk deploy\` (docs/deploy.md): the poller reads botId from its configuration.`;
  }

  async forget(): Promise<string | undefined> {
    const json = await this.#json();
    if ('botToken' in json) {
      const rest = { ...json };
      delete rest.botToken;
      await this.#put(rest);
    }
    return `Remove source "${this.#sourceId}" (or its botId) from the pipeline's sources and run \`npx cdk deploy\`: the bot no longer exists.`;
  }
}
