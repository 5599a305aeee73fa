import { describe, expect, it } from 'vitest';
import { botEventSamples } from '../../../functions/simulator/bot-event-samples.js';
import { ChatActivity } from '../../../functions/simulator/chat-activity.js';
import { PortalState } from '../../../functions/simulator/portal-state.js';

describe('botEventSamples (what `npm run demo -- --bot` prints)', () => {
  it('shows a slash command with its context, a join by its adder, a delete, and the full bot object', () => {
    const state = new PortalState(() => Date.UTC(2025, 0, 15, 7, 30), 3600_000, 180);
    const owner = state.addUser('Anna Smirnova').id;
    const botId = state.requireRegisteredBot(owner, { code: 'demo_bot' }).id;
    const activity = new ChatActivity(state, () => Date.UTC(2025, 0, 15, 7, 30), (t, type, data) => state.emit(t, type, data), 3);

    const lines = botEventSamples(activity.generate({ botId }, 300));

    expect(lines.find((l) => l.includes('ONIMBOTV2COMMANDADD'))).toMatch(/command "\/[a-z]+" params ".*" context (textarea|keyboard|menu)/);
    expect(lines.find((l) => l.includes('ONIMBOTV2JOINCHAT'))).toMatch(/the bot was added to chat\d+ by user \d+/);
    expect(lines.find((l) => l.includes('ONIMBOTV2MESSAGEDELETE'))).toMatch(/message \d+ deleted/);
    expect(lines.at(-1)).toContain(`id=${botId} code=demo_bot type=bot eventMode=fetch`);
  });
});
