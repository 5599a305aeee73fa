// One line per bot event type, from the events a bot was sent: what the demo
// prints to show the documented shapes (imbot.v2/events/events.md) — slash
// commands with their slash and context, joins (who added the bot), deletes,
// context requests, the full bot object of fetch mode.
import type { RawBitrixEvent } from '../shared/event-types.js';

type Data = Record<string, unknown>;

const ORDER = [
  'ONIMBOTV2MESSAGEADD',
  'ONIMBOTV2MESSAGEUPDATE',
  'ONIMBOTV2MESSAGEDELETE',
  'ONIMBOTV2REACTIONCHANGE',
  'ONIMBOTV2COMMANDADD',
  'ONIMBOTV2JOINCHAT',
  'ONIMBOTV2CONTEXTGET',
  'ONIMBOTV2DELETE',
] as const;

function obj(value: unknown): Data {
  return typeof value === 'object' && value !== null ? (value as Data) : {};
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

function clip(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `ONIMBOTV2COMMANDADD  command "/status" params "deal 1042" context keyboard in chat101 by user 503` … */
export function describeBotEvent(event: RawBitrixEvent): string {
  const data = obj(event.data);
  const chat = obj(data.chat);
  const user = obj(data.user);
  const message = obj(data.message);
  const where = `in ${str(chat.dialogId ?? data.dialogId)}`;
  const by = `user ${str(user.id)}`;
  switch (event.type) {
    case 'ONIMBOTV2COMMANDADD': {
      const command = obj(data.command);
      return `command "${str(command.command)}" params "${clip(str(command.params ?? ''))}" context ${str(command.context)} ${where} by ${by}`;
    }
    case 'ONIMBOTV2JOINCHAT':
      return `the bot was added to ${str(data.dialogId)} by ${by}`;
    case 'ONIMBOTV2MESSAGEDELETE':
      return `message ${str(data.messageId)} deleted ${where} (author ${by})`;
    case 'ONIMBOTV2REACTIONCHANGE':
      return `${str(data.action)} "${str(data.reaction)}" on the bot's message ${str(message.id)} ${where} by ${by}`;
    case 'ONIMBOTV2CONTEXTGET':
      return `dialog opened with context ${clip(JSON.stringify(data.context ?? {}), 60)} ${where} by ${by}`;
    case 'ONIMBOTV2DELETE': {
      const bot = obj(data.bot);
      return `the bot was removed: ${str(bot.code)} (its last event)`;
    }
    default:
      return `message ${str(message.id)} "${clip(str(message.text ?? ''))}" ${where} by ${by}`;
  }
}

/** The first event of each bot type, described; plus the bot object's documented fields once. */
export function botEventSamples(events: readonly RawBitrixEvent[]): string[] {
  const lines: string[] = [];
  for (const type of ORDER) {
    const first = events.find((event) => event.type === type);
    if (first !== undefined) lines.push(`  ${type.padEnd(24)} ${describeBotEvent(first)}`);
  }
  const bot = obj(obj(events[0]?.data).bot);
  if (Object.keys(bot).length > 0) {
    lines.push(`  bot object (fetch mode)  ${['id', 'code', 'type', 'eventMode', 'isHidden', 'countMessage'].map((k) => `${k}=${str(bot[k])}`).join(' ')}`);
  }
  return lines;
}
