// startTyping: imbot.v2.Chat.InputAction.notify kept alive (imbot.v2/ui/chat-input-action-notify.md).
import { describe, expect, it } from 'vitest';
import {
  IMBOT_AGENT_ACTION_COMPOSING,
  IMBOT_AGENT_ACTION_THINKING,
  TYPING_STATUS_CODES,
  type TypingNotice,
  startTyping,
} from '../../../functions/bot/typing-keepalive.js';
import { ManualClock, flushPromises } from './manual-clock.js';

function recordingNotify(clock: ManualClock) {
  const calls: { at: number; notice: TypingNotice }[] = [];
  const notify = (notice: TypingNotice): Promise<unknown> => {
    calls.push({ at: clock.now, notice });
    return Promise.resolve({ result: true });
  };
  return { calls, notify };
}

describe('startTyping', () => {
  it('has the eleven status codes of the docs, THINKING first and COMPOSING last', () => {
    expect(TYPING_STATUS_CODES).toHaveLength(11);
    expect(TYPING_STATUS_CODES[0]).toBe('IMBOT_AGENT_ACTION_THINKING');
    expect(TYPING_STATUS_CODES.at(-1)).toBe('IMBOT_AGENT_ACTION_COMPOSING');
    expect(TYPING_STATUS_CODES).toContain('IMBOT_AGENT_ACTION_READING_DOCS');
  });

  it('notifies at once and again 5 s before each 30 s indicator runs out, until stopped', async () => {
    const clock = new ManualClock();
    const { calls, notify } = recordingNotify(clock);
    const typing = startTyping(notify, { statusCode: IMBOT_AGENT_ACTION_THINKING, clock });
    await flushPromises();
    expect(calls).toEqual([{ at: 0, notice: { duration: 30, statusMessageCode: IMBOT_AGENT_ACTION_THINKING } }]);

    await clock.advance(24_999);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    await clock.advance(50_000);
    expect(calls.map((call) => call.at)).toEqual([0, 25_000, 50_000, 75_000]);

    typing.stop();
    await clock.advance(600_000);
    expect(calls).toHaveLength(4);
    expect(typing.active).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('never leaves a gap: every notify lands before the previous indicator expires', async () => {
    const clock = new ManualClock();
    const { calls, notify } = recordingNotify(clock);
    startTyping(notify, { durationSeconds: 7, resendBeforeSeconds: 2, clock });
    await clock.advance(60_000);
    for (let n = 1; n < calls.length; n += 1) {
      const previous = calls[n - 1];
      const current = calls[n];
      expect((current?.at ?? 0) - (previous?.at ?? 0)).toBeLessThan(7_000);
    }
    expect(calls.every((call) => call.notice.statusMessageCode === undefined && call.notice.duration === 7)).toBe(true);
  });

  it('gives up after maxSeconds so a hung handler does not type forever', async () => {
    const clock = new ManualClock();
    const { calls, notify } = recordingNotify(clock);
    const typing = startTyping(notify, { statusCode: IMBOT_AGENT_ACTION_COMPOSING, maxSeconds: 60, clock });
    await clock.advance(10 * 60_000);
    expect(calls.map((call) => call.at)).toEqual([0, 25_000, 50_000]);
    expect(typing.active).toBe(false);
  });

  it('reports a failed notify to onError, keeps going and never rejects', async () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    let attempts = 0;
    const typing = startTyping(
      () => {
        attempts += 1;
        if (attempts === 1) throw new Error('network down');
        return Promise.reject(new Error('ACCESS_DENIED'));
      },
      { clock, onError: (error) => errors.push(error) },
    );
    await typing.settled();
    await clock.advance(25_000);
    await typing.settled();
    expect(attempts).toBe(2);
    expect(errors.map((error) => (error as Error).message)).toEqual(['network down', 'ACCESS_DENIED']);
    typing.stop();
  });

  it('does not pile a second notify on one still in flight', async () => {
    const clock = new ManualClock();
    let calls = 0;
    let release: () => void = () => undefined;
    const typing = startTyping(
      () => {
        calls += 1;
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      { clock },
    );
    await clock.advance(80_000);
    expect(calls).toBe(1);
    release();
    await typing.settled();
    await clock.advance(25_000);
    expect(calls).toBe(2);
    typing.stop();
  });

  it('refuses a duration outside 1–600 s', () => {
    expect(() => startTyping(() => Promise.resolve(), { durationSeconds: 601 })).toThrow(/1 to 600/);
    expect(() => startTyping(() => Promise.resolve(), { durationSeconds: 0 })).toThrow(/1 to 600/);
  });
});
