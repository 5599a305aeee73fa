// Realistic messenger traffic for one portal: a cast of colleagues, group
// chats (`chat<N>`) and 1:1 dialogs around each target user or bot, and a
// stream of messages, edits, deletes, reactions and joins (plus commands for
// bots) whose payloads follow the facts file. Seeded, so the same seed and
// the same calls give the same events (event ids and dates come from the portal).
import type { RawBitrixEvent } from '../shared/event-types.js';
import { SimulatorOptionError } from './errors.js';
import { makeChat, makeUser, type ChatObject, type MessageObject, type UserObject } from './payloads.js';
import { formatPortalDate } from './portal-date.js';
import type { PortalState } from './portal-state.js';
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
const COMMANDS = [
  ['help', ''], ['status', 'deal 1042'], ['remind', 'tomorrow 10:00 call the client'], ['report', 'weekly'],
] as const;

type UserKind = 'add' | 'update' | 'delete' | 'reaction' | 'join';
type BotKind = UserKind | 'command';

const USER_WEIGHTS: Readonly<Record<UserKind, number>> = { add: 55, update: 15, delete: 8, reaction: 15, join: 7 };
const BOT_WEIGHTS: Readonly<Record<BotKind, number>> = { add: 50, update: 12, delete: 6, reaction: 12, join: 6, command: 14 };

interface ChatRoom {
  readonly chat: ChatObject;
  readonly members: UserObject[];
  /** Recent, not deleted messages (edits/deletes/reactions pick from here). */
  readonly recent: MessageObject[];
}

interface World {
  readonly self: UserObject;
  readonly bot: { readonly id: number; readonly code: string } | undefined;
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
  ) {
    this.random = seededRandom(seed);
    for (let i = 0; i < 10; i++) {
      const [firstName, gender] = FIRST_NAMES[i % FIRST_NAMES.length] ?? ['Anna', 'F'];
      this.cast.push(this.share(makeUser({ id: CAST_FIRST_ID + i, firstName, lastName: LAST_NAMES[i % LAST_NAMES.length] ?? 'Smirnova', gender })));
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
      bot = this.share({ id: b.id, code: b.code });
    } else {
      this.state.requireUser(target.userId);
      selfId = target.userId;
    }
    const selfName = this.state.requireUser(selfId).name;
    const [first = 'User', ...rest] = selfName.split(' ');
    const self = this.share(makeUser({ id: selfId, firstName: first, lastName: rest.join(' '), gender: 'F' }));
    const rooms: ChatRoom[] = [];
    const groups = 3 + Math.floor(this.random() * 3);
    for (let g = 0; g < groups; g++) {
      const [name, type] = GROUP_CHATS[g % GROUP_CHATS.length] ?? ['Team', 'chat'];
      const id = this.nextChatId++;
      const members = [self, ...this.cast.filter(() => this.random() < 0.5)];
      if (members.length < 3) members.push(...this.cast.slice(0, 2));
      rooms.push({ chat: this.share(makeChat({ id, dialogId: `chat${id}`, name, type, owner: (members[1] ?? self).id })), members, recent: [] });
    }
    const dialogs = 2 + Math.floor(this.random() * 2);
    for (let d = 0; d < dialogs; d++) {
      const peer = this.cast[(d * 3 + selfId) % this.cast.length] ?? this.cast[0];
      if (peer === undefined) continue;
      const id = this.nextChatId++;
      // A 1:1 dialog is addressed by the *other* participant's id.
      rooms.push({
        chat: this.share(makeChat({ id, dialogId: String(peer.id), name: peer.name, type: 'private', owner: 0 })),
        members: [self, peer],
        recent: [],
      });
    }
    const world: World = { self, bot, rooms };
    this.worlds.set(key, world);
    return world;
  }

  private nextEvent(world: World): [string, Record<string, unknown>] {
    const prefix = world.bot === undefined ? 'ONIMV2' : 'ONIMBOTV2';
    const kind: BotKind = world.bot === undefined ? weighted(this.random, USER_WEIGHTS) : weighted(this.random, BOT_WEIGHTS);
    const room = pick(this.random, world.rooms);
    const common = (user: UserObject): Record<string, unknown> =>
      world.bot === undefined ? { chat: room.chat, user, language: 'en' } : { bot: world.bot, chat: room.chat, user, language: 'en' };
    const target = room.recent.length > 0 ? pick(this.random, room.recent) : undefined;

    if (kind === 'update' && target !== undefined) {
      const edited: MessageObject = { ...target, text: `${target.text} (edited)`, params: { ...target.params, IS_EDITED: 'Y' } };
      room.recent[room.recent.indexOf(target)] = edited;
      return [`${prefix}MESSAGEUPDATE`, { message: edited, ...common(this.userById(room, edited.authorId)) }];
    }
    if (kind === 'delete' && target !== undefined) {
      room.recent.splice(room.recent.indexOf(target), 1);
      return [`${prefix}MESSAGEDELETE`, { messageId: target.id, ...common(this.userById(room, target.authorId)) }];
    }
    if (kind === 'reaction' && target !== undefined) {
      const reactor = pick(this.random, room.members);
      return [
        `${prefix}REACTIONCHANGE`,
        { reaction: pick(this.random, REACTIONS), action: this.random() < 0.8 ? 'add' : 'delete', message: target, ...common(reactor) },
      ];
    }
    if (kind === 'join' && room.chat.type !== 'private') {
      const joiner = this.cast.find((u) => !room.members.includes(u)) ?? pick(this.random, this.cast);
      if (!room.members.includes(joiner)) room.members.push(joiner);
      return [`${prefix}JOINCHAT`, { dialogId: room.chat.dialogId, ...common(joiner) }];
    }
    const author = pick(this.random, room.members.length > 1 ? room.members.slice(1) : room.members);
    if (kind === 'command' && world.bot !== undefined) {
      const [command, params] = pick(this.random, COMMANDS);
      const message = this.newMessage(room, author, `/${command}${params === '' ? '' : ` ${params}`}`);
      return [
        `${prefix}COMMANDADD`,
        { command: { id: this.nextCommandId++, command, params, context: 'textarea' }, message, ...common(author) },
      ];
    }
    const message = this.newMessage(room, author, this.text());
    return [`${prefix}MESSAGEADD`, { message, ...common(author) }];
  }

  private newMessage(room: ChatRoom, author: UserObject, text: string): MessageObject {
    const id = this.nextMessageId++;
    const message: MessageObject = {
      id,
      chatId: room.chat.id,
      authorId: author.id,
      date: formatPortalDate(this.now(), this.state.utcOffsetMinutes),
      text,
      isSystem: false,
      uuid: this.random() < 0.7 ? uuidFrom(this.random) : null,
      forward: null,
      params: this.random() < 0.1 ? { URL_ID: [id], ATTACH: [] } : {},
      viewedByOthers: false,
    };
    room.recent.push(message);
    if (room.recent.length > 30) room.recent.shift();
    return message;
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
