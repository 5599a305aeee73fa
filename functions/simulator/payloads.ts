// Bitrix24 objects as they appear inside messenger events, field by field as
// in api-reference/chat-bots/chat-bots-v2/entities.md (User, Bot, Chat,
// Message), with the nullable and compound forms at realistic rates so
// consumers meet every documented shape. Online-status fields (`idle`,
// `lastActivityDate`, `mobileLastDate`, `desktopLastDate`) are `false` in
// im.v2 events (im.v2/events/events.md); `absent` and `phones` vary.

export interface UserObject {
  readonly id: number;
  readonly active: boolean;
  readonly name: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly workPosition: string;
  readonly color: string;
  readonly avatar: string;
  readonly gender: 'M' | 'F';
  readonly birthday: string;
  readonly extranet: boolean;
  readonly bot: boolean;
  readonly connector: boolean;
  readonly externalAuthId: string;
  readonly status: string;
  readonly idle: string | false;
  readonly lastActivityDate: string | false;
  readonly mobileLastDate: string | false;
  readonly desktopLastDate: string | false;
  /** Start of an absence (ISO 8601) or `false`. */
  readonly absent: string | false;
  readonly departments: readonly number[];
  readonly phones: false | Readonly<Record<string, string>>;
  readonly website: string;
  readonly email: string;
  readonly type: UserType;
}

/** entities.md, User.type. */
export type UserType = 'employee' | 'extranet' | 'email' | 'collaber' | 'bot';

/** index.md, "Bot Types" (`network` is accepted at registration too). */
export type BotType = 'bot' | 'supervisor' | 'personal' | 'openline' | 'network';

/** entities.md, Bot (extended format, as the owner sees it in fetch-mode events). */
export interface BotObject {
  readonly id: number;
  readonly code: string;
  readonly type: BotType;
  readonly isHidden: boolean;
  readonly isSupportOpenline: boolean;
  readonly isReactionsEnabled: boolean;
  readonly backgroundId: string | null;
  readonly language: string;
  readonly moduleId: string;
  readonly eventMode: 'fetch' | 'webhook';
  readonly countMessage: number;
  readonly countCommand: number;
  readonly countChat: number;
  readonly countUser: number;
}

export interface ChatObject {
  readonly id: number;
  readonly dialogId: string;
  readonly name: string;
  readonly type: 'chat' | 'open' | 'channel' | 'openChannel' | 'copilot' | 'thread' | 'generalChannel' | 'private';
  readonly messageType: 'C' | 'O' | 'P' | 'N' | 'L';
  readonly owner: number;
  readonly color: string | null;
  readonly avatar: string;
  readonly description: string;
  readonly extranet: boolean;
  readonly containsCollaber: boolean;
  readonly entityType: string;
  readonly entityId: string;
  readonly entityData1: string;
  readonly entityData2: string;
  readonly entityData3: string;
  readonly entityLink: Readonly<Record<string, unknown>>;
  readonly diskFolderId: number | null;
  readonly permissions: Readonly<Record<string, string>>;
  /** Threads: the parent chat; otherwise `0` or `null` (both seen). */
  readonly parentChatId: number | null;
  readonly parentMessageId: number | null;
  readonly isNew: boolean;
  /** The string `"Y"` or `"N"` (entities.md), not a boolean. */
  readonly textFieldEnabled: 'Y' | 'N';
  readonly backgroundId: string | null;
}

export interface MessageObject {
  readonly id: number;
  readonly chatId: number;
  readonly authorId: number;
  /** ISO 8601 or `null` (entities.md: `string|null`). */
  readonly date: string | null;
  /** ≤ 20,000 characters; `""` for a file-only message. */
  readonly text: string;
  readonly isSystem: boolean;
  /** A string, often `""`. */
  readonly uuid: string;
  readonly forward: null | { readonly id: number; readonly userId: number; readonly chatId: number; readonly date: string | null };
  readonly params: Readonly<Record<string, unknown>>;
  readonly viewedByOthers: boolean;
}

const COLORS = ['#df532d', '#4ba984', '#7e48e6', '#29619b', '#f76187', '#1eb4aa', '#ab7761', '#ff7e37'] as const;
const POSITIONS = ['Sales manager', 'Developer', 'Accountant', 'Support engineer', 'Designer', 'Product owner', 'HR manager', ''] as const;

