// Realistic messenger traffic for one portal: a cast of colleagues, group
// chats (`chat<N>`) and 1:1 dialogs around each target user or bot, and a
// stream of messages, edits, deletes, reactions and joins (plus commands and
// context requests for bots) whose payloads follow
// api-reference/chat-bots/chat-bots-v2/entities.md and the events.md pages,
// with the nullable and compound forms at realistic rates. Bot streams follow
// the delivery rules of the bot's type (index.md "Bot Types"): a `bot` /
// `openline` bot sees group messages only when @mentioned, reactions only to
// its own messages, JOINCHAT when it is added (`user` = who added it).
// The rooms are adopted by the messenger, so a bot may answer in them.
// Seeded, so the same seed and the same calls give the same events (event ids
// and dates come from the portal).
import type { RawBitrixEvent } from '../shared/event-types.js';
import { SimulatorOptionError } from './errors.js';
import type { Messenger } from './messenger.js';
import { makeChat, makeUser, type BotObject, type ChatObject, type MessageObject, type UserObject } from './payloads.js';
import { formatPortalDate } from './portal-date.js';
import { botObjectOf, type PortalBot, type PortalState } from './portal-state.js';
import { pick, seededRandom, weighted, type Random } from './random.js';
import type { EventTarget, PortalActivity } from './types.js';

const FIRST_NAMES = [
  ['Anna', 'F'], ['Boris', 'M'], ['Olga', 'F'], ['Dmitry', 'M'], ['Maria', 'F'], ['Ivan', 'M'], ['Elena', 'F'],
  ['Sergey', 'M'], ['Natalia', 'F'], ['Pavel', 'M'], ['Julia', 'F'], ['Alexey', 'M'],
] as const;
const LAST_NAMES = ['Smirnova', 'Petrov', 'Ivanova', 'Kuznetsov', 'Sokolova', 'Popov', 'Lebedeva', 'Novikov', 'Morozova', 'Volkov'] as const;
const GROUP_CHATS = [
  ['Sales team', 'chat'], ['Product launch', 'chat'], ['Support escalations', 'open'], ['Company news', 'generalChannel'],
  ['Design review', 'chat'], ['Release notes', 'channel'],
] as const;
const PHRASES = [
  'Good morning! Any updates on the deal?',
  'I have sent the invoice to the client.',
  'Can we move the call to 3 pm?',
  'The build is green, deploying to staging.',
  'Please review the contract draft: [URL=https://example.invalid/doc/42]draft v3[/URL]',
  'Thanks! 👍',
  'Meeting notes are in the shared folder.',
  'Who is on duty this weekend?',
  'Customer asked for a discount of 10%, what do you think?',
  'Done ✅',
  '[b]Reminder:[/b] quarterly report is due on Friday.',
  'Привет! Посмотри, пожалуйста, задачу.',
  'Lunch at 1?',
  'I will be out of office tomorrow.',
] as const;
const REACTIONS = ['like', 'kiss', 'laugh', 'wonder', 'cry', 'angry', 'facepalm'] as const;
/** Slash commands arrive with their slash (imbot.v2/events/events.md, Command Object). */
const COMMANDS = [
  ['/help', ''], ['/status', 'deal 1042'], ['/remind', 'tomorrow 10:00 call the client'], ['/report', 'weekly'],
] as const;
const COMMAND_CONTEXTS = ['textarea', 'textarea', 'textarea', 'keyboard', 'menu'] as const;
const CONTEXTS = [{ entityType: 'task', entityId: 164, source: 'link' }, { pairCode: '13bd812901b295c50adbc' }, { action: 'openDeal', dealId: 1042 }] as const;

type UserKind = 'add' | 'update' | 'delete' | 'reaction' | 'join';
type BotKind = UserKind | 'command' | 'context';

const USER_WEIGHTS: Readonly<Record<UserKind, number>> = { add: 55, update: 15, delete: 8, reaction: 15, join: 7 };
const BOT_WEIGHTS: Readonly<Record<BotKind, number>> = { add: 50, update: 12, delete: 6, reaction: 10, join: 4, command: 14, context: 4 };
const MAX_ROOMS = 12;

interface ChatRoom {
  readonly chat: ChatObject;
  readonly members: UserObject[];
  /** Recent, not deleted messages (edits/deletes/reactions pick from here). */
  readonly recent: MessageObject[];
  /** Recent messages the bot itself wrote (bot worlds: what reactions reach it for). */
  readonly botOwn: MessageObject[];
}

interface World {
  readonly self: UserObject;
  readonly bot: { readonly portal: PortalBot; readonly object: BotObject; readonly user: UserObject } | undefined;
  readonly rooms: ChatRoom[];
}

