// Long texts as several messages. Bitrix24 keeps at most 20,000 characters of
// a message and cuts the rest with " (...)"
// (api-reference/chat-bots/chat-bots-v2/imbot.v2/messages/chat-message-send.md,
// `fields.message`; the same limit for Command.answer, command-answer.md), so
// a longer reply is split before it is sent:
//   1. at a paragraph break (blank line), else a line break, else a space —
//      the last one in the window, as long as it keeps the part at least half
//      full (else the next kind is tried, so parts do not shrink to a line);
//   2. never inside [code]…[/code] while a break outside code exists;
//   3. if a part must end inside a tag pair ([b]…[/b], [url=…]…[/url],
//      [code]…[/code] …), the open tags are closed at its end and reopened at
//      the start of the next part, so each message renders on its own;
//   4. a part with no break at all is cut hard, never inside a tag like
//      "[url=…]" nor between the two halves of a surrogate pair.
// The whitespace a part is split at is dropped; every other character is kept,
// in order. Lengths are UTF-16 code units (JavaScript's `length`), which is
// never less than the number of characters Bitrix24 counts, so a part that
// fits here fits there.

/** Longest `fields.message` Bitrix24 keeps (chat-message-send.md). */
export const MESSAGE_MAX_LENGTH = 20_000;

export interface SplitMessageOptions {
  /** Longest part, in UTF-16 code units. @default 20000 (MESSAGE_MAX_LENGTH) */
  readonly maxLength?: number;
}

/** Tags that come in pairs and change how the text between them renders (message-formatting.md). */
const PAIRED_TAGS = new Set(['b', 'i', 'u', 's', 'size', 'color', 'url', 'user', 'chat', 'context', 'code', 'quote', 'put', 'send', 'call', 'img']);
const TAG = /\[(\/?)([a-z]+)(?:[= ][^\]\n]*)?\]/gi;

interface TagToken {
  readonly start: number;
  readonly end: number;
  readonly name: string;
  readonly closing: boolean;
  readonly raw: string;
}

interface CodeRegion {
  /** Just after "[code]". */
  readonly contentStart: number;
  /** At "[/code]" (or the end of the text when it is never closed). */
  readonly contentEnd: number;
}

/** Splits `text` into parts of at most `maxLength`, in order; a text that fits is returned as the only part. */
export function splitMessage(text: string, options: SplitMessageOptions = {}): string[] {
  const maxLength = options.maxLength ?? MESSAGE_MAX_LENGTH;
  if (!Number.isInteger(maxLength) || maxLength < 64) {
    throw new RangeError(`splitMessage: maxLength must be an integer of at least 64 (room for reopened tags); got ${maxLength}.`);
  }
  if (text.length <= maxLength) return [text];
  const { tokens, code } = scanTags(text);
  const parts: string[] = [];
  let position = 0;
  while (position < text.length) {
    let prefix = openTagsText(openStackAt(tokens, position));
    // A pathological pile of nested tags: send the text without reopening them rather than loop.
    if (prefix.length > maxLength / 4) prefix = '';
    if (prefix.length + text.length - position <= maxLength) {
      parts.push(prefix + text.slice(position));
      break;
    }
    let window = maxLength - prefix.length;
    let cut: Cut;
    let closing: string;
    for (;;) {
      cut = chooseCut(text, position, position + window, tokens, code);
      closing = closeTagsText(openStackAt(tokens, cut.end));
      const overflow = prefix.length + (cut.end - position) + closing.length - maxLength;
      if (overflow <= 0) break;
      window -= overflow;
      if (window < maxLength / 4) {
        // Closing tags that do not fit even a quarter part: cut without closing them.
        cut = hardCut(text, position, position + maxLength - prefix.length, tokens);
        closing = '';
        break;
      }
    }
    parts.push(prefix + text.slice(position, cut.end) + closing);
    position = cut.next;
  }
  return parts;
}

interface Cut {
  /** The part ends before this index. */
  readonly end: number;
  /** The next part starts at this index (after the whitespace split at). */
  readonly next: number;
}

