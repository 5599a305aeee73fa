// Pure parts of Ctrl-C handling, the workspace lock, the live log and the
// final line (no emulators needed).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireDevLock } from '../../../functions/local/dev-lock.js';
import { finalLine, idleSecondsFromEnv } from '../../../functions/local/dev.js';
import { DevWorkspaceLockedError, LocalUsageError } from '../../../functions/local/errors.js';
import { LiveLog } from '../../../functions/local/live-log.js';
import { classifySignal, takeOverSignals } from '../../../functions/local/signals.js';

describe('one Ctrl-C delivered to several processes of the group', () => {
  it('the first signal stops, the same one within 1.5 s is a duplicate, a later one quits', () => {
    expect(classifySignal(undefined, 1000)).toBe('stop');
    expect(classifySignal(1000, 1001)).toBe('duplicate');
    expect(classifySignal(1000, 2499)).toBe('duplicate');
    expect(classifySignal(1000, 2500)).toBe('quit');
  });

  it('takeOverSignals: a relayed duplicate does not quit; a second Ctrl-C after the window does', () => {
    let now = 10_000;
    const exits: number[] = [];
    const takeover = takeOverSignals({ now: () => now, exit: (code) => exits.push(code) });
    try {
      process.emit('SIGINT', 'SIGINT');
      now += 5; // npm relays the same SIGINT a moment later
      process.emit('SIGINT', 'SIGINT');
      expect(takeover.signal.aborted).toBe(true);
      expect(exits).toEqual([]);
      now += 2000;
      process.emit('SIGINT', 'SIGINT');
      expect(exits).toEqual([130]);
    } finally {
      takeover.restore();
    }
  });
});

describe('dev workspace lock', () => {
  it('a second run on the same workspace gets a typed error naming the holder; a dead holder is taken over', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'b24-lock-'));
    try {
      const path = join(dir, 'lock');
      await writeFile(path, JSON.stringify({ pid: 424242, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', ownerId: 'dev-old' }));

      await expect(acquireDevLock(path, 'dev-new', () => true)).rejects.toThrow(DevWorkspaceLockedError);
      await expect(acquireDevLock(path, 'dev-new', () => true)).rejects.toThrow(/pid 424242.*kill -TERM 424242/);

      const lock = await acquireDevLock(path, 'dev-new', () => false);
      expect(lock.stale?.ownerId).toBe('dev-old');
      expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid, ownerId: 'dev-new' });
      await expect(acquireDevLock(path, 'dev-third')).rejects.toThrow(DevWorkspaceLockedError);
      await lock.release();
      const again = await acquireDevLock(path, 'dev-third');
      expect(again.stale).toBeUndefined();
      await again.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('live log', () => {
  it('writes each line at once, keeps the last ones, and folds back-to-back repeats into a count', () => {
    const written: string[] = [];
    const live = new LiveLog({ write: (line) => written.push(line), keep: 2, now: () => Date.UTC(2026, 0, 1, 12, 0, 0) });
    live.add('handler', '#1 ONIMV2MESSAGEADD: hello');
    live.add('portal', 'im.v2.Event.get failed: MALFORMED_RESPONSE');
    live.add('portal', 'im.v2.Event.get failed: MALFORMED_RESPONSE');
    live.add('reply', 'im.message.add → chat5: "hi"');

    expect(written[0]).toBe('12:00:00 [handler] #1 ONIMV2MESSAGEADD: hello');
    expect(written).toHaveLength(4);
    expect(written[2]).toContain('(×2)');
    expect(live.recent()).toEqual(['12:00:00 [portal]  im.v2.Event.get failed: MALFORMED_RESPONSE (×2)', '12:00:00 [reply]   im.message.add → chat5: "hi"']);
  });
});

describe('the final line of dev mode', () => {
  const counts = { polled: 10, published: 10, handled: 7 };
  it('claims a committed offset and a released lease only when the queues are empty and the lease is gone', () => {
    const clean = finalLine({ ...counts, report: { drained: true, depths: { visible: 0, inFlight: 0, deadLettered: 0 }, sources: [{ sourceId: 'dev', committedOffset: 11, leaseReleased: true }] } });
    expect(clean).toEqual({ clean: true, text: 'Stopped: 10 polled, 10 published, 7 handled; offset committed, lease released (dev@11); queues empty.' });

    const left = finalLine({ ...counts, persistedIn: '/w/.b24-pipeline/dev', report: { drained: false, depths: { visible: 3, inFlight: 0, deadLettered: 0 }, sources: [{ sourceId: 'dev', leaseReleased: true }] } });
    expect(left.clean).toBe(false);
    expect(left.text).toMatch(/^Stopped before everything was handled: .*3 waiting and 0 in flight\. They stay queued in \/w\/\.b24-pipeline\/dev/);
    expect(left.text).not.toContain('offset committed, lease released');

    const inMemory = finalLine({ ...counts, report: { drained: false, depths: { visible: 3, inFlight: 1, deadLettered: 0 }, sources: [{ sourceId: 'dev', leaseReleased: false }] } });
    expect(inMemory.text).toContain('are NOT handled');
    expect(inMemory.text).toContain('lease was NOT released');
  });
});

describe('B24_IDLE_SECONDS', () => {
  it('reads "5" and "5-30", rejects anything else', () => {
    expect(idleSecondsFromEnv(undefined)).toBeUndefined();
    expect(idleSecondsFromEnv('5')).toEqual({ min: 5, max: 5 });
    expect(idleSecondsFromEnv('5-30')).toEqual({ min: 5, max: 30 });
    expect(() => idleSecondsFromEnv('30-5')).toThrow(LocalUsageError);
    expect(() => idleSecondsFromEnv('soon')).toThrow(LocalUsageError);
  });
});
