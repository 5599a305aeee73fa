// Ctrl-C as a terminal delivers it: SIGINT to every process of the foreground
// group (npm, node and — before the fix — DynamoDB Local's java), under load.
// Nothing the portal confirmed (deleted) may go unhandled, the summary must be
// printed, the exit code is the documented one and no process is left over.
// Also: kill -TERM / -INT to npm alone, and kill -9 of the whole group then a
// restart of dev mode on the same workspace (persisted queues, records and the
// completion journal): no handler that completed runs again.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { type NpmRun, killLeftovers, runNpmScript, waitForNoLeftovers } from './process-group.js';

let sim: PortalSimulator;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false });
});
afterAll(async () => {
  await sim.stop();
});
afterEach(async () => {
  sim.activity.stop();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Consumer invocations that can be mid-handler at once (3 per route, 6 routes: 5 user event types + catch-all): the most handlers a kill can interrupt. */
const IN_FLIGHT_BOUND = 18;
const SLOW_HANDLERS = join(import.meta.dirname, 'fixtures/slow-handlers.ts');

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    NO_COLOR: '1',
    ...extra,
  };
}

async function workspace(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'b24-signals-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function track(run: NpmRun, marker: string): NpmRun {
  cleanups.push(() => killLeftovers(run.pid, marker));
  return run;
}

async function handledIds(outPath: string): Promise<number[]> {
  try {
    return (await readFile(outPath, 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as { event: { eventId: number } }).event.eventId);
  } catch {
    return [];
  }
}

async function waitForHandled(run: NpmRun, outPath: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await handledIds(outPath)).length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} events handled in time.\nstdout:\n${run.output()}\nstderr:\n${run.errors()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Events the simulator recorded for the user and no longer holds: confirmed (deleted) at the portal. */
function confirmedAtPortal(userId: number): number[] {
  const pending = new Set(sim.pendingEvents({ userId }).map((e) => e.eventId));
  return sim
    .emittedEvents({ userId })
    .map((e) => e.eventId)
    .filter((id) => !pending.has(id));
}

function devUser(): { userId: number; webhookUrl: string } {
  const user = sim.addUser({ name: 'Terminal user' });
  sim.subscribe(user.id);
  return { userId: user.id, webhookUrl: sim.createWebhook(user.id) };
}

function startDev(dir: string, webhookUrl: string, outPath: string, extraEnv: Record<string, string> = {}): NpmRun {
  return track(
    runNpmScript('dev', ['--handlers', SLOW_HANDLERS, '--out', outPath, '--no-tty'], {
      cwd: dir,
      env: baseEnv({ B24_WEBHOOK_URL: webhookUrl, B24_SOURCE_ID: 'terminal', B24_IDLE_SECONDS: '1', ...extraEnv }),
    }),
    dir,
  );
}

describe('Ctrl-C to the process group', () => {
  it('npm run dev under load: every event confirmed at the portal is handled, the summary is printed, exit 0, nothing left over', { timeout: 330_000 }, async () => {
    const dir = await workspace();
    const { userId, webhookUrl } = devUser();
    const outPath = join(dir, 'events.jsonl');
    const run = startDev(dir, webhookUrl, outPath);
    sim.activity.start({ userId }, 25);
    await waitForHandled(run, outPath, 40, 150_000);

    run.signalGroup('SIGINT');
    const exit = await run.exited;
    sim.activity.stop();

    const handled = new Set(await handledIds(outPath));
    const confirmed = confirmedAtPortal(userId);
    const unhandled = confirmed.filter((id) => !handled.has(id));
    console.info(`dev Ctrl-C: confirmed at the portal ${confirmed.length}, handled ${handled.size}, unhandled ${unhandled.length}, exit ${JSON.stringify(exit)}`);
    expect({ confirmed: confirmed.length, unhandled: unhandled.length }).toEqual({ confirmed: confirmed.length, unhandled: 0 });
    expect(run.output()).toMatch(/Stopped: \d+ polled, \d+ published, \d+ handled/);
    expect(run.output()).not.toContain('IdempotencyPersistenceLayerError');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await waitForNoLeftovers(run.pid, dir, 10_000)).toEqual([]);
  });

  it('npm run demo -- --follow under load: drains, prints the summary, exit 0, no SQLite warning, nothing left over', { timeout: 330_000 }, async () => {
    const dir = await workspace();
    const run = track(runNpmScript('demo', ['--follow', '--no-tty', '--rate', '40', '--rate-limit', 'off'], { cwd: dir, env: baseEnv({}) }), dir);
    await run.waitForOutput((out) => Number([...out.matchAll(/consumed (\d+)/g)].at(-1)?.[1] ?? 0) >= 60, 120_000, 'the demo consumed 60 events');

    run.signalGroup('SIGINT');
    const exit = await run.exited;

    expect(run.output()).toContain('── summary');
    expect(run.output()).toContain('none lost');
    expect(run.errors()).not.toContain('ExperimentalWarning');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await waitForNoLeftovers(run.pid, dir, 10_000)).toEqual([]);
  });
});