const CAST_FIRST_ID = 500;
const CHAT_FIRST_ID = 100;

export class ChatActivity implements PortalActivity {
  private readonly random: Random;
  private readonly cast: UserObject[] = [];
  private readonly worlds = new Map<string, World>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private nextChatId = CHAT_FIRST_ID;
  private nextMessageId = 10_000;
  private nextCommandId = 1;
  private generated = 0;

  constructor(
    private readonly state: PortalState,
    private readonly now: () => number,
    private readonly emit: (target: EventTarget, type: string, data: unknown) => RawBitrixEvent | undefined,
    seed: number,
    /** Marks an object immutable so page serialisation may cache its JSON (chat, user and bot objects are shared by many events). */
    private readonly share: <T extends object>(value: T) => T = (value) => value,
    private readonly messenger?: Messenger,
  ) {
    this.random = seededRandom(seed);
    for (let i = 0; i < 10; i++) {
      const [firstName, gender] = FIRST_NAMES[i % FIRST_NAMES.length] ?? ['Anna', 'F'];
      const user = this.share(makeUser({ id: CAST_FIRST_ID + i, firstName, lastName: LAST_NAMES[i % LAST_NAMES.length] ?? 'Smirnova', gender }));
      this.cast.push(user);
      this.messenger?.knowUser(user);
    }
  }

  get generatedCount(): number {
    return this.generated;
  }

  generate(target: EventTarget, count: number): RawBitrixEvent[] {
    if (!Number.isInteger(count) || count < 0) throw new SimulatorOptionError(`activity.generate count must be a non-negative integer, got ${count}.`);
    const world = this.worldOf(target);
    const out: RawBitrixEvent[] = [];
    for (let i = 0; i < count; i++) {
      const [type, data] = this.nextEvent(world);
      const event = this.emit(target, type, data);
      if (event !== undefined) {
        out.push(event);
        this.generated += 1;
      }
    }
    return out;
  }

  start(target: EventTarget, eventsPerSecond: number): void {
    if (!(eventsPerSecond > 0)) throw new SimulatorOptionError(`activity.start needs eventsPerSecond > 0, got ${eventsPerSecond}.`);
    this.worldOf(target); // validate the target now, not inside the timer
    const key = keyOf(target);
    const existing = this.timers.get(key);
    if (existing !== undefined) clearInterval(existing);
    const startedAt = performance.now();
    let produced = 0;
    const tickMs = Math.max(10, Math.min(1000, Math.floor(1000 / eventsPerSecond)));
    const timer = setInterval(() => {
      const due = Math.floor(((performance.now() - startedAt) / 1000) * eventsPerSecond) - produced;
      const batch = Math.min(due, 5000);
      if (batch > 0) {
        produced += due; // never build up a backlog if the process was stalled
        this.generate(target, batch);
      }
    }, tickMs);
    timer.unref();
    this.timers.set(key, timer);
  }

  stop(): void {
    for (const timer of this.timers.values()) clearInterval(timer);
    this.timers.clear();
  }

  private worldOf(target: EventTarget): World {
    const key = keyOf(target);
    const existing = this.worlds.get(key);
    if (existing !== undefined) return existing;
    let selfId: number;
    let bot: World['bot'];
    if ('botId' in target) {
      const b = this.state.requireBot(target.botId);
      selfId = b.ownerUserId;
      const user = this.share(makeUser({ id: b.id, firstName: b.name, lastName: b.lastName, gender: b.gender, bot: true }));
      bot = { portal: b, object: this.share(botObjectOf(b)), user };
    } else {
      this.state.requireUser(target.userId);
      selfId = target.userId;
    }
    const selfName = this.state.requireUser(selfId).name;
    const [first = 'User', ...rest] = selfName.split(' ');
    const self = this.share(makeUser({ id: selfId, firstName: first, lastName: rest.join(' '), gender: 'F', type: 'employee' }));
    const world: World = { self, bot, rooms: [] };
    const groups = 3 + Math.floor(this.random() * 3);
    for (let g = 0; g < groups; g++) this.addGroupRoom(world, g);
    const dialogs = 2 + Math.floor(this.random() * 2);
    for (let d = 0; d < dialogs; d++) {
      const peer = this.cast[(d * 3 + selfId) % this.cast.length] ?? this.cast[0];
      if (peer === undefined) continue;
      const id = this.nextChatId++;
      // A 1:1 dialog is addressed by the *other* participant's id: for a bot the user, for a user the peer.
      const members = bot === undefined ? [self, peer] : [bot.user, peer];
      const chat = this.share(makeChat({ id, dialogId: String(peer.id), name: peer.name, type: 'private', owner: 0 }));
      world.rooms.push({ chat, members, recent: [], botOwn: [] });
      this.messenger?.adoptRoom(chat, members.map((m) => m.id));
    }
    this.worlds.set(key, world);
    return world;
  }

