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

    const supervisor = simulator.registerBot(owner.id, { code: 'watcher', type: 'supervisor' }).botId;
    const { chatId } = simulator.createChat({ ownerId: owner.id, memberIds: [supervisor] });
    simulator.say({ fromUserId: owner.id, chatId, text: '/help me' });
    simulator.unregisterBot(supervisor);

    const events = [
      ...simulator.activity.generate({ userId: owner.id }, 1000),
      ...simulator.activity.generate({ botId }, 1000),
      ...simulator.emittedEvents({ botId: supervisor }),
    ];
    const failures = events.flatMap((event) => {
      const result = validateKnownEvent(event);
      if (result === undefined) return [];
      if (!result.ok) return [`${event.type}: ${result.issues.join('; ')}`];
      // The generator sends the documented shapes: no descriptive field off either.
      return (result.event.descriptiveMismatches ?? []).map((m) => `${event.type}: ${m.path}: ${m.issue}`);
    });

    expect(new Set(events.map((event) => event.type)).size).toBeGreaterThanOrEqual(13);
    expect(failures).toEqual([]);
  });
});
