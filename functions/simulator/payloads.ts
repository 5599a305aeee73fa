// Bitrix24 objects as they appear inside messenger events (facts file:
// `message`, `chat`, `user`), with every listed field so consumers meet
// realistic shapes. Online-status fields are `false` in events.

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
  readonly idle: false;
  readonly lastActivityDate: false;
  readonly mobileLastDate: false;
  readonly desktopLastDate: false;
  readonly absent: false;
  readonly departments: readonly number[];
  readonly phones: false | Readonly<Record<string, string>>;
  readonly website: string;
  readonly email: string;
  readonly type: 'user' | 'bot' | 'extranet';
}

export interface ChatObject {
  readonly id: number;
  readonly dialogId: string;
  readonly name: string;
  readonly type: 'chat' | 'open' | 'channel' | 'openChannel' | 'copilot' | 'thread' | 'generalChannel' | 'private';
  readonly messageType: 'C' | 'O' | 'P' | 'N' | 'L';
  readonly owner: number;
  readonly color: string;
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
  readonly diskFolderId: number;
  readonly permissions: Readonly<Record<string, string>>;
  readonly parentChatId: number;
  readonly parentMessageId: number;
  readonly isNew: boolean;
  readonly textFieldEnabled: boolean;
  readonly backgroundId: string | null;
}

export interface MessageObject {
  readonly id: number;
  readonly chatId: number;
  readonly authorId: number;
  readonly date: string;
  readonly text: string;
  readonly isSystem: boolean;
  readonly uuid: string | null;
  readonly forward: null | Readonly<Record<string, unknown>>;
  readonly params: Readonly<Record<string, unknown>>;
  readonly viewedByOthers: boolean;
}

const COLORS = ['#df532d', '#4ba984', '#7e48e6', '#29619b', '#f76187', '#1eb4aa', '#ab7761', '#ff7e37'] as const;
const POSITIONS = ['Sales manager', 'Developer', 'Accountant', 'Support engineer', 'Designer', 'Product owner', 'HR manager', ''] as const;

export function colorOf(id: number): string {
  return COLORS[id % COLORS.length] ?? '#29619b';
}

export function makeUser(input: { id: number; firstName: string; lastName: string; gender: 'M' | 'F'; bot?: boolean }): UserObject {
  const bot = input.bot ?? false;
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
    extranet: false,
    bot,
    connector: false,
    externalAuthId: bot ? 'bot' : 'default',
    status: 'online',
    idle: false,
    lastActivityDate: false,
    mobileLastDate: false,
    desktopLastDate: false,
    absent: false,
    departments: bot ? [] : [1 + (input.id % 5)],
    phones: input.id % 2 === 0 ? { personalMobile: `+7 900 ${String(1000000 + input.id).slice(-7)}` } : false,
    website: '',
    email: bot ? '' : `${input.firstName.toLowerCase()}.${input.lastName.toLowerCase()}@example.invalid`,
    type: bot ? 'bot' : 'user',
  };
}

export function makeChat(input: {
  id: number;
  dialogId: string;
  name: string;
  type: ChatObject['type'];
  owner: number;
  description?: string;
}): ChatObject {
  const messageType: ChatObject['messageType'] = input.type === 'private' ? 'P' : input.type === 'open' ? 'O' : input.type === 'openChannel' ? 'N' : 'C';
  return {
    id: input.id,
    dialogId: input.dialogId,
    name: input.name,
    type: input.type,
    messageType,
    owner: input.owner,
    color: colorOf(input.id),
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
    diskFolderId: 0,
    permissions: {
      manageUsersAdd: 'member',
      manageUsersDelete: 'manager',
      manageUi: 'member',
      manageSettings: 'owner',
      manageMessages: 'member',
      canPost: 'member',
    },
    parentChatId: 0,
    parentMessageId: 0,
    isNew: false,
    textFieldEnabled: true,
    backgroundId: null,
  };
}
