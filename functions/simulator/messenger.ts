// The portal's chats as Bitrix24 keeps them: rooms with members (users and
// bots), messages with authors and reactions, and the delivery of each action
// to every reader that would see it — subscribed users get ONIMV2* events
// (im.v2/events/events.md), bots get ONIMBOTV2* events by the rules of their
// type (index.md, "Bot Types"; imbot.v2/events/events.md):
//  - `bot` / `openline` (and `network`): in a group chat only messages that
//    @mention the bot (`[USER=<botId>]…[/USER]`) and the commands addressed
//    to it; every event of a 1:1 dialog;
//  - `supervisor` / `personal`: every event of every chat they are in;
//  - ONIMBOTV2REACTIONCHANGE only for reactions to the bot's own messages;
//  - ONIMBOTV2JOINCHAT when *the bot* is added (`user` = who added it);
//  - a bot never gets events of its own actions.
// A message a bot sends is a real message: its members' sources see it.
import type { RawBitrixEvent } from '../shared/event-types.js';
import { UnknownSimulatorEntityError } from './errors.js';
import { makeChat, makeUser, truncateMessage, type ChatObject, type MessageObject, type UserObject } from './payloads.js';
import { formatPortalDate } from './portal-date.js';
import { botObjectOf, type PortalBot, type PortalCommand, type PortalState } from './portal-state.js';
import type { EventTarget } from './types.js';

export interface Room {
  readonly chat: ChatObject;
  readonly kind: 'group' | 'private';
  readonly members: Set<number>;
  readonly messages: Map<number, StoredMessage>;
}

export interface StoredMessage {
  message: MessageObject;
  deleted: boolean;
}

export interface PostInput {
  readonly authorId: number;
  readonly text: string;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly isSystem?: boolean;
  /** How a slash command was given: typed (default), a keyboard button, a menu entry. */
  readonly commandContext?: 'textarea' | 'keyboard' | 'menu';
}

type Emit = (target: EventTarget, type: string, data: unknown) => RawBitrixEvent | undefined;

const MENTION = /\[USER=(\d+)\]/gi;
const FIRST_ROOM_ID = 5000;
const FIRST_MESSAGE_ID = 700_000_000;
const MAX_MESSAGES_PER_ROOM = 500;

export class Messenger {
  private readonly rooms = new Map<number, Room>();
  private readonly extraUsers = new Map<number, UserObject>();
  private readonly roomOfMessageId = new Map<number, Room>();
  private nextRoomId = FIRST_ROOM_ID;
  private nextMessageId = FIRST_MESSAGE_ID;

  constructor(
    private readonly state: PortalState,
    private readonly now: () => number,
    private readonly emit: Emit,
  ) {}

  // ---- people ------------------------------------------------------------------

  /** Makes a generated colleague (not a portal user) known, so chats may hold them. */
  knowUser(user: UserObject): void {
    this.extraUsers.set(user.id, user);
  }

  isKnown(id: number): boolean {
    return this.extraUsers.has(id) || this.state.user(id) !== undefined || this.liveBot(id) !== undefined;
  }

  userObject(id: number): UserObject {
    const bot = this.state.bot(id);
    if (bot !== undefined) return makeUser({ id, firstName: bot.name, lastName: bot.lastName, gender: bot.gender, bot: true });
    const extra = this.extraUsers.get(id);
    if (extra !== undefined) return extra;
    const user = this.state.requireUser(id);
    const [first = user.name, ...rest] = user.name.split(' ');
    return makeUser({ id, firstName: first, lastName: rest.join(' '), gender: 'F', type: 'employee' });
  }

  private liveBot(id: number): PortalBot | undefined {
    const bot = this.state.bot(id);
    return bot === undefined || bot.deleted ? undefined : bot;
  }

  // ---- rooms ---------------------------------------------------------------------

  createGroup(input: { ownerId: number; name?: string; memberIds?: readonly number[]; type?: ChatObject['type'] }): Room {
    const id = this.nextRoomId++;
    const chat = makeChat({ id, dialogId: `chat${id}`, name: input.name ?? `Chat ${id}`, type: input.type ?? 'chat', owner: input.ownerId });
    const room: Room = { chat, kind: 'group', members: new Set([input.ownerId, ...(input.memberIds ?? [])]), messages: new Map() };
    this.rooms.set(id, room);
    for (const member of room.members) this.noteBotMembership(member, room);
    return room;
  }

  /** Adopts a chat the activity generator made (same ids), so bots can answer in it. */
  adoptRoom(chat: ChatObject, memberIds: readonly number[]): Room {
    const existing = this.rooms.get(chat.id);
    if (existing !== undefined) return existing;
    const room: Room = { chat, kind: chat.type === 'private' ? 'private' : 'group', members: new Set(memberIds), messages: new Map() };
    this.rooms.set(chat.id, room);
    for (const member of room.members) this.noteBotMembership(member, room);
    return room;
  }

  room(chatId: number): Room | undefined {
    return this.rooms.get(chatId);
  }

