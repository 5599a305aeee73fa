// The retry policy over real HTTP, with an injected clock, sleep and random so
// the waits are exact and the suite instant: the backoff sequence, the
// caller's deadline bounding it, OPERATION_TIME_LIMIT pauses, and no retry for
// errors a retry cannot fix.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Bitrix24Client,
  type Bitrix24ClientOptions,
  createBitrix24Client,
  NetworkError,
  NoAuthFoundError,
  OperationTimeLimitError,
  QueryLimitExceededError,
} from '../../../functions/bitrix24/index.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { Capture, fakeTime, type FakeTime } from './harness.js';

const GET = 'im.v2.Event.get';
const capture = new Capture();
let sim: PortalSimulator;
let webhookUrl: string;
// One clock for the client and the portal (operating_reset_at, token expiry); each test starts an hour later.
let time: FakeTime = fakeTime();
const clients: Bitrix24Client[] = [];

function client(extra: Partial<Bitrix24ClientOptions> = {}): Bitrix24Client {
  const created = createBitrix24Client({
    credentials: { kind: 'webhook', webhookUrl },
    logger: capture.logger,
    now: time.now,
    sleep: time.sleep,
    random: () => 0.999,
    retry: { baseDelayMs: 1000, maxDelayMs: 8000, maxAttempts: 10 },
    ...extra,
  });
  clients.push(created);
  return created;
}

const callsOf = (method: string) => sim.calls.filter((call) => call.method === method);

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false, now: () => time.now() });
  const userId = sim.addUser().id;
  webhookUrl = sim.createWebhook(userId);
  capture.secret(webhookUrl, new URL(webhookUrl).pathname.split('/')[3]);
  sim.subscribe(userId);
});

afterAll(async () => {
  await sim.stop();
  capture.assertNoSecrets(5);
});

