// `b24-pipeline sources list|show|add|enable|disable|remove` (issue 13): the
// source registry at run time, no deploy. `add` validates exactly as the CDK
// config does (parseSourceConfig via the registry), and on AWS (--stack)
// creates the source's Secrets Manager secret `<prefix>/sources/<id>` under
// the name prefix the pipeline's roles may read — with the JSON of
// --secret-file, or a placeholder to fill in. Locally the credentials come
// from the environment / .env as in dev mode. A secret value is never printed.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CreateSecretCommand, ResourceExistsException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { randomBytes } from 'node:crypto';
import { DynamoDbSourceRegistry } from '../registry/dynamodb-source-registry.js';
import { SourceRegistryError } from '../registry/errors.js';
import { validateRegistration } from '../registry/registered-source.js';
import { registryTableName } from '../registry/registry-table.js';
import type { RegisteredSource } from '../registry/source-registry.js';
import { parseSourceSecret } from '../bitrix24/source-secret.js';
import { CliError, CliUsageError, UnknownSourceError } from './errors.js';
import type { CliIo } from './main.js';
import { type PipelineTarget, resolveTarget } from './target.js';
import { OUTPUT_OPTIONS, TARGET_OPTIONS, targetOptionsOf } from './common-options.js';

export const SOURCES_USAGE = `Usage: b24-pipeline sources <list|show|add|enable|disable|remove> [options]

  list                                   every registered source (enabled or not), by id
  show <id>                              one source: config, credentials reference, origin, version
  add <id> --kind user|bot --portal <host> --auth webhook|oauth [--bot-id <n>] [--with-user-events]
          [--mode continuous|per-schedule] [--page-limit <n>] [--disabled] [--replace]
          [--secret-file <path.json>]     (--stack only: the secret's JSON, never printed)
  add --json-config '<source JSON>'      the same, as one JSON object (the config's source fields)
  enable <id> | disable <id>             start / stop polling it (state and queued events stay)
  remove <id>                            unregister it (its state item, secret and queued events stay)

Target options as for the other commands (--stack <name> [--region <r>], --dynamodb-endpoint/--sqs-endpoint/--prefix,
--state-file, --local); --json for machine-readable output.
`;

const OPTIONS = {
  ...OUTPUT_OPTIONS,
  ...TARGET_OPTIONS,
  kind: { type: 'string' },
  portal: { type: 'string' },
  auth: { type: 'string' },
  'bot-id': { type: 'string' },
  'with-user-events': { type: 'boolean' },
  mode: { type: 'string' },
  'page-limit': { type: 'string' },
  disabled: { type: 'boolean' },
  replace: { type: 'boolean' },
  'secret-file': { type: 'string' },
  'json-config': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];
const SUBCOMMANDS = ['list', 'show', 'add', 'enable', 'disable', 'remove'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

/** What list/show print of a source: never a credential, only where it is. */
export function sourceView(source: RegisteredSource): Record<string, unknown> {
  return { ...source.config, credentials: source.credentials, origin: source.origin, version: source.version, updatedAt: source.updatedAt };
}

function integer(values: Values, name: 'bot-id' | 'page-limit'): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value)) throw new CliUsageError(`--${name} must be a whole number, got "${text}".`);
  return value;
}

/** The source fields from --json-config or the flags (validated by the registry, as strictly as the config). */
export function sourceInputFrom(id: string | undefined, values: Values): Record<string, unknown> {
  if (values['json-config'] !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(values['json-config']);
    } catch (error) {
      throw new CliUsageError('--json-config is not JSON: give one source object, e.g. {"id":"helpdesk","kind":"user","portal":"example.bitrix24.com","auth":"webhook"}.', { cause: error });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliUsageError('--json-config must be one JSON object (a source).');
    return id === undefined ? (parsed as Record<string, unknown>) : { ...(parsed as Record<string, unknown>), id };
  }
  const botId = integer(values, 'bot-id');
  const pageLimit = integer(values, 'page-limit');
  return {
    ...(id === undefined ? {} : { id }),
    ...(values.kind === undefined ? {} : { kind: values.kind }),
    ...(values.portal === undefined ? {} : { portal: values.portal }),
    ...(values.auth === undefined ? {} : { auth: values.auth }),
    ...(botId === undefined ? {} : { botId }),
    ...(values['with-user-events'] === true ? { withUserEvents: true } : {}),
    ...(values.mode === undefined ? {} : { mode: values.mode }),
    ...(pageLimit === undefined ? {} : { pageLimit }),
    ...(values.disabled === true ? { enabled: false } : {}),
  };
}