  roomOfMessage(messageId: number): Room | undefined {
    return this.roomOfMessageId.get(messageId);
  }

  /** Remembers a message the activity generator posted, so bots may react to, edit or answer it. */
  adoptMessage(room: Room, message: MessageObject): void {
    room.messages.set(message.id, { message, deleted: false });
    this.roomOfMessageId.set(message.id, room);
    // Bounded memory under long generated traffic: a room keeps its last messages.
    if (room.messages.size > MAX_MESSAGES_PER_ROOM) {
      const oldest = room.messages.keys().next().value;
      if (oldest !== undefined) {
        room.messages.delete(oldest);
        this.roomOfMessageId.delete(oldest);
      }
    }
  }

  /**
   * The room a participant means by `dialogId`: `chat5` → chat 5 (must be a
   * member); a numeric id → the 1:1 dialog with that user or bot (created on
   * first use, as Bitrix24 does).
   */
  resolveDialog(viewerId: number, dialogId: string): Room | undefined {
    const group = /^chat(\d+)$/.exec(dialogId);
    if (group !== null) {
      const room = this.rooms.get(Number(group[1]));
      return room !== undefined && room.members.has(viewerId) ? room : undefined;
    }
    if (!/^\d+$/.test(dialogId)) return undefined;
    const peerId = Number(dialogId);
    if (peerId === viewerId || !this.isKnown(peerId)) return undefined;
    for (const room of this.rooms.values()) {
      if (room.kind === 'private' && room.members.size === 2 && room.members.has(viewerId) && room.members.has(peerId)) return room;
    }
    const id = this.nextRoomId++;
    const chat = makeChat({ id, dialogId: String(peerId), name: '', type: 'private', owner: 0 });
    const room: Room = { chat, kind: 'private', members: new Set([viewerId, peerId]), messages: new Map() };
    this.rooms.set(id, room);
    for (const member of room.members) this.noteBotMembership(member, room);
    return room;
  }

  /** The chat object as one member sees it: in a 1:1 dialog `dialogId` is the counterpart's id. */
  chatFor(room: Room, viewerId: number): ChatObject {
    if (room.kind !== 'private') return room.chat;
    const peer = [...room.members].find((m) => m !== viewerId) ?? viewerId;
    return { ...room.chat, dialogId: String(peer), name: this.userObject(peer).name };
  }

  private noteBotMembership(memberId: number, room: Room): void {
    const bot = this.liveBot(memberId);
    if (bot === undefined) return;
    bot.chats.add(room.chat.id);
    for (const other of room.members) if (other !== memberId && this.liveBot(other) === undefined) bot.users.add(other);
  }

  // ---- actions ---------------------------------------------------------------------

  post(room: Room, input: PostInput, id = this.nextMessageId++): MessageObject {
    const message: MessageObject = {
      id,
      chatId: room.chat.id,
      authorId: input.isSystem === true ? 0 : input.authorId,
      date: formatPortalDate(this.now(), this.state.utcOffsetMinutes),
      text: truncateMessage(input.text),
      isSystem: input.isSystem ?? false,
      uuid: '',
      forward: null,
      params: input.params ?? {},
      viewedByOthers: false,
    };
    this.adoptMessage(room, message);
    const author = this.liveBot(input.authorId);
    if (author !== undefined) author.countMessage += 1;
    const mentions = mentionsOf(message.text);
    this.deliver(room, 'MESSAGEADD', input.authorId, (viewer) => ({ message, chat: this.chatFor(room, viewer), user: this.userObject(input.authorId) }), {
      mentions,
    });
    const command = /^\s*(\/[^\s/]+)(?:\s+([\s\S]*))?$/.exec(message.text);
    if (command !== null && input.isSystem !== true) this.deliverCommand(room, input, message, command[1] ?? '', command[2] ?? '');
    return message;
  }

  edit(room: Room, messageId: number, editorId: number, text: string): MessageObject | undefined {
    const stored = room.messages.get(messageId);
    if (stored === undefined || stored.deleted) return undefined;
    stored.message = { ...stored.message, text: truncateMessage(text), params: { ...stored.message.params, IS_EDITED: 'Y' } };
    const message = stored.message;
    this.deliver(room, 'MESSAGEUPDATE', editorId, (viewer) => ({ message, chat: this.chatFor(room, viewer), user: this.userObject(message.authorId) }), {
      mentions: mentionsOf(message.text),
    });
    return message;
  }

  remove(room: Room, messageId: number, removerId: number): boolean {
    const stored = room.messages.get(messageId);
    if (stored === undefined || stored.deleted) return false;
    stored.deleted = true;
    const { message } = stored;
    this.deliver(room, 'MESSAGEDELETE', removerId, (viewer) => ({ messageId, chat: this.chatFor(room, viewer), user: this.userObject(message.authorId) }), {
      mentions: mentionsOf(message.text),
    });
    return true;
  }

