// Crashes injected at every step boundary of the delivery protocol, over many
// pages and many runs: afterwards every simulator event is in its queue at
// least once, and no offset was ever sent to the portal before the events
// below it were acknowledged by SQS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollSource, type PollerDependencies } from '../../../functions/poller/index.js';
import { drainQueues, offsetViolations, startRig, type Rig } from './harness.js';

type Boundary = 'after-fetch' | 'mid-publish' | 'after-publish' | 'after-commit';
const BOUNDARIES: readonly Boundary[] = ['after-fetch', 'mid-publish', 'after-publish', 'after-commit'];

class SimulatedCrash extends Error {
  constructor(where: string) {
    super(`simulated crash ${where}`);
    this.name = 'SimulatedCrash';
  }
}

/**
 * Wraps the ports of one run so that the process "dies" at the n-th time it
 * reaches `boundary`: that call (or the one after the step) throws, and so
 * does every later port call, lease release included — like a Lambda killed
 * mid-flight.
 */
function crashAt(deps: PollerDependencies, boundary: Boundary, nth: number): { deps: PollerDependencies; crashed: () => boolean } {
  let dead = false;
  let seen = 0;
  const alive = () => {
    if (dead) throw new SimulatedCrash('(process already dead)');
  };
  const reached = (at: Boundary): boolean => {
    if (at !== boundary) return false;
    seen += 1;
    if (seen < nth) return false;
    dead = true;
    return true;
  };
  return {
    crashed: () => dead,
    deps: {
      ...deps,
      events: {
        portal: deps.events.portal,
        subscribe: async (o) => {
          alive();
          await deps.events.subscribe(o);
        },
        fetch: async (offset, o) => {
          alive();
          const page = await deps.events.fetch(offset, o);
          if (reached('after-fetch')) throw new SimulatedCrash('after fetch');
          return page;
        },
      },
      sink: {
        publish: async (input) => {
          alive();
          if (input.events.length > 1 && boundary === 'mid-publish' && reached('mid-publish')) {
            await deps.sink.publish({ ...input, events: input.events.slice(0, Math.ceil(input.events.length / 2)) });
            throw new SimulatedCrash('mid publish');
          }
          const result = await deps.sink.publish(input);
          if (reached('after-publish')) throw new SimulatedCrash('after publish, before commit');
          return result;
        },
      },
      state: {
        acquire: async (i) => {
          alive();
          return await deps.state.acquire(i);
        },
        renew: async (l, i) => {
          alive();
          return await deps.state.renew(l, i);
        },
        markSubscribed: async (l, i) => {
          alive();
          await deps.state.markSubscribed(l, i);
        },
        release: async (l, i) => {
          alive();
          await deps.state.release(l, i);
        },
        commit: async (l, i) => {
          alive();
          const lease = await deps.state.commit(l, i);
          if (reached('after-commit')) throw new SimulatedCrash('after commit');
          return lease;
        },
      },
    },
  };
}

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(async () => {
  await rig.stop();
});

describe('crash recovery', () => {
  // ~80 runs, each a cold start (new client: it subscribes, as a fresh container does): ~25 s alone, more on a shared machine.
  it('loses nothing and never sends an offset early, with a crash at every boundary over many pages', { timeout: 120_000 }, async () => {
    const reader = rig.reader();
    const source = rig.source({ pageLimit: 7 });
    const tuning = { leaseMs: 30_000 };
    rig.sim.subscribe(reader.userId);
    rig.sim.activity.generate({ userId: reader.userId }, 90);

    const crashesAt: string[] = [];
    const afterCrash: string[] = [];
    const cleanRuns: string[] = [];
    let finished = false;
    for (let run = 0; run < 60 && !finished; run += 1) {
      if (run === 20) rig.sim.activity.generate({ userId: reader.userId }, 40); // more traffic arrives between crashes
      const boundary = BOUNDARIES[run % BOUNDARIES.length] ?? 'after-fetch';
      const nth = 1 + (run % 3);
      const crashing = crashAt(rig.deps(source, reader, tuning), boundary, nth);
      const report = await pollSource(crashing.deps, source, { deadline: rig.time.now() + 300_000, mode: 'per-schedule', ownerId: `run-${run}` });
      if (crashing.crashed()) {
        crashesAt.push(boundary);
        // the dead run never released its lease: the next run must wait for it to expire
        const blocked = await pollSource(rig.deps(source, reader, tuning), source, { deadline: rig.time.now() + 60_000, mode: 'per-schedule', ownerId: `blocked-${run}` });
        afterCrash.push(blocked.stoppedBecause);
        rig.time.advance(tuning.leaseMs + 1);
      } else {
        cleanRuns.push(report.stoppedBecause);
        finished = run > 20;
      }
    }

    expect(finished).toBe(true);
    expect(new Set(afterCrash)).toEqual(new Set(['lease-busy']));
    expect(new Set(cleanRuns)).toEqual(new Set(['drained']));
    expect(new Set(crashesAt)).toEqual(new Set(BOUNDARIES));
    expect(crashesAt.length).toBeGreaterThanOrEqual(12);
    const emitted = rig.sim.emittedEvents({ userId: reader.userId }).map((e) => e.eventId);
    expect(emitted.length).toBe(130);
    const queued = new Set((await drainQueues(rig)).filter((m) => m.body.sourceId === source.id).map((m) => m.eventId));
    expect(emitted.filter((id) => !queued.has(id))).toEqual([]);
    expect(offsetViolations(rig, reader.userId)).toEqual([]);
  });

  it('the checks catch a broken poller (control): a sink that acknowledges without publishing', async () => {
    const reader = rig.reader();
    const source = rig.source({ pageLimit: 5 });
    rig.sim.subscribe(reader.userId);
    rig.sim.activity.generate({ userId: reader.userId }, 12);
    const deps = rig.deps(source, reader);
    const lying: PollerDependencies = { ...deps, sink: { publish: () => Promise.resolve({ byRoute: {}, oversize: 0 }) } };

    await pollSource(lying, source, { deadline: rig.time.now() + 300_000, mode: 'per-schedule' });

    expect(offsetViolations(rig, reader.userId).length).toBeGreaterThan(0);
  });
});
