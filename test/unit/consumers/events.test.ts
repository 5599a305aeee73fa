import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { PoisonMessageError } from '../../../functions/consumers/errors.js';
import {
  EVENT_DATA_SCHEMAS,
  EventSchemaMismatchError,
  assertKnownEvent,
  isSchemaMismatch,
  validateEvent,
  validateKnownEvent,
  type Chat,
  type Message,
  type User,
} from '../../../functions/consumers/events.js';
import { KNOWN_EVENT_TYPES, isKnownEventType, type KnownEventType } from '../../../functions/shared/event-types.js';
import { chatObject, dataFor, messageObject, rawEvent, userObject } from './factories.js';

interface Fixture {
  readonly file: string;
  readonly $doc: string;
  readonly $note: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

const FIXTURES_DIR = join(import.meta.dirname, '../../fixtures/events');
const fixtures: Fixture[] = readdirSync(FIXTURES_DIR).flatMap((type) =>
  readdirSync(join(FIXTURES_DIR, type))
    .filter((name) => name.endsWith('.json'))
    .map((name) => ({ file: `${type}/${name}`, ...(JSON.parse(readFileSync(join(FIXTURES_DIR, type, name), 'utf8')) as Omit<Fixture, 'file'>) })),
);

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
    expect(issuesOf('ONIMBOTV2COMMANDADD', { ...dataFor('ONIMBOTV2COMMANDADD'), command: { command: '/help' } })[0]).toMatch(/^data\.command\.id:/);
  });

  it('accepts a bot delete naming the bot by object or by botId, and nothing else', () => {
    expect(issuesOf('ONIMBOTV2DELETE', { botId: 99 })).toEqual([]);
    expect(issuesOf('ONIMBOTV2DELETE', { bot: { id: 99 } })).toEqual([]);
    expect(issuesOf('ONIMBOTV2DELETE', {})[0]).toMatch(/^data\.bot:/);
  });

  it('accepts a context request whose chat is only {dialogId} (bot-context.md pairCode example) and needs a dialog id somewhere', () => {
    expect(issuesOf('ONIMBOTV2CONTEXTGET', { chat: { dialogId: '274' }, user: userObject(), context: { pairCode: 'x' } })).toEqual([]);
    expect(issuesOf('ONIMBOTV2CONTEXTGET', { chat: {}, user: userObject() })[0]).toMatch(/^data\.dialogId:/);
  });

  it('leaves unknown types to the catch-all without validating them', () => {
    expect(validateKnownEvent(rawEvent('ONIMV3SOMETHINGNEW', 1, 'anything'))).toBeUndefined();
  });
});