  react(room: Room, messageId: number, userId: number, reaction: string, action: 'add' | 'delete'): MessageObject | undefined {
    const stored = room.messages.get(messageId);
    if (stored === undefined || stored.deleted) return undefined;
    const { message } = stored;
    this.deliver(room, 'REACTIONCHANGE', userId, (viewer) => ({ reaction, action, message, chat: this.chatFor(room, viewer), user: this.userObject(userId) }), {
      reactionTo: message.authorId,
    });
    return message;
  }

  /** Adds a user or a bot; users' sources get ONIMV2JOINCHAT (user = the added one), an added bot ONIMBOTV2JOINCHAT (user = who added it). */
  addMember(room: Room, memberId: number, byUserId: number): void {
    if (room.members.has(memberId)) return;
    room.members.add(memberId);
    this.noteBotMembership(memberId, room);
    for (const other of room.members) if (other !== memberId) this.noteBotMembership(other, room);
    const dialogId = room.chat.dialogId;
    const addedBot = this.liveBot(memberId);
    if (addedBot !== undefined) {
      this.emitToBot(addedBot, 'JOINCHAT', { dialogId, chat: this.chatFor(room, memberId), user: this.userObject(byUserId), language: 'en' });
    }
    for (const member of room.members) {
      if (this.liveBot(member) !== undefined) continue;
      this.emitToUser(member, 'JOINCHAT', { dialogId, chat: this.chatFor(room, member), user: this.userObject(memberId), language: 'en' });
    }
  }

  /** A user opened the bot's dialog with a context (imbot.v2/bot-context.md, im.v2.Chat.Bot.sendContext). */
  sendContext(bot: PortalBot, userId: number, context: Readonly<Record<string, unknown>>): RawBitrixEvent | undefined {
    const room = this.resolveDialog(userId, String(bot.id));
    if (room === undefined) throw new UnknownSimulatorEntityError('user', userId);
    return this.emitToBot(bot, 'CONTEXTGET', { dialogId: String(userId), context, chat: this.chatFor(room, bot.id), user: this.userObject(userId), language: 'en' });
  }

  /** Unregister: ONIMBOTV2DELETE is the bot's last event; it leaves every chat. */
  removeBot(bot: PortalBot): RawBitrixEvent | undefined {
    const event = this.emitToBot(bot, 'DELETE', {});
    bot.deleted = true;
    for (const room of this.rooms.values()) room.members.delete(bot.id);
    bot.chats.clear();
    return event;
  }

  // ---- delivery ------------------------------------------------------------------

  private deliver(
    room: Room,
    kind: 'MESSAGEADD' | 'MESSAGEUPDATE' | 'MESSAGEDELETE' | 'REACTIONCHANGE',
    actorId: number,
    data: (viewerId: number) => Record<string, unknown>,
    rules: { readonly mentions?: ReadonlySet<number>; readonly reactionTo?: number },
  ): void {
    for (const member of room.members) {
      const bot = this.liveBot(member);
      if (bot === undefined) {
        this.emitToUser(member, kind, { ...data(member), language: 'en' });
        continue;
      }
      if (member === actorId) continue;
      if (kind === 'REACTIONCHANGE') {
        if (rules.reactionTo !== bot.id) continue;
      } else if (room.kind === 'group' && !seesEverything(bot) && rules.mentions?.has(bot.id) !== true) {
        continue;
      }
      this.emitToBot(bot, kind, { ...data(member), language: 'en' });
    }
  }

  private deliverCommand(room: Room, input: PostInput, message: MessageObject, word: string, params: string): void {
    for (const member of room.members) {
      const bot = this.liveBot(member);
      if (bot === undefined || member === input.authorId) continue;
      const command = findCommand(bot, word);
      if (command === undefined) continue;
      this.emitToBot(bot, 'COMMANDADD', {
        command: { id: command.id, command: command.command, params, context: input.commandContext ?? 'textarea' },
        message,
        chat: this.chatFor(room, member),
        user: this.userObject(input.authorId),
        language: 'en',
      });
    }
  }

  private emitToBot(bot: PortalBot, kind: string, data: Record<string, unknown>): RawBitrixEvent | undefined {
    return this.emit({ botId: bot.id }, `ONIMBOTV2${kind}`, { bot: botObjectOf(bot), ...data });
  }

  private emitToUser(userId: number, kind: string, data: Record<string, unknown>): void {
    if (this.state.user(userId) === undefined || !this.state.isSubscribed(userId)) return;
    this.emit({ userId }, `ONIMV2${kind}`, data);
  }
}

export function seesEverything(bot: PortalBot): boolean {
  return bot.type === 'supervisor' || bot.type === 'personal';
}

function mentionsOf(text: string): Set<number> {
  return new Set(Array.from(text.matchAll(MENTION), (m) => Number(m[1])));
}

function findCommand(bot: PortalBot, word: string): PortalCommand | undefined {
  const wanted = word.toLowerCase();
  for (const command of bot.commands.values()) if (command.command.toLowerCase() === wanted) return command;
  return undefined;
}
