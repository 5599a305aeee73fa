import { describe, expect, it } from 'vitest';
import type { RawBitrixEvent } from '../../../functions/shared/event-types.js';
import { BOT_EVENT_TYPES, USER_EVENT_TYPES } from '../../../functions/shared/event-types.js';
import { ChatActivity } from '../../../functions/simulator/chat-activity.js';
import { UnknownSimulatorEntityError } from '../../../functions/simulator/errors.js';
import { PortalState } from '../../../functions/simulator/portal-state.js';

const MESSAGE_FIELDS = ['id', 'chatId', 'authorId', 'date', 'text', 'isSystem', 'uuid', 'forward', 'params', 'viewedByOthers'];
const CHAT_FIELDS = [
  'id', 'dialogId', 'name', 'type', 'messageType', 'owner', 'color', 'avatar', 'description', 'extranet', 'containsCollaber', 'entityType',
  'entityId', 'entityData1', 'entityData2', 'entityData3', 'entityLink', 'diskFolderId', 'permissions', 'parentChatId', 'parentMessageId',
  'isNew', 'textFieldEnabled', 'backgroundId',
];
const USER_FIELDS = [
  'id', 'active', 'name', 'firstName', 'lastName', 'workPosition', 'color', 'avatar', 'gender', 'birthday', 'extranet', 'bot', 'connector',
  'externalAuthId', 'status', 'idle', 'lastActivityDate', 'mobileLastDate', 'desktopLastDate', 'absent', 'departments', 'phones', 'website',
  'email', 'type',
];

function setup(seed = 7) {
  const state = new PortalState(() => Date.UTC(2025, 0, 15, 7, 30), 3600_000, 180);
  const activity = new ChatActivity(state, () => Date.UTC(2025, 0, 15, 7, 30), (t, type, data) => state.emit(t, type, data), seed);
  const userId = state.addUser('Anna Smirnova').id;
  state.subscribe(userId);
  const botId = state.requireRegisteredBot(userId, { code: 'helper' }).id;
  return { state, activity, userId, botId };
}

type Data = Record<string, unknown> & { chat: Record<string, unknown>; user: Record<string, unknown>; message?: Record<string, unknown> };

