import { describe, expect, it } from 'vitest';
import { EVENT_DATA_SCHEMAS, validateEvent, validateKnownEvent } from '../../../functions/consumers/events.js';
import { KNOWN_EVENT_TYPES, type KnownEventType } from '../../../functions/shared/event-types.js';
import { chatObject, dataFor, messageObject, rawEvent, userObject } from './factories.js';

function issuesOf(type: KnownEventType, data: unknown): readonly string[] {
  const result = validateEvent(type, rawEvent(type, 1, data));
  return result.ok ? [] : result.issues;
}

describe('typed events', () => {
  it('has a schema for every known type', () => {
    expect(Object.keys(EVENT_DATA_SCHEMAS).sort()).toEqual([...KNOWN_EVENT_TYPES].sort());
  });

  it.each(KNOWN_EVENT_TYPES)('accepts a valid %s', (type) => {
    const result = validateEvent(type, rawEvent(type, 42));

    expect(result).toMatchObject({ ok: true, event: { eventId: 42, type } });
  });

  it.each(KNOWN_EVENT_TYPES)('keeps fields Bitrix24 may add to %s', (type) => {
    const data = { ...dataFor(type), brandNewField: { nested: true } };
    if ('chat' in data) data.chat = { ...chatObject(), newChatFlag: 'x' };

    const result = validateEvent(type, rawEvent(type, 1, data));

    expect(result).toMatchObject({ ok: true, event: { data: { brandNewField: { nested: true } } } });
  });

  it.each(KNOWN_EVENT_TYPES)('rejects %s when data is not an object', (type) => {
    expect(issuesOf(type, 'hello').length).toBeGreaterThan(0);
  });

  it('types message, chat and user of ONIMV2MESSAGEADD', () => {
    const result = validateEvent('ONIMV2MESSAGEADD', rawEvent('ONIMV2MESSAGEADD', 7));

    expect(result.ok && result.event.data.message.text).toBe('hello there');
    expect(result.ok && result.event.data.chat.dialogId).toBe('chat5');
    expect(result.ok && result.event.data.user.id).toBe(7);
  });

  it('turns numeric-string ids into numbers and a numeric dialogId into a string', () => {
    const data = { ...dataFor('ONIMV2JOINCHAT'), dialogId: 123, chat: chatObject({ id: '5', dialogId: 123 }) };

    const result = validateEvent('ONIMV2JOINCHAT', rawEvent('ONIMV2JOINCHAT', 1, data));

    expect(result.ok && result.event.data.chat.id).toBe(5);
    expect(result.ok && result.event.data.dialogId).toBe('123');
  });

  it.each([
    ['a non-numeric message id', { message: messageObject({ id: 'abc' }) }, 'data.message.id'],
    ['a negative chat id', { chat: chatObject({ id: -1 }) }, 'data.chat.id'],
    ['a text that is not a string', { message: messageObject({ text: 5 }) }, 'data.message.text'],
    ['a missing message', { message: undefined }, 'data.message'],
    ['a dialogId that is an object', { chat: chatObject({ dialogId: { id: 5 } }) }, 'data.chat.dialogId'],
    ['isSystem as "N"', { message: messageObject({ isSystem: 'N' }) }, 'data.message.isSystem'],
    ['a user without id', { user: userObject({ id: undefined }) }, 'data.user.id'],
  ])('rejects ONIMV2MESSAGEADD with %s and names the path', (_what, patch, path) => {
    const issues = issuesOf('ONIMV2MESSAGEADD', { ...dataFor('ONIMV2MESSAGEADD'), ...patch });

    expect(issues.some((issue) => issue.startsWith(`${path}:`))).toBe(true);
  });

  it('requires messageId for deletes', () => {
    expect(issuesOf('ONIMV2MESSAGEDELETE', { ...dataFor('ONIMV2MESSAGEDELETE'), messageId: undefined })[0]).toMatch(/^data\.messageId:/);
    expect(issuesOf('ONIMBOTV2MESSAGEDELETE', { ...dataFor('ONIMBOTV2MESSAGEDELETE'), messageId: 'x1' })[0]).toMatch(/^data\.messageId:/);
  });

  it('accepts reaction actions add and delete only', () => {
    expect(issuesOf('ONIMV2REACTIONCHANGE', { ...dataFor('ONIMV2REACTIONCHANGE'), action: 'delete' })).toEqual([]);
    expect(issuesOf('ONIMV2REACTIONCHANGE', { ...dataFor('ONIMV2REACTIONCHANGE'), action: 'remove' })[0]).toMatch(/^data\.action:/);
    expect(issuesOf('ONIMBOTV2REACTIONCHANGE', { ...dataFor('ONIMBOTV2REACTIONCHANGE'), reaction: '' })[0]).toMatch(/^data\.reaction:/);
  });

  it('requires dialogId for joins', () => {
    expect(issuesOf('ONIMV2JOINCHAT', { ...dataFor('ONIMV2JOINCHAT'), dialogId: undefined })[0]).toMatch(/^data\.dialogId:/);
    expect(issuesOf('ONIMBOTV2JOINCHAT', { ...dataFor('ONIMBOTV2JOINCHAT'), dialogId: true })[0]).toMatch(/^data\.dialogId:/);
  });

  it('requires a command word for bot commands', () => {
    expect(issuesOf('ONIMBOTV2COMMANDADD', { ...dataFor('ONIMBOTV2COMMANDADD'), command: { id: 3 } })[0]).toMatch(/^data\.command\.command:/);
  });

  it('accepts a bot delete naming the bot by object or by botId, and nothing else', () => {
    expect(issuesOf('ONIMBOTV2DELETE', { botId: 99 })).toEqual([]);
    expect(issuesOf('ONIMBOTV2DELETE', { bot: { id: 99 } })).toEqual([]);
    expect(issuesOf('ONIMBOTV2DELETE', {})[0]).toMatch(/^data\.bot:/);
  });

  it('accepts a lenient context request with only a user', () => {
    expect(issuesOf('ONIMBOTV2CONTEXTGET', { user: userObject() })).toEqual([]);
  });

  it('leaves unknown types to the catch-all without validating them', () => {
    expect(validateKnownEvent(rawEvent('ONIMV3SOMETHINGNEW', 1, 'anything'))).toBeUndefined();
  });
});
