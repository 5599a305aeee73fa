// Keeps a bot's slash commands as its source config lists them (issue 12 §2):
// compares the config's `commands` with imbot.v2.Command.list and plans
//   register  a configured command the bot does not have   (imbot.v2.Command.register)
//   update    one it has with another title/params/flags   (imbot.v2.Command.update, by commandId)
//   keep      one that matches
//   extra     one the bot has and the config does not list (reported, never removed: another
//             tool or a person may have added it; `imbot.v2.Command.unregister` is a human's call)
// Command.list answers title and params as text "in the current Bitrix24 language
// with fallback to the default language" (command-list.md), so they are compared
// in one language (`--lang`, default en), which the config must then give.
import type { BotCommandConfig } from '../shared/config.js';

/** One command as imbot.v2.Command.list answers it (command-list.md, "Fields of the Command Object"). */
export interface ListedCommand {
  readonly id: number;
  /** With its slash, e.g. "/help". */
  readonly command: string;
  readonly title: string;
  readonly params: string;
  readonly common: boolean;
  readonly hidden: boolean;
  readonly extranetSupport: boolean;
}

/** `fields` of Command.register / Command.update (command-register.md, command-update.md): the command without its slash. */
export interface CommandFields {
  readonly command: string;
  readonly title?: Readonly<Record<string, string>>;
  readonly params?: Readonly<Record<string, string>>;
  readonly common: boolean;
  readonly hidden: boolean;
  readonly extranetSupport: boolean;
}

export interface CommandSyncPlan {
  readonly register: readonly { readonly command: string; readonly fields: CommandFields }[];
  readonly update: readonly { readonly command: string; readonly commandId: number; readonly fields: CommandFields; readonly changed: readonly string[] }[];
  readonly keep: readonly string[];
  readonly extra: readonly string[];
}

export function commandFields(command: BotCommandConfig): CommandFields {
  return {
    command: command.command.replace(/^\//, ''),
    ...(command.title === undefined ? {} : { title: command.title }),
    ...(command.params === undefined ? {} : { params: command.params }),
    common: command.common,
    hidden: command.hidden,
    extranetSupport: command.extranetSupport,
  };
}

function textIn(texts: Readonly<Record<string, string>> | undefined, lang: string): string {
  return texts?.[lang] ?? '';
}

/** What differs between the configured command and the listed one, by field name. */
export function changedFields(wanted: BotCommandConfig, listed: ListedCommand, lang: string): string[] {
  const changed: string[] = [];
  if (textIn(wanted.title, lang) !== listed.title) changed.push('title');
  if (textIn(wanted.params, lang) !== listed.params) changed.push('params');
  if (wanted.common !== listed.common) changed.push('common');
  if (wanted.hidden !== listed.hidden) changed.push('hidden');
  if (wanted.extranetSupport !== listed.extranetSupport) changed.push('extranetSupport');
  return changed;
}

export function planCommandSync(wanted: readonly BotCommandConfig[], listed: readonly ListedCommand[], lang = 'en'): CommandSyncPlan {
  const byName = new Map(listed.map((c) => [c.command.toLowerCase(), c]));
  const register: CommandSyncPlan['register'][number][] = [];
  const update: CommandSyncPlan['update'][number][] = [];
  const keep: string[] = [];
  for (const command of wanted) {
    const existing = byName.get(command.command.toLowerCase());
    if (existing === undefined) {
      register.push({ command: command.command, fields: commandFields(command) });
      continue;
    }
    const changed = changedFields(command, existing, lang);
    if (changed.length === 0) keep.push(command.command);
    else update.push({ command: command.command, commandId: existing.id, fields: commandFields(command), changed });
  }
  const wantedNames = new Set(wanted.map((c) => c.command.toLowerCase()));
  const extra = listed.filter((c) => !wantedNames.has(c.command.toLowerCase())).map((c) => c.command);
  return { register, update, keep, extra };
}

/** A Command.list entry read defensively (a portal of another revision may send strings for booleans or ids). */
export function listedCommandOf(value: unknown): ListedCommand | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const c = value as Record<string, unknown>;
  const id = typeof c.id === 'string' ? Number(c.id) : c.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || typeof c.command !== 'string') return undefined;
  const flag = (v: unknown): boolean => v === true || v === 'Y';
  const command = c.command.startsWith('/') ? c.command : `/${c.command}`;
  return {
    id,
    command,
    title: typeof c.title === 'string' ? c.title : '',
    params: typeof c.params === 'string' ? c.params : '',
    common: flag(c.common),
    hidden: flag(c.hidden),
    extranetSupport: flag(c.extranetSupport),
  };
}