/** Creates the source's secret on AWS; the value is validated as the poller will read it, and never echoed. */
async function createSourceSecret(target: PipelineTarget, secretName: string, auth: 'webhook' | 'oauth', values: Values): Promise<'created' | 'exists' | 'placeholder'> {
  let secretString: string;
  let outcome: 'created' | 'placeholder' = 'placeholder';
  if (values['secret-file'] === undefined) {
    secretString = JSON.stringify({ placeholder: true, replaceMe: randomBytes(12).toString('hex') });
  } else {
    let text: string;
    try {
      text = await readFile(values['secret-file'], 'utf8');
      parseSourceSecret(JSON.parse(text) as unknown, auth, secretName);
    } catch (error) {
      // The parse errors name fields, never values (source-secret.ts).
      throw new CliUsageError(`--secret-file ${values['secret-file']} is not a valid ${auth} source secret (${error instanceof Error ? error.message : 'unreadable'}); nothing was written.`, { cause: error });
    }
    secretString = text;
    outcome = 'created';
  }
  const client = new SecretsManagerClient(values.region === undefined ? {} : { region: values.region });
  try {
    await client.send(new CreateSecretCommand({ Name: secretName, SecretString: secretString, Description: `Bitrix24 ${auth} credentials of a b24-event-pipeline source (${target.prefix})` }));
    return outcome;
  } catch (error) {
    if (error instanceof ResourceExistsException) return 'exists';
    throw new CliError(`Creating secret ${secretName} failed (${error instanceof Error ? error.name : 'error'}); nothing was registered.`, { cause: error });
  } finally {
    client.destroy();
  }
}

interface Output {
  readonly json: unknown;
  readonly text: string;
}

