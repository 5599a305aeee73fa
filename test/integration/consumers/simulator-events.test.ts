// Every event the portal simulator generates (payloads per the facts file)
// passes the consumer's typed-event validation: the schemas are not stricter
// than what Bitrix24 sends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateKnownEvent } from '../../../functions/consumers/events.js';
import { startPortalSimulator } from '../../../functions/simulator/index.js';

type Simulator = Awaited<ReturnType<typeof startPortalSimulator>>;
let simulator: Simulator;

beforeAll(async () => {
  simulator = await startPortalSimulator({ rateLimit: false });
});

afterAll(async () => {
  await simulator.stop();
});

describe('typed events against the simulator', () => {
  it('accepts every generated user and bot event', () => {
    const owner = simulator.addUser({ name: 'Owner' });
    simulator.subscribe(owner.id);
    const { botId } = simulator.registerBot(owner.id);

    const events = [...simulator.activity.generate({ userId: owner.id }, 300), ...simulator.activity.generate({ botId }, 300)];
    const failures = events.flatMap((event) => {
      const result = validateKnownEvent(event);
      return result === undefined || result.ok ? [] : [`${event.type}: ${result.issues.join('; ')}`];
    });

    expect(new Set(events.map((event) => event.type)).size).toBeGreaterThanOrEqual(8);
    expect(failures).toEqual([]);
  });
});