describe('documented fixtures (test/fixtures/events)', () => {
  it('has the documented example or fields of each of the 13 types, each citing its doc page', () => {
    const types = new Set(fixtures.map((f) => f.type));
    expect([...types].sort()).toEqual([...KNOWN_EVENT_TYPES].sort());
    const uncited = fixtures.filter((f) => !/^api-reference\/chat-bots\/chat-bots-v2\/.+\.md(#[a-z0-9-]+)?$/.test(f.$doc)).map((f) => f.file);
    const misplaced = fixtures.filter((f) => !f.file.startsWith(`${f.type}/`)).map((f) => f.file);
    expect(uncited).toEqual([]);
    expect(misplaced).toEqual([]);
    expect(fixtures.length).toBeGreaterThanOrEqual(40);
  });

  it.each(fixtures.map((f) => [f.file, f] as const))('%s validates and the typed data keeps every field', (_file, fixture) => {
    if (!isKnownEventType(fixture.type)) throw new Error(`unknown type ${fixture.type}`);

    const result = validateEvent(fixture.type, rawEvent(fixture.type, 7, structuredClone(fixture.data)));

    if (!result.ok) throw new Error(result.issues.join('; '));
    expect(result.event.descriptiveMismatches).toEqual([]);
    expect(result.event.data).toStrictEqual(fixture.data);
  });
});

describe('descriptive fields never reject an event', () => {
  it.each([
    ['textFieldEnabled as a boolean', { chat: chatObject({ textFieldEnabled: true }) }, 'data.chat.textFieldEnabled', true],
    ['isSystem as "N"', { message: messageObject({ isSystem: 'N' }) }, 'data.message.isSystem', 'N'],
    ['an unknown user type', { user: userObject({ type: 'guest' }) }, 'data.user.type', 'guest'],
    ['phones as a string', { user: userObject({ phones: '+1 555' }) }, 'data.user.phones', '+1 555'],
    ['date as a number', { message: messageObject({ date: 1736930000 }) }, 'data.message.date', 1736930000],
  ])('keeps %s raw, out of the typed data, and lists it', (_what, patch, path, value) => {
    const result = validateEvent('ONIMV2MESSAGEADD', rawEvent('ONIMV2MESSAGEADD', 1, { ...dataFor('ONIMV2MESSAGEADD'), ...patch }));

    if (!result.ok) throw new Error(result.issues.join('; '));
    expect(result.event.descriptiveMismatches).toEqual([{ path, issue: expect.any(String) as unknown, value }]);
    const [, entity, field] = path.split('.') as [string, string, string];
    expect(field in (result.event.data[entity as 'chat'] as Record<string, unknown>)).toBe(false);
    expect(result.event.data.message.text).toBe('hello there');
  });

  it('accepts the nullable fields of entities.md as null (the old schema rejected them)', () => {
    const data = {
      ...dataFor('ONIMBOTV2MESSAGEADD'),
      message: messageObject({ date: null, forward: null }),
      chat: chatObject({ parentChatId: null, parentMessageId: null, color: null, diskFolderId: null, backgroundId: null }),
    };

    const result = validateEvent('ONIMBOTV2MESSAGEADD', rawEvent('ONIMBOTV2MESSAGEADD', 1, data));

    expect(result.ok && result.event.descriptiveMismatches).toEqual([]);
    expect(result.ok && result.event.data.message.date).toBeNull();
  });

  it('types what the docs say: nullable dates, Y/N strings, string|false compounds', () => {
    expectTypeOf<Message['date']>().toEqualTypeOf<string | null | undefined>();
    expectTypeOf<Chat['textFieldEnabled']>().toEqualTypeOf<'Y' | 'N' | undefined>();
    expectTypeOf<Chat['parentChatId']>().toEqualTypeOf<number | null | undefined>();
    expectTypeOf<User['idle']>().toEqualTypeOf<string | false | undefined>();
    expectTypeOf<User['phones']>().toEqualTypeOf<Record<string, unknown> | false | undefined>();
    expectTypeOf<Message['text']>().toEqualTypeOf<string>();
  });
});

describe('schema mismatch of a known type', () => {
  it('answers the failing paths and an EventSchemaMismatchError that is a poison message', () => {
    const result = validateKnownEvent(rawEvent('ONIMV2MESSAGEADD', 9, { ...dataFor('ONIMV2MESSAGEADD'), message: messageObject({ id: 'abc' }) }));

    expect(result?.ok).toBe(false);
    if (result === undefined || result.ok) return;
    expect(result.paths).toEqual(['data.message.id']);
    expect(result.error).toBeInstanceOf(EventSchemaMismatchError);
    expect(result.error).toBeInstanceOf(PoisonMessageError);
    expect(result.error).toMatchObject({ reason: 'invalid-event', eventType: 'ONIMV2MESSAGEADD', eventId: 9, paths: ['data.message.id'] });
    expect(isSchemaMismatch(result.error)).toBe(true);
    expect(isSchemaMismatch(new PoisonMessageError('invalid-json', 'x'))).toBe(false);
  });

  it('assertKnownEvent throws it, returns typed events, and leaves unknown types alone', () => {
    expect(() => assertKnownEvent(rawEvent('ONIMBOTV2JOINCHAT', 1, { ...dataFor('ONIMBOTV2JOINCHAT'), dialogId: true }))).toThrow(EventSchemaMismatchError);
    expect(assertKnownEvent(rawEvent('ONIMBOTV2JOINCHAT', 2))?.type).toBe('ONIMBOTV2JOINCHAT');
    expect(assertKnownEvent(rawEvent('ONIMV3NEW', 3, 1))).toBeUndefined();
  });
});