async function run(subcommand: Subcommand, id: string | undefined, values: Values, target: PipelineTarget): Promise<Output> {
  const registry = new DynamoDbSourceRegistry({ client: target.dynamoDb, tableName: registryTableName(target.prefix) });
  const need = (): string => {
    if (id === undefined) throw new CliUsageError(`sources ${subcommand} needs a source id: \`sources ${subcommand} <id>\`.`);
    return id;
  };
  const known = async (): Promise<string[]> => (await registry.list()).map((s) => s.config.id);
  switch (subcommand) {
    case 'list': {
      const sources = await registry.list();
      const lines = sources.map((s) => `${s.config.id.padEnd(24)} ${s.config.kind.padEnd(4)} ${s.config.enabled ? 'enabled ' : 'disabled'} ${s.config.portal} (${s.config.auth}, ${s.origin}, v${s.version})`);
      return { json: sources.map(sourceView), text: sources.length === 0 ? 'no sources registered (add one with `sources add`)' : lines.join('\n') };
    }
    case 'show': {
      const sourceId = need();
      const source = await registry.get(sourceId);
      if (source === undefined) throw new UnknownSourceError(sourceId, await known());
      return { json: sourceView(source), text: JSON.stringify(sourceView(source), null, 2) };
    }
    case 'add': {
      const input = sourceInputFrom(id, values);
      const sourceId = typeof input.id === 'string' ? input.id : need();
      const secretName = `${target.prefix}/sources/${sourceId}`;
      const existing = await registry.get(sourceId);
      if (existing !== undefined && values.replace !== true) {
        throw new CliUsageError(`Source "${sourceId}" is already registered (version ${existing.version}, origin ${existing.origin}); pass --replace to overwrite it.`);
      }
      // Validate before any secret is created: the registry's own rules (parseSourceConfig), nothing written yet.
      const registration = validateRegistration(input, { kind: 'secret', secretName: typeof input.secretName === 'string' ? input.secretName : secretName }, 'cli');
      if (registration.credentials.kind === 'secret' && !registration.credentials.secretName.startsWith(`${target.prefix}/sources/`)) {
        throw new CliUsageError(`secretName must lie under ${target.prefix}/sources/ (the pipeline's roles may read only there); drop secretName to use ${secretName}.`);
      }
      const secret = target.kind === 'aws' ? await createSourceSecret(target, secretName, registration.config.auth, values) : 'local';
      const stored = await registry.put(registration.config, { credentials: registration.credentials, origin: 'cli', expectedVersion: existing?.version ?? 0 });
      const credentialsNote =
        secret === 'local'
          ? 'credentials: from the environment / .env as in dev mode (B24_WEBHOOK_URL or B24_OAUTH_*)'
          : secret === 'placeholder'
            ? `credentials: secret ${secretName} created with a placeholder: put the source's JSON into it (docs/deploy.md)`
            : secret === 'exists'
              ? `credentials: secret ${secretName} already exists and was left as it is`
              : `credentials: secret ${secretName} created from ${values['secret-file'] ?? ''}`;
      return { json: { ...sourceView(stored), secret }, text: `registered "${sourceId}" (version ${stored.version}); polled from the next shard run\n${credentialsNote}` };
    }
    case 'enable':
    case 'disable': {
      const sourceId = need();
      try {
        const stored = await registry.setEnabled(sourceId, subcommand === 'enable');
        return { json: sourceView(stored), text: `${subcommand === 'enable' ? 'enabled' : 'disabled'} "${sourceId}" (version ${stored.version})` };
      } catch (error) {
        if (error instanceof SourceRegistryError && error.name === 'SourceNotFoundError') throw new UnknownSourceError(sourceId, await known());
        throw error;
      }
    }
    case 'remove': {
      const sourceId = need();
      const existing = await registry.get(sourceId);
      if (existing === undefined) throw new UnknownSourceError(sourceId, await known());
      await registry.remove(sourceId);
      const note = existing.origin === 'config' ? ' (it is in the CDK config: the next deploy that changes the config registers it again)' : '';
      return { json: { removed: sourceId }, text: `removed "${sourceId}"; its state item, secret and queued events stay${note}` };
    }
  }
}

export async function runSourcesCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (error) {
    io.stderr(`${error instanceof Error ? error.message : String(error)}\n\n${SOURCES_USAGE}`);
    return 2;
  }
  if (values.help === true || positionals.length === 0) {
    (values.help === true ? io.stdout : io.stderr)(SOURCES_USAGE);
    return values.help === true ? 0 : 2;
  }
  const json = values.json === true;
  const fail = (error: Error, code: number): number => {
    if (json) io.stdout(`${JSON.stringify({ error: { name: error.name, message: error.message } })}\n`);
    io.stderr(`${error.name}: ${error.message}\n`);
    return code;
  };
  const subcommand = positionals[0] as Subcommand;
  if (!SUBCOMMANDS.includes(subcommand) || positionals.length > 2) {
    return fail(new CliUsageError(`Unknown command "sources ${positionals.join(' ')}". Commands: ${SUBCOMMANDS.join(', ')}. See \`sources --help\`.`), 2);
  }
  let target: PipelineTarget | undefined;
  try {
    target = await resolveTarget(targetOptionsOf(values), { cwd: io.cwd, env: io.env });
    const output = await run(subcommand, positionals[1], values, target);
    io.stdout(json ? `${JSON.stringify(output.json, null, 2)}\n` : `${output.text}\n`);
    return 0;
  } catch (error) {
    if (error instanceof CliError) return fail(error, error.exitCode);
    // Invalid source: exit 2 like a usage error, the message names every bad field.
    if (error instanceof SourceRegistryError) return fail(error, error.name === 'InvalidSourceError' ? 2 : 1);
    return fail(new CliError(`sources ${subcommand} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error'}`), 1);
  } finally {
    target?.close();
  }
}