describe('ChatActivity', () => {
  it('generates every user event type with the payload fields of the facts file', () => {
    const { activity, userId } = setup();
    const events = activity.generate({ userId }, 600);
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(USER_EVENT_TYPES));
    for (const event of events) {
      const data = event.data as Data;
      expect(Object.keys(data.chat).sort()).toEqual([...CHAT_FIELDS].sort());
      expect(Object.keys(data.user).sort()).toEqual([...USER_FIELDS].sort());
      expect(data.language).toBe('en');
      expect(String(data.chat.dialogId)).toMatch(data.chat.type === 'private' ? /^\d+$/ : /^chat\d+$/);
      expect(data.user.idle).toBe(false);
    }
    const ofType = (type: string) => events.filter((e) => e.type === type).map((e) => e.data as Data);
    const added = ofType('ONIMV2MESSAGEADD');
    for (const data of added) {
      expect(Object.keys(data.message ?? {}).sort()).toEqual([...MESSAGE_FIELDS].sort());
      expect(data.message?.chatId).toBe(data.chat.id);
    }
    const addedIds = new Set(added.map((d) => d.message?.id));
    // Edits, deletes and reactions refer to messages that were added before.
    expect(ofType('ONIMV2MESSAGEUPDATE').every((d) => addedIds.has(d.message?.id))).toBe(true);
    const deletes = ofType('ONIMV2MESSAGEDELETE');
    expect(deletes.every((d) => addedIds.has(d.messageId) && d.message === undefined)).toBe(true);
    const reactions = ofType('ONIMV2REACTIONCHANGE');
    expect(reactions.every((d) => addedIds.has(d.message?.id) && typeof d.reaction === 'string')).toBe(true);
    expect(new Set(reactions.map((d) => d.action))).toEqual(new Set(['add', 'delete']));
    expect(ofType('ONIMV2JOINCHAT').every((d) => d.dialogId === d.chat.dialogId && d.chat.type !== 'private')).toBe(true);
    expect(new Set(events.map((e) => (e.data as Data).chat.id)).size).toBeGreaterThanOrEqual(4);
  });

  it('gives bots ONIMBOTV2* types in the documented shapes: full bot object, slash commands, joins, context requests', () => {
    const { activity, botId } = setup();
    const events = activity.generate({ botId }, 400);
    const types = new Set(events.map((e) => e.type));
    expect([...types].every((t) => (BOT_EVENT_TYPES as readonly string[]).includes(t))).toBe(true);
    for (const type of ['ONIMBOTV2MESSAGEADD', 'ONIMBOTV2COMMANDADD', 'ONIMBOTV2JOINCHAT', 'ONIMBOTV2CONTEXTGET', 'ONIMBOTV2REACTIONCHANGE']) expect(types).toContain(type);
    const command = events.find((e) => e.type === 'ONIMBOTV2COMMANDADD')?.data as Data & { command: { command: string; context: string } };
    // imbot.v2/events/events.md, "Bot Object Format": the full bot object in fetch mode.
    expect(command.bot).toMatchObject({ id: botId, code: 'helper', type: 'bot', eventMode: 'fetch', moduleId: 'rest', isHidden: false, backgroundId: null });
    expect(command.command.command).toMatch(/^\/[a-z]+$/);
    expect(String(command.message?.text).startsWith(command.command.command)).toBe(true);
    expect(['textarea', 'keyboard', 'menu']).toContain(command.command.context);
  });

  it('follows the delivery rules of a bot-type bot: group messages only with a mention, reactions only to its own messages', () => {
    const { activity, botId } = setup();
    const events = activity.generate({ botId }, 400);
    const data = (type: string) => events.filter((e) => e.type === type).map((e) => e.data as Data);
    const groupAdds = data('ONIMBOTV2MESSAGEADD').filter((d) => d.chat.type !== 'private' && d.message?.text !== '');
    expect(groupAdds.length).toBeGreaterThan(10);
    expect(groupAdds.every((d) => String(d.message?.text).startsWith(`[USER=${botId}]`))).toBe(true);
    const reactions = data('ONIMBOTV2REACTIONCHANGE');
    expect(reactions.length).toBeGreaterThan(0);
    expect(reactions.every((d) => d.message?.authorId === botId && d.user.id !== botId)).toBe(true);
    // ONIMBOTV2JOINCHAT: the bot was added to a chat, `user` is who added it (a member, never the bot).
    expect(data('ONIMBOTV2JOINCHAT').every((d) => d.user.id !== botId && d.dialogId === d.chat.dialogId)).toBe(true);
  });

  it('generates the documented value forms: Y/N, user types, string uuids, nullable fields at realistic rates', () => {
    const { activity, userId } = setup();
    const events = activity.generate({ userId }, 2000);
    const all = events.map((e) => e.data as Data);
    const messages = all.flatMap((d) => (d.message === undefined ? [] : [d.message]));
    expect(new Set(all.map((d) => d.chat.textFieldEnabled))).toEqual(new Set(['Y', 'N']));
    expect(all.every((d) => ['employee', 'extranet', 'email', 'collaber', 'bot'].includes(String(d.user.type)))).toBe(true);
    expect(messages.every((m) => typeof m.uuid === 'string')).toBe(true);
    expect(messages.some((m) => m.uuid === '')).toBe(true);
    expect(messages.some((m) => m.date === null)).toBe(true);
    expect(messages.some((m) => m.text === '')).toBe(true);
    expect(messages.some((m) => m.forward !== null)).toBe(true);
    expect(all.some((d) => d.chat.parentChatId === null)).toBe(true);
    expect(all.some((d) => d.chat.parentChatId === 0)).toBe(true);
  });

  it('is deterministic for a seed (apart from portal-wide ids)', () => {
    const strip = (events: RawBitrixEvent[]) => events.map((e) => ({ type: e.type, data: JSON.stringify(e.data).replace(/"uuid":"[^"]*"/g, '') }));
    const a = setup(42);
    const b = setup(42);
    const c = setup(43);
    const ea = strip(a.activity.generate({ userId: a.userId }, 50));
    expect(strip(b.activity.generate({ userId: b.userId }, 50))).toEqual(ea);
    expect(strip(c.activity.generate({ userId: c.userId }, 50))).not.toEqual(ea);
  });

  it('records nothing for an unsubscribed user and rejects unknown targets', () => {
    const { state, activity, userId } = setup();
    state.unsubscribe(userId);
    expect(activity.generate({ userId }, 5)).toEqual([]);
    expect(() => activity.generate({ userId: 999 }, 1)).toThrow(UnknownSimulatorEntityError);
    expect(() => activity.generate({ botId: 999 }, 1)).toThrow(UnknownSimulatorEntityError);
  });
});
