// Dev mode against the portal simulator posing as a real portal: credentials
// from the environment, the user's own handlers module, a JSON-lines log of
// every handled event, and a clean stop (offset committed, lease released).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSourceState } from '../../../functions/cli/source-state.js';
import { loadHandlersModule, runDev } from '../../../functions/local/dev.js';
import { HandlersModuleError, MissingPortalCredentialsError } from '../../../functions/local/errors.js';
import { stateTableName } from '../../../functions/shared/topology.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { rigClients, rigEndpoints, uniqueName } from '../../setup/rig.js';

let sim: PortalSimulator;
let workDir: string;
const { dynamoDb } = rigClients();

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false });
  workDir = await mkdtemp(join(tmpdir(), 'b24-dev-'));
});

afterAll(async () => {
  await sim.stop();
  await rm(workDir, { recursive: true, force: true });
  dynamoDb.destroy();
});

async function readLines(path: string): Promise<Array<{ event: { eventId: number; type: string }; handler: string }>> {
  try {
    return (await readFile(path, 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { event?: { eventId: number; type: string }; handler: string })
      .filter((line): line is { event: { eventId: number; type: string }; handler: string } => line.event !== undefined); // handled lines, not the replies' action lines
  } catch {
    return [];
  }
}

describe('runDev', () => {
  it('runs the user handlers on every event, logs them as JSON lines and stops cleanly', { timeout: 60_000 }, async () => {
    const user = sim.addUser({ name: 'Developer' });
    const webhookUrl = sim.createWebhook(user.id);
    sim.subscribe(user.id);
    const emitted = sim.activity.generate({ userId: user.id }, 15);
    const outPath = join(workDir, 'events.jsonl');
    const prefix = uniqueName('dev');
    const controller = new AbortController();
    let output = '';

    const run = runDev({
      env: { B24_WEBHOOK_URL: webhookUrl, B24_SOURCE_ID: 'my-bot' },
      cwd: workDir,
      signal: controller.signal,
      endpoints: rigEndpoints(),
      prefix,
      handlersPath: join(import.meta.dirname, 'fixtures/echo-handlers.ts'),
      outPath,
      idleSeconds: { min: 1, max: 1 },
      write: (text) => {
        output += text;
      },
    });
    // Each echo is a real message: it comes back as one more ONIMV2MESSAGEADD (not answered again).
    const echoCount = emitted.filter((e) => e.type === 'ONIMV2MESSAGEADD').length;
    const deadline = Date.now() + 45_000;
    while ((await readLines(outPath)).length < emitted.length + echoCount && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    controller.abort();
    const code = await run;

    expect(code).toBe(0);
    const lines = await readLines(outPath);
    const emittedIds = new Set(emitted.map((e) => e.eventId));
    expect(lines.map((l) => l.event.eventId).filter((id) => emittedIds.has(id)).sort((a, b) => a - b)).toEqual(emitted.map((e) => e.eventId));
    const adds = emitted.filter((e) => e.type === 'ONIMV2MESSAGEADD').map((e) => `echo ${e.eventId}`);
    expect(sim.sentMessages.map((m) => m.text).sort()).toEqual(adds.sort());
    const echoes = lines.filter((l) => !emittedIds.has(l.event.eventId));
    expect(echoes.map((l) => (l.event as { data?: { message?: { text?: string } } }).data?.message?.text).sort()).toEqual(adds.sort());
    const state = await readSourceState(dynamoDb, stateTableName(prefix), 'my-bot', Date.now());
    expect(state.lease).toBeUndefined();
    expect(state.committedOffset).toBe(Math.max(...lines.map((l) => l.event.eventId)) + 1);
    expect(output).toContain('offset committed, lease released');
    const code64 = new URL(webhookUrl).pathname.split('/')[3] ?? 'missing';
    expect(output).not.toContain(code64);
  });

  it('says which variables to set when there are no credentials', async () => {
    const run = runDev({ env: {}, cwd: workDir, signal: new AbortController().signal, endpoints: rigEndpoints() });

    await expect(run).rejects.toThrow(MissingPortalCredentialsError);
    await expect(run).rejects.toThrow(/B24_WEBHOOK_URL/);
  });

  it('rejects a handlers module with unknown keys', async () => {
    await expect(loadHandlersModule(join(import.meta.dirname, 'fixtures/bad-handlers.ts'), workDir)).rejects.toThrow(HandlersModuleError);
  });
});