export function colorOf(id: number): string {
  return COLORS[id % COLORS.length] ?? '#29619b';
}

/** 20,000 characters (entities.md, Message.text); longer texts are cut with " (...)". */
export const MAX_MESSAGE_LENGTH = 20_000;

export function truncateMessage(text: string): string {
  return text.length <= MAX_MESSAGE_LENGTH ? text : `${text.slice(0, MAX_MESSAGE_LENGTH - 6)} (...)`;
}

export function makeUser(input: { id: number; firstName: string; lastName: string; gender: 'M' | 'F'; bot?: boolean; type?: UserType }): UserObject {
  const bot = input.bot ?? false;
  const type: UserType = bot ? 'bot' : (input.type ?? (input.id % 13 === 7 ? 'extranet' : input.id % 17 === 11 ? 'collaber' : 'employee'));
  return {
    id: input.id,
    active: true,
    name: `${input.firstName} ${input.lastName}`.trim(),
    firstName: input.firstName,
    lastName: input.lastName,
    workPosition: bot ? '' : (POSITIONS[input.id % POSITIONS.length] ?? ''),
    color: colorOf(input.id),
    avatar: input.id % 3 === 0 ? '' : `https://cdn.example.invalid/avatar/${input.id}.jpg`,
    gender: input.gender,
    birthday: input.id % 4 === 0 ? '' : `${String((input.id % 28) + 1).padStart(2, '0')}-${String((input.id % 12) + 1).padStart(2, '0')}`,
    extranet: type === 'extranet' || type === 'collaber',
    bot,
    connector: false,
    externalAuthId: bot ? 'bot' : type === 'email' ? 'email' : 'default',
    status: input.id % 5 === 4 ? 'dnd' : 'online',
    idle: false,
    lastActivityDate: false,
    mobileLastDate: false,
    desktopLastDate: false,
    absent: input.id % 7 === 3 ? '2025-02-03T00:00:00+03:00' : false,
    departments: bot ? [] : [1 + (input.id % 5)],
    phones: input.id % 2 === 0 ? { personalMobile: `+7 900 ${String(1000000 + input.id).slice(-7)}` } : false,
    website: '',
    email: bot ? '' : `${input.firstName.toLowerCase()}.${input.lastName.toLowerCase()}@example.invalid`,
    type,
  };
}

export function makeBotObject(input: Omit<BotObject, 'moduleId' | 'eventMode' | 'language' | 'backgroundId'> & { backgroundId?: string | null; language?: string }): BotObject {
  return { moduleId: 'rest', eventMode: 'fetch', language: 'en', ...input, backgroundId: input.backgroundId ?? null };
}

export function makeChat(input: {
  id: number;
  dialogId: string;
  name: string;
  type: ChatObject['type'];
  owner: number;
  description?: string;
  parentChatId?: number;
  parentMessageId?: number;
}): ChatObject {
  // Nullable forms at realistic rates (entities.md): some chats answer `null`
  // for the thread parents, colour and Drive folder where others answer 0/values.
  const nullish = input.id % 4 === 1;
  const messageType: ChatObject['messageType'] = input.type === 'private' ? 'P' : input.type === 'open' ? 'O' : input.type === 'openChannel' ? 'N' : 'C';
  return {
    id: input.id,
    dialogId: input.dialogId,
    name: input.name,
    type: input.type,
    messageType,
    owner: input.owner,
    color: input.id % 9 === 2 ? null : colorOf(input.id),
    avatar: '',
    description: input.description ?? '',
    extranet: false,
    containsCollaber: false,
    entityType: '',
    entityId: '',
    entityData1: '',
    entityData2: '',
    entityData3: '',
    entityLink: { type: '', url: '', id: '' },
    diskFolderId: nullish ? null : 40 + input.id,
    permissions: {
      manageUsersAdd: 'member',
      manageUsersDelete: 'manager',
      manageUi: 'member',
      manageSettings: 'owner',
      manageMessages: 'member',
      canPost: 'member',
    },
    parentChatId: input.parentChatId ?? (nullish ? null : 0),
    parentMessageId: input.parentMessageId ?? (nullish ? null : 0),
    isNew: false,
    // Read-only channels and some chats with the input switched off (imbot.v2.Chat.TextField.enabled).
    textFieldEnabled: input.type === 'channel' || input.type === 'generalChannel' || input.id % 5 === 3 ? 'N' : 'Y',
    backgroundId: null,
  };
}
