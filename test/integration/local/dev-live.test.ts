// Dev mode tells a fatal portal error from a transient one and shows what
// happens as it happens: a wrong webhook code ends the run within seconds
// with the fix named; a portal answering HTML pages is shown live while the
// run keeps retrying; handler log lines and replies appear while running.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDev } from '../../../functions/local/dev.js';
import { PortalFatalError } from '../../../functions/local/errors.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { rigEndpoints, uniqueName } from '../../setup/rig.js';

let sim: PortalSimulator;
let workDir: string;

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false });
  workDir = await mkdtemp(join(tmpdir(), 'b24-dev-live-'));
});
afterAll(async () => {
  await sim.stop();
  await rm(workDir, { recursive: true, force: true });
});

function startRun(env: Record<string, string>, extra: { handlersPath?: string; outPath?: string } = {}) {
  const controller = new AbortController();
  let output = '';
  const run = runDev({
    env,
    cwd: workDir,
    signal: controller.signal,
    endpoints: rigEndpoints(),
    prefix: uniqueName('devlive'),
    idleSeconds: { min: 1, max: 1 },
    drainTimeoutMs: 20_000,
    write: (text) => {
      output += text;
    },
    ...extra,
  });
  // never hang on a run that would not stop by itself (the old behaviour): stop it after 40 s
  const guard = setTimeout(() => controller.abort(), 40_000);
  void run.finally(() => clearTimeout(guard)).catch(() => undefined);
  return { run, controller, output: () => output };
}

async function waitFor(test: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

describe('dev mode: fatal vs transient portal errors', () => {
  it('a wrong webhook code ends dev mode within seconds with a typed error naming the fix, and never shows the code', { timeout: 60_000 }, async () => {
    const user = sim.addUser({ name: 'Wrong code' });
    sim.subscribe(user.id);
    const good = sim.createWebhook(user.id);
    const wrongCode = 'wrongcode1234567';
    const wrong = good.replace(/\/rest\/(\d+)\/[^/]+\//, `/rest/$1/${wrongCode}/`);
    const startedAt = Date.now();
    const { run, output } = startRun({ B24_WEBHOOK_URL: wrong, B24_SOURCE_ID: 'wrong-code' });

    const error = await run.then(
      () => undefined,
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(PortalFatalError);
    expect((error as PortalFatalError).code).toBe('NO_AUTH_FOUND');
    expect((error as Error).message).toContain('B24_WEBHOOK_URL');
    expect(Date.now() - startedAt).toBeLessThan(30_000);
    expect(`${output()}${(error as Error).message}`).not.toContain(wrongCode);
  });

  it('a portal answering HTML pages is shown live within seconds while the run keeps retrying', { timeout: 60_000 }, async () => {
    const user = sim.addUser({ name: 'Behind a proxy' });
    sim.subscribe(user.id);
    sim.faults.inject({ method: 'im.v2.Event.get', kind: 'html', times: 10_000 });
    try {
      const { run, controller, output } = startRun({ B24_WEBHOOK_URL: sim.createWebhook(user.id), B24_SOURCE_ID: 'html' });

      const shown = await waitFor(() => /transient.*HTML error page/.test(output()), 15_000);
      const stillRunning = await Promise.race([run.then(() => false, () => false), new Promise<boolean>((r) => setTimeout(() => r(true), 100))]);
      controller.abort();
      await run;

      expect(shown).toBe(true);
      expect(stillRunning).toBe(true);
      expect(output()).toMatch(/\[portal\] +HTTP_502 \(transient; dev mode keeps retrying\): im\.v2\.Event\.get failed with HTTP_502 .*HTML error page/);
    } finally {
      sim.faults.clear();
    }
  });
});

describe('dev mode: live view', () => {
  it('shows handler log lines and replies while it runs', { timeout: 60_000 }, async () => {
    const user = sim.addUser({ name: 'Live' });
    sim.subscribe(user.id);
    const outPath = join(workDir, 'live.jsonl');
    const { run, controller, output } = startRun(
      { B24_WEBHOOK_URL: sim.createWebhook(user.id), B24_SOURCE_ID: 'live' },
      { handlersPath: join(import.meta.dirname, 'fixtures/logging-echo-handlers.ts'), outPath },
    );
    const emitted = sim.activity.generate({ userId: user.id }, 12);
    const add = emitted.find((e) => e.type === 'ONIMV2MESSAGEADD');

    const shown = await waitFor(() => add !== undefined && output().includes(`echo ${add.eventId}`) && output().includes(`logged ${add.eventId}`), 30_000);
    const before = output();
    controller.abort();
    expect(await run).toBe(0);

    expect(add).toBeDefined();
    expect(shown).toBe(true);
    expect(before).toMatch(new RegExp(`\\[handler\\] +#${add?.eventId} ONIMV2MESSAGEADD: logged ${add?.eventId}`));
    expect(before).toMatch(new RegExp(`\\[reply\\] +im\\.message\\.add → \\S+: "echo ${add?.eventId}"`));
    // --out holds, next to the handled events, what the handlers sent: replies with their text, typing, read marks.
    const lines = (await readFile(outPath, 'utf8')).split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
    const dialogId = add?.type === 'ONIMV2MESSAGEADD' ? String((add.data as { chat: { dialogId: string } }).chat.dialogId) : undefined;
    const actions = lines.filter((line) => line.action !== undefined && line.dialogId === dialogId);
    expect(actions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'typing', method: 'im.dialog.writing', sourceId: 'live' }),
        expect.objectContaining({ action: 'read', method: 'im.dialog.read', sourceId: 'live' }),
        expect.objectContaining({ action: 'reply', method: 'im.message.add', text: `echo ${add?.eventId}`, sourceId: 'live' }),
      ]),
    );
    expect(lines.some((line) => (line.event as { eventId?: number } | undefined)?.eventId === add?.eventId)).toBe(true);
  });
});