  private addGroupRoom(world: World, index: number, firstMembers: readonly UserObject[] = []): ChatRoom {
    const [name, type] = GROUP_CHATS[index % GROUP_CHATS.length] ?? ['Team', 'chat'];
    const id = this.nextChatId++;
    const members = [world.self, ...firstMembers, ...this.cast.filter((u) => !firstMembers.includes(u) && this.random() < 0.5)];
    if (members.length < 3) members.push(...this.cast.slice(0, 2).filter((u) => !members.includes(u)));
    // One in five group chats is a thread of an earlier chat (entities.md: parentChatId/parentMessageId).
    const thread = world.rooms.length > 0 && this.random() < 0.2;
    const parent = thread ? world.rooms[0] : undefined;
    const chat = this.share(
      makeChat({
        id,
        dialogId: `chat${id}`,
        name: thread ? `Re: ${name}` : name,
        type: thread ? 'thread' : type,
        owner: (members[1] ?? world.self).id,
        ...(parent === undefined ? {} : { parentChatId: parent.chat.id, parentMessageId: 10_000 + id }),
      }),
    );
    const room: ChatRoom = { chat, members, recent: [], botOwn: [] };
    world.rooms.push(room);
    this.messenger?.adoptRoom(chat, [...members.map((m) => m.id), ...(world.bot === undefined ? [] : [world.bot.portal.id])]);
    return room;
  }

  private nextEvent(world: World): [string, Record<string, unknown>] {
    const bot = world.bot;
    const prefix = bot === undefined ? 'ONIMV2' : 'ONIMBOTV2';
    const kind: BotKind = bot === undefined ? weighted(this.random, USER_WEIGHTS) : weighted(this.random, BOT_WEIGHTS);
    const room = pick(this.random, world.rooms);
    const common = (user: UserObject, inRoom: ChatRoom = room): Record<string, unknown> =>
      bot === undefined ? { chat: inRoom.chat, user, language: 'en' } : { bot: bot.object, chat: inRoom.chat, user, language: 'en' };
    const target = room.recent.length > 0 ? pick(this.random, room.recent) : undefined;
    // A `bot`/`openline` bot only hears group messages that @mention it.
    const mentionOnly = bot !== undefined && room.chat.type !== 'private' && bot.portal.type !== 'supervisor' && bot.portal.type !== 'personal';

    if (kind === 'update' && target !== undefined) {
      const edited: MessageObject = { ...target, text: `${target.text} (edited)`, params: { ...target.params, IS_EDITED: 'Y' } };
      room.recent[room.recent.indexOf(target)] = edited;
      this.messenger?.adoptMessage(this.roomOfMessenger(room), edited);
      return [`${prefix}MESSAGEUPDATE`, { message: edited, ...common(this.userById(room, edited.authorId)) }];
    }
    if (kind === 'delete' && target !== undefined) {
      room.recent.splice(room.recent.indexOf(target), 1);
      return [`${prefix}MESSAGEDELETE`, { messageId: target.id, ...common(this.userById(room, target.authorId)) }];
    }
    if (kind === 'reaction') {
      const reactor = pick(this.random, room.members.filter((m) => m !== bot?.user));
      // A bot hears reactions only to its own messages (imbot.v2/events/events.md, ONIMBOTV2REACTIONCHANGE).
      const reacted = bot === undefined ? target : (room.botOwn.at(-1) ?? this.botMessage(room, bot.user));
      if (reacted !== undefined && reactor !== undefined) {
        return [
          `${prefix}REACTIONCHANGE`,
          { reaction: pick(this.random, REACTIONS), action: this.random() < 0.8 ? 'add' : 'delete', message: reacted, ...common(reactor) },
        ];
      }
    }
    if (kind === 'join') {
      if (bot === undefined && room.chat.type !== 'private') {
        const joiner = this.cast.find((u) => !room.members.includes(u)) ?? pick(this.random, this.cast);
        if (!room.members.includes(joiner)) room.members.push(joiner);
        return [`${prefix}JOINCHAT`, { dialogId: room.chat.dialogId, ...common(joiner) }];
      }
      if (bot !== undefined && world.rooms.length < MAX_ROOMS) {
        // The bot was added to a new group chat; `user` is who added it.
        const adder = pick(this.random, this.cast);
        const added = this.addGroupRoom(world, world.rooms.length, [adder]);
        return [`${prefix}JOINCHAT`, { dialogId: added.chat.dialogId, ...common(adder, added) }];
      }
    }
    if (kind === 'context' && bot !== undefined) {
      const dialog = world.rooms.find((r) => r.chat.type === 'private' && r.members.includes(bot.user));
      const opener = dialog?.members.find((m) => m !== bot.user);
      if (dialog !== undefined && opener !== undefined) {
        return [`${prefix}CONTEXTGET`, { dialogId: dialog.chat.dialogId, context: pick(this.random, CONTEXTS), ...common(opener, dialog) }];
      }
    }
    const author = pick(this.random, room.members.filter((m) => m !== world.self && m !== bot?.user).length > 0 ? room.members.filter((m) => m !== world.self && m !== bot?.user) : room.members);
    if (kind === 'command' && bot !== undefined) {
      const [command, params] = pick(this.random, COMMANDS);
      const registered = [...bot.portal.commands.values()].find((c) => c.command === command);
      const message = this.newMessage(room, author, `${command}${params === '' ? '' : ` ${params}`}`);
      return [
        `${prefix}COMMANDADD`,
        { command: { id: registered?.id ?? this.nextCommandId++, command, params, context: pick(this.random, COMMAND_CONTEXTS) }, message, ...common(author) },
      ];
    }
    const mention = mentionOnly && bot !== undefined ? `[USER=${bot.portal.id}]${bot.user.name}[/USER] ` : '';
    const message = this.newMessage(room, author, `${mention}${this.text()}`);
    return [`${prefix}MESSAGEADD`, { message, ...common(author) }];
  }

