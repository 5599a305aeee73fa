import { describe, expect, it } from 'vitest';
import { ChatActivity } from '../../../functions/simulator/chat-activity.js';
import { EventJsonWriter } from '../../../functions/simulator/event-json.js';
import { PortalState } from '../../../functions/simulator/portal-state.js';

describe('EventJsonWriter', () => {
  it('writes pages byte-identical to JSON.stringify, with cached shared objects', () => {
    const json = new EventJsonWriter();
    const state = new PortalState(() => 0, 3600_000, 0);
    const activity = new ChatActivity(state, () => 0, (t, type, data) => state.emit(t, type, data), 3, (v) => json.markShareable(v));
    const userId = state.addUser('Anna').id;
    state.subscribe(userId);
    const events = [
      ...activity.generate({ userId }, 200),
      ...[{ a: undefined, b: [1, { c: 'x' }], d: new Date(0) }, 'text', null, 7, [1, 2], new Date(5), { 'quo"te': 'é\n' }].map((data) =>
        state.emit({ userId }, 'CUSTOM', data),
      ),
    ].filter((e) => e !== undefined);
    const page = { events, nextOffset: 208, hasMore: false };
    const time = { start: 1.5, operating: 0 };
    for (let round = 0; round < 2; round++) expect(json.page(page, time)).toBe(JSON.stringify({ result: page, time }));
  });

  it('freezes what it caches, so a cached JSON cannot go stale', () => {
    const json = new EventJsonWriter();
    const chat = json.markShareable({ id: 1, permissions: { canPost: 'member' } });
    expect(Object.isFrozen(chat)).toBe(true);
    expect(Object.isFrozen(chat.permissions)).toBe(true);
  });
});