function scanTags(text: string): { tokens: TagToken[]; code: CodeRegion[] } {
  const tokens: TagToken[] = [];
  const code: CodeRegion[] = [];
  let inCode: number | undefined;
  for (const match of text.matchAll(TAG)) {
    const name = (match[2] ?? '').toLowerCase();
    if (!PAIRED_TAGS.has(name)) continue;
    const start = match.index;
    const token = { start, end: start + match[0].length, name, closing: match[1] === '/', raw: match[0] };
    // Inside code nothing but "[/code]" is a tag.
    if (inCode !== undefined) {
      if (name === 'code' && token.closing) {
        code.push({ contentStart: inCode, contentEnd: start });
        tokens.push(token);
        inCode = undefined;
      }
      continue;
    }
    if (name === 'code' && !token.closing) inCode = token.end;
    tokens.push(token);
  }
  if (inCode !== undefined) code.push({ contentStart: inCode, contentEnd: text.length });
  return { tokens, code };
}

/** The tags open at `position`: replay every tag that ends at or before it; a close pops its nearest opener. */
function openStackAt(tokens: readonly TagToken[], position: number): TagToken[] {
  const stack: TagToken[] = [];
  for (const token of tokens) {
    if (token.end > position) break;
    if (!token.closing) {
      stack.push(token);
      continue;
    }
    const opener = stack.map((open) => open.name).lastIndexOf(token.name);
    if (opener >= 0) stack.splice(opener, 1);
  }
  return stack;
}

function openTagsText(stack: readonly TagToken[]): string {
  return stack.map((token) => token.raw).join('');
}

function closeTagsText(stack: readonly TagToken[]): string {
  return stack
    .map((token) => `[/${token.raw.slice(1, 1 + token.name.length)}]`)
    .reverse()
    .join('');
}

function insideCode(code: readonly CodeRegion[], position: number): boolean {
  return code.some((region) => position > region.contentStart && position < region.contentEnd);
}

function insideTag(tokens: readonly TagToken[], position: number): TagToken | undefined {
  return tokens.find((token) => position > token.start && position < token.end);
}

/** Picks where the part that starts at `from` ends, at most at `limit` (exclusive end index). */
function chooseCut(text: string, from: number, limit: number, tokens: readonly TagToken[], code: readonly CodeRegion[]): Cut {
  const halfFull = from + Math.ceil((limit - from) / 2);
  // Last candidate of each kind, scanning back from the limit: [paragraph, line, space] outside code, then [line, space] inside.
  const outside: (Cut | undefined)[] = [undefined, undefined, undefined];
  const inCode: (Cut | undefined)[] = [undefined, undefined];
  for (let end = Math.min(limit, text.length - 1); end > from; end -= 1) {
    const ch = text[end];
    if (ch !== '\n' && ch !== ' ' && ch !== '\t') continue;
    if (insideTag(tokens, end) !== undefined) continue;
    const codeHere = insideCode(code, end);
    if (ch === '\n') {
      let next = end;
      while (text[next] === '\n') next += 1;
      const paragraph = next - end >= 2;
      if (codeHere) inCode[0] ??= { end, next: end + 1 };
      else if (paragraph) outside[0] ??= { end, next };
      else outside[1] ??= { end, next };
    } else {
      let next = end;
      while (text[next] === ' ' || text[next] === '\t') next += 1;
      if (codeHere) inCode[1] ??= { end, next };
      else outside[2] ??= { end, next };
    }
    if (outside[0] !== undefined && outside[0].end >= halfFull) break;
    // Below half full the last break outside code found so far is the answer.
    if (end < halfFull && outside.some((cut) => cut !== undefined)) break;
  }
  for (const cut of outside) if (cut !== undefined && cut.end >= halfFull) return cut;
  const anyOutside = outside.filter((cut): cut is Cut => cut !== undefined).sort((a, b) => b.end - a.end)[0];
  if (anyOutside !== undefined) return anyOutside;
  for (const cut of inCode) if (cut !== undefined) return cut;
  return hardCut(text, from, limit, tokens);
}

function hardCut(text: string, from: number, limit: number, tokens: readonly TagToken[]): Cut {
  let end = Math.max(from + 1, Math.min(limit, text.length));
  const tag = insideTag(tokens, end);
  if (tag !== undefined && tag.start > from) end = tag.start;
  const code = text.charCodeAt(end - 1);
  if (end - 1 > from && code >= 0xd800 && code <= 0xdbff) end -= 1;
  return { end, next: end };
}