beforeEach(() => {
  time = fakeTime(time.now() + 3_600_000);
  sim.faults.clear();
  sim.clearCalls();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('backoff', () => {
  it('waits with exponential full-jitter backoff, capped, and succeeds', async () => {
    sim.faults.inject({ method: GET, kind: 'error', status: 503, code: 'QUERY_LIMIT_EXCEEDED', times: 5 });
    await client().getEvents({});
    // random 0.999 × min(8000, 1000 × 2^(n−1))
    expect(time.waits).toEqual([999, 1998, 3996, 7992, 7992]);
    expect(callsOf(GET)).toHaveLength(6);
    expect(capture.lines.filter((line) => line.includes('retrying'))).toHaveLength(5);
  });

  it('jitter comes from the injected random', async () => {
    const values = [0.1, 0.9, 0.5];
    sim.faults.inject({ method: GET, kind: 'error', status: 500, code: 'INTERNAL_SERVER_ERROR', times: 3 });
    await client({ random: () => values.shift() ?? 0 }).getEvents({});
    expect(time.waits).toEqual([100, 1800, 2000]);
  });

  it('stops when the next wait would pass the deadline and throws the last error at once', async () => {
    sim.faults.inject({ method: GET, kind: 'error', status: 503, code: 'QUERY_LIMIT_EXCEEDED', times: 20 });
    const start = time.now();
    const error = await capture.rejection(client().getEvents({}, { deadline: start + 5000 }));
    expect(error).toBeInstanceOf(QueryLimitExceededError);
    // 999 + 1998 = 2997 fits; + 3996 would end at 6993 > 5000.
    expect(time.waits).toEqual([999, 1998]);
    expect(callsOf(GET)).toHaveLength(3);
    expect(time.now()).toBeLessThanOrEqual(start + 5000);
  });

  it('a deadline already too close for any wait means exactly one attempt', async () => {
    sim.faults.inject({ method: GET, kind: 'reset', times: 3 });
    const error = await capture.rejection(client().getEvents({}, { deadline: time.now() + 500 }));
    expect(error).toBeInstanceOf(NetworkError);
    expect(time.waits).toEqual([]);
    expect(callsOf(GET)).toHaveLength(1);
  });

  it('maxAttempts bounds the retries without a deadline', async () => {
    sim.faults.inject({ method: GET, kind: 'error', status: 503, code: 'QUERY_LIMIT_EXCEEDED', times: 20 });
    const error = await capture.rejection(client().getEvents({}, { maxAttempts: 3 }));
    expect(error).toBeInstanceOf(QueryLimitExceededError);
    expect(callsOf(GET)).toHaveLength(3);
    expect(time.waits).toHaveLength(2);
  });

  it('auth errors are never retried', async () => {
    sim.faults.inject({ method: GET, kind: 'error', status: 401, code: 'NO_AUTH_FOUND', times: 5 });
    const error = await capture.rejection(client().getEvents({}));
    expect(error).toBeInstanceOf(NoAuthFoundError);
    expect(callsOf(GET)).toHaveLength(1);
    expect(time.waits).toEqual([]);
  });

  it('network resets and non-JSON 5xx are retried', async () => {
    sim.faults.inject({ method: GET, kind: 'reset', times: 1 });
    sim.faults.inject({ method: GET, kind: 'html', times: 1 });
    await client().getEvents({});
    expect(time.waits).toHaveLength(callsOf(GET).length - 1);
    expect(callsOf(GET).length).toBeGreaterThanOrEqual(2);
  });
});

describe('OPERATION_TIME_LIMIT', () => {
  it('pauses the method until the reset time, then retries', async () => {
    sim.faults.inject({ method: GET, kind: 'operation-time-limit', resetInSeconds: 40 });
    const c = client();
    await c.getEvents({}, { deadline: time.now() + 120_000 });
    expect(callsOf(GET)).toHaveLength(2);
    expect(time.waits).toHaveLength(1);
    // The pause ends at the reset time the portal named (± its 1 s resolution), not at a backoff step.
    expect(time.waits[0]).toBeGreaterThan(38_000);
    expect(time.waits[0]).toBeLessThanOrEqual(60_000);
  });

  it('throws at once when the reset is past the deadline, and keeps the method paused without calling it', async () => {
    sim.faults.inject({ method: GET, kind: 'operation-time-limit', resetInSeconds: 300 });
    const c = client();
    const first = await capture.rejection(c.getEvents({}, { deadline: time.now() + 30_000 }));
    expect(first).toBeInstanceOf(OperationTimeLimitError);
    expect(callsOf(GET)).toHaveLength(1);
    const second = await capture.rejection(c.getEvents({}, { deadline: time.now() + 30_000 }));
    expect(second).toBeInstanceOf(OperationTimeLimitError);
    expect(callsOf(GET)).toHaveLength(1);
    expect(time.waits).toEqual([]);
    // Other methods are not paused.
    await c.subscribe();
    // With room before the deadline the paused method waits out the pause and is called again.
    await c.getEvents({}, { deadline: time.now() + 600_000 });
    expect(callsOf(GET)).toHaveLength(2);
    expect(time.waits).toHaveLength(1);
  });
});

describe("the portal's real leaky bucket", () => {
  it('QUERY_LIMIT_EXCEEDED from a full bucket is backed off until the bucket drains', async () => {
    const limited = await startPortalSimulator({ rateLimit: { drainPerSecond: 2, maxQueued: 3 }, now: () => time.now() });
    try {
      const userId = limited.addUser().id;
      const url = limited.createWebhook(userId);
      capture.secret(url, new URL(url).pathname.split('/')[3]);
      const c = client({ credentials: { kind: 'webhook', webhookUrl: url } });
      // The clock stands still between these calls: the bucket fills up.
      for (let i = 0; i < 6; i += 1) await c.getEvents({ limit: 1 });
      const answers = limited.calls.map((call) => call.errorCode ?? 'ok');
      expect(answers.filter((a) => a === 'ok')).toHaveLength(6);
      expect(answers).toContain('QUERY_LIMIT_EXCEEDED');
      // Every rejection was followed by a backoff wait that let the bucket drain.
      expect(time.waits).toHaveLength(answers.filter((a) => a === 'QUERY_LIMIT_EXCEEDED').length);
    } finally {
      await limited.stop();
    }
  });
});