  private roomOfMessenger(room: ChatRoom) {
    return this.messenger?.adoptRoom(room.chat, room.members.map((m) => m.id)) ?? { chat: room.chat, kind: 'group' as const, members: new Set<number>(), messages: new Map() };
  }

  /** A message the bot wrote earlier (not an event for the bot itself). */
  private botMessage(room: ChatRoom, botUser: UserObject): MessageObject {
    const message = this.newMessage(room, botUser, pick(this.random, ['How can I help?', 'Done, the report is attached.', 'I have created the task.']));
    room.recent.pop();
    room.botOwn.push(message);
    if (room.botOwn.length > 10) room.botOwn.shift();
    return message;
  }

  private newMessage(room: ChatRoom, author: UserObject, text: string): MessageObject {
    const id = this.nextMessageId++;
    const r = this.random();
    // Rates of the documented forms (entities.md, Message): 3 % file-only
    // (text ""), 3 % forwarded, 1 % date null; uuid a string, often "".
    const fileOnly = r < 0.03 && !text.startsWith('/') && !text.startsWith('[USER=');
    const forwarded = r >= 0.03 && r < 0.06;
    const message: MessageObject = {
      id,
      chatId: room.chat.id,
      authorId: author.id,
      date: r >= 0.06 && r < 0.07 ? null : formatPortalDate(this.now(), this.state.utcOffsetMinutes),
      text: fileOnly ? '' : text,
      isSystem: false,
      uuid: this.random() < 0.6 ? uuidFrom(this.random) : '',
      forward: forwarded ? { id: Math.max(1, id - 500), userId: (this.cast[id % this.cast.length] ?? author).id, chatId: room.chat.id, date: formatPortalDate(this.now() - 3_600_000, this.state.utcOffsetMinutes) } : null,
      params: fileOnly ? { FILE_ID: [30_000 + id] } : this.random() < 0.1 ? { URL_ID: [id], ATTACH: [] } : {},
      viewedByOthers: false,
    };
    room.recent.push(message);
    if (room.recent.length > 30) room.recent.shift();
    if (this.messenger !== undefined && this.worldHasBot(room)) this.messenger.adoptMessage(this.roomOfMessenger(room), message);
    return message;
  }

  private worldHasBot(room: ChatRoom): boolean {
    return room.members.some((m) => m.bot) || (this.messenger?.room(room.chat.id)?.members.size ?? 0) > room.members.length;
  }

  private text(): string {
    const r = this.random();
    // A few long messages so payload-size paths (claim check) see traffic too.
    if (r < 0.005) return pick(this.random, PHRASES).repeat(400);
    if (r < 0.1) return `${pick(this.random, PHRASES)}\n${pick(this.random, PHRASES)}`;
    return pick(this.random, PHRASES);
  }

  private userById(room: ChatRoom, id: number): UserObject {
    return room.members.find((u) => u.id === id) ?? room.members[0] ?? this.cast[0] ?? makeUser({ id, firstName: 'User', lastName: String(id), gender: 'M' });
  }
}

function keyOf(target: EventTarget): string {
  return 'botId' in target ? `bot:${target.botId}` : `user:${target.userId}`;
}

function uuidFrom(random: Random): string {
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
}
