// `npm run cli -- sources …` over the local rig (DynamoDB Local + fauxqs,
// explicit endpoints): sources added, listed, shown, disabled, enabled and
// removed at run time, validated like the config, never echoing a secret.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, runCli } from '../../../functions/cli/main.js';
import { provisionLocalPipeline, type ProvisionedPipeline } from '../../../functions/local/provision.js';
import { DynamoDbSourceRegistry } from '../../../functions/registry/dynamodb-source-registry.js';
import { rigClients, uniqueName } from '../../setup/rig.js';

const { endpoints, dynamoDb, sqs, s3 } = rigClients();
let pipeline: ProvisionedPipeline;
let workDir: string;

function io() {
  const out = { stdout: '', stderr: '' };
  const value: CliIo = {
    stdout: (text) => {
      out.stdout += text;
    },
    stderr: (text) => {
      out.stderr += text;
    },
    // A webhook URL in the environment, as dev mode reads it: it must never appear in any output.
    env: { B24_WEBHOOK_URL: 'https://example.bitrix24.com/rest/1/s3cr3tc0de/' },
    cwd: workDir,
  };
  return { io: value, out };
}

const rig = (): string[] => ['--dynamodb-endpoint', endpoints.dynamoDbEndpoint, '--sqs-endpoint', endpoints.sqsEndpoint, '--prefix', pipeline.prefix];

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { io: value, out } = io();
  const code = await runCli(['sources', ...args, ...rig()], value);
  expect(`${out.stdout}${out.stderr}`).not.toContain('s3cr3tc0de');
  return { code, ...out };
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'b24-sources-'));
  pipeline = await provisionLocalPipeline({ prefix: uniqueName('srccli'), dynamoDb, sqs, s3 });
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
  for (const table of [pipeline.stateTableName, pipeline.idempotencyTableName, pipeline.registryTableName]) {
    await dynamoDb.send(new DeleteTableCommand({ TableName: table }));
  }
});

describe('sources (local rig)', () => {
  it('adds from flags and from --json-config, lists them as JSON, shows one', async () => {
    const added = await cli('add', 'helpdesk', '--kind', 'user', '--portal', 'example.bitrix24.com', '--auth', 'webhook', '--mode', 'per-schedule', '--json');
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ id: 'helpdesk', mode: 'per-schedule', origin: 'cli', version: 1, secret: 'local', credentials: { kind: 'secret', secretName: `${pipeline.prefix}/sources/helpdesk` } });
    const bot = await cli('add', '--json-config', JSON.stringify({ id: 'support-bot', kind: 'bot', botId: 42, portal: 'other.bitrix24.com', auth: 'oauth' }));
    expect(bot.code).toBe(0);
    expect(bot.stdout).toContain('registered "support-bot" (version 1)');
    expect(bot.stdout).toContain('credentials: from the environment');

    const listed = await cli('list', '--json');
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: string; enabled: boolean }[]).map((s) => [s.id, s.enabled])).toEqual([
      ['helpdesk', true],
      ['support-bot', true],
    ]);
    const shown = await cli('show', 'support-bot', '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: 'support-bot', kind: 'bot', botId: 42, auth: 'oauth', enabled: true });
    // What the CLI wrote is what the pipeline's registry adapter reads.
    const registry = new DynamoDbSourceRegistry({ client: dynamoDb, tableName: pipeline.registryTableName });
    expect((await registry.get('helpdesk'))?.config.mode).toBe('per-schedule');
  });

  it('a source added at run time is known to status and the per-source commands, with no deploy', async () => {
    await cli('add', 'late-desk', '--kind', 'user', '--portal', 'example.bitrix24.com', '--auth', 'webhook');
    const { io: value, out } = io();
    const code = await runCli(['status', '--json', ...rig()], value);
    expect(code).toBe(0);
    const shown = JSON.parse(out.stdout) as { sources: { sourceId: string }[] };
    expect(shown.sources.map((s) => s.sourceId)).toContain('late-desk');
    const reset = io();
    // Known, so the command gets past "unknown source" to its own rule: exactly one of --to / --clear.
    const resetCode = await runCli(['reset-offset', '--source', 'late-desk', ...rig()], reset.io);
    expect(resetCode).toBe(2);
    expect(reset.out.stderr).toContain('reset-offset needs exactly one of --to');
  });

  it('validates like the config: names every bad field, exit 2, nothing written', async () => {
    const bad = await cli('add', 'bad-bot', '--kind', 'bot', '--portal', 'https://example.bitrix24.com/', '--auth', 'webhook');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/InvalidSourceError/);
    expect(bad.stderr).toMatch(/portal: give the portal host only/);
    expect(bad.stderr).toMatch(/botId: required for kind "bot"/);
    const typo = await cli('add', '--json-config', JSON.stringify({ id: 'typo', kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook', pageLimt: 10 }));
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean "pageLimit"?');
    expect((await cli('show', 'bad-bot')).code).not.toBe(0);
    const outside = await cli('add', '--json-config', JSON.stringify({ id: 'elsewhere', kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook', secretName: 'other/x' }));
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain(`secretName must lie under ${pipeline.prefix}/sources/`);
  });

  it('refuses to overwrite without --replace, replaces with it (version 2)', async () => {
    await cli('add', 'replaced', '--kind', 'user', '--portal', 'example.bitrix24.com', '--auth', 'webhook');
    const again = await cli('add', 'replaced', '--kind', 'user', '--portal', 'other.bitrix24.com', '--auth', 'webhook');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already registered (version 1');
    const replaced = await cli('add', 'replaced', '--kind', 'user', '--portal', 'other.bitrix24.com', '--auth', 'webhook', '--replace', '--json');
    expect(JSON.parse(replaced.stdout)).toMatchObject({ portal: 'other.bitrix24.com', version: 2 });
  });

  it('disables, enables and removes; an unknown id is named with the known ones', async () => {
    await cli('add', 'toggled', '--kind', 'user', '--portal', 'example.bitrix24.com', '--auth', 'webhook');
    const disabled = await cli('disable', 'toggled', '--json');
    expect(JSON.parse(disabled.stdout)).toMatchObject({ id: 'toggled', enabled: false, version: 2 });
    expect((await cli('enable', 'toggled')).stdout).toContain('enabled "toggled" (version 3)');
    const removed = await cli('remove', 'toggled');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain('its state item, secret and queued events stay');
    const gone = await cli('disable', 'toggled');
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('toggled');
    expect(gone.stderr).toContain('helpdesk');
  });

  it('prints usage for sources --help and refuses an unknown subcommand', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('sources <list|show|add|enable|disable|remove>');
    expect((await cli('frobnicate')).code).toBe(2);
  });
});