describe('signals to npm alone', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`kill -${signal.slice(3)} <npm pid> stops the whole tree cleanly`, { timeout: 330_000 }, async () => {
      const dir = await workspace();
      const { userId, webhookUrl } = devUser();
      const outPath = join(dir, 'events.jsonl');
      const run = startDev(dir, webhookUrl, outPath);
      sim.activity.start({ userId }, 20);
      await waitForHandled(run, outPath, 20, 120_000);

      process.kill(run.pid, signal);
      const exit = await Promise.race([run.exited, new Promise<'ignored'>((r) => setTimeout(() => r('ignored'), 150_000))]);
      sim.activity.stop();

      expect(exit).toEqual({ code: 0, signal: null });
      expect(run.output()).toMatch(/Stopped: \d+ polled/);
      expect(await waitForNoLeftovers(run.pid, dir, 10_000)).toEqual([]);
    });
  }
});

/** `<eventId> <ms epoch>` lines the slow handler appends each time it starts (B24_TEST_RUNS_FILE). */
async function handlerRuns(runsPath: string): Promise<Array<{ eventId: number; startedAt: number }>> {
  const text = await readFile(runsPath, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [eventId, startedAt] = line.split(' ').map(Number);
      return { eventId: eventId ?? Number.NaN, startedAt: startedAt ?? Number.NaN };
    });
}

/** Dev mode's completion journal in the workspace: event key → every completion it recorded (ms epoch). */
async function journalledCompletions(dir: string): Promise<Map<string, number[]>> {
  const text = await readFile(join(dir, '.b24-pipeline/dev/data/completions.jsonl'), 'utf8').catch(() => '');
  const completions = new Map<string, number[]>();
  for (const line of text.split('\n').filter((l) => l !== '')) {
    const { key, completedAt } = JSON.parse(line) as { key: string; completedAt: string };
    completions.set(key, [...(completions.get(key) ?? []), Date.parse(completedAt)]);
  }
  return completions;
}

describe('dev mode survives kill -9', () => {
  it('kill -9 of the whole group mid-run, then a restart: nothing lost, no completed handler run again, no orphan java', { timeout: 480_000 }, async () => {
    const dir = await workspace();
    const { userId, webhookUrl } = devUser();
    const outPath = join(dir, 'events.jsonl');
    const runsPath = join(dir, 'handler-runs.txt');
    const first = startDev(dir, webhookUrl, outPath, { B24_TEST_RUNS_FILE: runsPath });
    // traffic once the pipeline runs (not while java starts), so the backlog at the kill stays
    // what a busy chat makes rather than what a slow start piles up on a loaded machine
    await first.waitForOutput((out) => out.includes('Polling user source'), 150_000, 'dev mode polling');
    sim.activity.start({ userId }, 25);
    await waitForHandled(first, outPath, 40, 150_000);

    first.signalGroup('SIGKILL');
    sim.activity.stop();
    await first.exited;
    expect(await waitForNoLeftovers(first.pid, dir, 15_000)).toEqual([]);

    // the restart resumes: what was queued in the workspace, then what the portal still holds
    const second = startDev(dir, webhookUrl, outPath, { B24_TEST_RUNS_FILE: runsPath });
    const emitted = sim.emittedEvents({ userId }).length;
    await waitForHandled(second, outPath, emitted, 240_000);
    second.signalGroup('SIGINT');
    expect(await second.exited).toEqual({ code: 0, signal: null });

    // Definitions. A handler *completed* when dev mode's completion record for its event is durable
    // (the journal line, fdatasync'd before the idempotency record and the SQS delete); each --out
    // line is written for one such completion. *Handled twice* = an event id on more than one --out
    // line. A *completed handler run again* = a start of the handler (the fixture writes each start
    // to disk before the handler goes on) later than its event's journalled completion. A *re-run*
    // = an event whose handler started twice because the kill hit it before its completion was
    // journalled: allowed (its Bitrix24 writes would go through the outbox), and bounded by the
    // handlers in flight at the kill.
    const ids = await handledIds(outPath);
    const handled = new Set(ids);
    const confirmed = confirmedAtPortal(userId);
    const unhandled = confirmed.filter((id) => !handled.has(id));
    const twice = ids.length - handled.size;
    const completions = await journalledCompletions(dir);
    const journalledTwice = [...completions.values()].filter((times) => times.length > 1).length;
    const runs = await handlerRuns(runsPath);
    const completedThenRunAgain = runs.filter((run) => run.startedAt > (completions.get(`terminal#${run.eventId}`)?.[0] ?? Number.POSITIVE_INFINITY));
    const startsPerEvent = new Map<number, number>();
    for (const run of runs) startsPerEvent.set(run.eventId, (startsPerEvent.get(run.eventId) ?? 0) + 1);
    const reRuns = [...startsPerEvent.values()].filter((starts) => starts > 1).length;
    // the window the journal closes, hit by this kill: completed, idempotency record not COMPLETED
    const journalHits = second.output().split('\n').filter((line) => line.includes('(journalled); not run again')).length;
    console.info(
      `kill -9 + restart: confirmed ${confirmed.length}, handled ${handled.size}, unhandled ${unhandled.length}, handled twice ${twice}, ` +
        `journalled twice ${journalledTwice}, completed then run again ${completedThenRunAgain.length}, re-runs of never-completed handlers ${reRuns}, ` +
        `skipped as journalled ${journalHits}`,
    );
    expect(unhandled).toEqual([]);
    expect(twice).toBe(0);
    expect(journalledTwice).toBe(0);
    expect(completedThenRunAgain).toEqual([]);
    expect(confirmed.filter((id) => !completions.has(`terminal#${id}`))).toEqual([]);
    expect(reRuns).toBeLessThanOrEqual(IN_FLIGHT_BOUND);
    expect(await waitForNoLeftovers(second.pid, dir, 10_000)).toEqual([]);
  });
});
