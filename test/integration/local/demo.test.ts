// The demo end to end on the real rig: simulator traffic → real poller →
// fauxqs FIFO queues → real consumers with idempotency on DynamoDB Local.
// Nothing may be lost: every event the simulator recorded is consumed.
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../../functions/local/demo.js';
import { rigEndpoints, uniqueName } from '../../setup/rig.js';

describe('runDemo', () => {
  it('consumes every generated event, including emoji-laden messages, and exits 0', { timeout: 60_000 }, async () => {
    let output = '';

    const result = await runDemo({
      durationSeconds: 4,
      eventsPerSecond: 25,
      rateLimit: false,
      endpoints: rigEndpoints(),
      prefix: uniqueName('demo'),
      drainTimeoutSeconds: 40,
      write: (text) => {
        output += text;
      },
    });

    expect(result.summary.generated).toBeGreaterThan(40);
    expect(result.summary.consumed).toBe(result.summary.generated);
    expect(result.summary.lost).toBe(0);
    expect(result.summary.handledTwice).toBe(0);
    expect(result.summary.deadLettered).toBe(0);
    expect(result.exitCode).toBe(0);
    expect(output).toContain('none lost');
    expect(output).toMatch(/polled \d+ · published \d+ · consumed \d+/);
  });

  it('--bot: simulated users write, the bot answers each message once as the bot, nothing lost', { timeout: 90_000 }, async () => {
    let output = '';
    const result = await runDemo({
      durationSeconds: 4,
      eventsPerSecond: 25,
      userSources: 0,
      bot: true,
      rateLimit: false,
      endpoints: rigEndpoints(),
      prefix: uniqueName('demobot'),
      drainTimeoutSeconds: 40,
      write: (text) => {
        output += text;
      },
    });

    expect(result.summary.lost).toBe(0);
    expect(result.summary.handledTwice).toBe(0);
    expect(result.exitCode).toBe(0);
    const conversation = /Bot conversation: (\d+) replies as the bot \(imbot\.v2\.Chat\.Message\.send\), (\d+) posted twice/.exec(output);
    expect(conversation).not.toBeNull();
    expect(Number(conversation?.[1])).toBeGreaterThan(0);
    expect(Number(conversation?.[2])).toBe(0);
    expect(output).toMatch(/bot → \S+: Echo #\d+/);
  });
});
