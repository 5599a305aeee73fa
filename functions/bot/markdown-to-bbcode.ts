// Markdown (as language models write it) → the BB-codes the Bitrix24
// messenger renders. The messenger does not render Markdown at all
// (api-reference/chat-bots/chat-bots-v2/imbot.v2/messages/message-formatting.md:
// "At this time, Markdown is not supported"); what it does render, per that page:
//   [b] [i] [u] [s]            text formatting
//   [url]…[/url], [url=URL]…   links
//   >>text                     a quote line (at the beginning of the line)
//   [code]…[/code]             code
//   4 spaces                   tabulation; "\n" or [br] a line break
// Mapping:
//   **bold** __bold__          → [b]bold[/b]
//   *italic* _italic_          → [i]italic[/i]
//   ~~strike~~                 → [s]strike[/s]
//   `code`                     → [code]code[/code] (the page has no inline code tag)
//   ```lang … ```              → [code]…[/code] (contents verbatim)
//   [text](url), <url>         → [url=url]text[/url], [url]url[/url]
//   ![alt](url)                → [url=url]alt[/url] (an [img] needs a size the model does not give)
//   # Heading (any level)      → [b]Heading[/b]
//   > quote                    → >>quote
//   - item / 1. item           → • item / 1. item, nested levels indented by 4 spaces
//   - [ ] / - [x] task         → ☐ / ☑
//   --- (rule)                 → ──────────
// Invariants:
//   - Never lose text: whatever is not recognised stays as it was (tables,
//     HTML, reference links, unmatched delimiters). Line breaks are kept as
//     they are (a chat message is not a reflowed document).
//   - Text cannot smuggle BB-codes in: a literal "[b]", "[send=/x]", "[user=1]"…
//     in the Markdown (say, quoted from a user) is neutralised with a zero-width
//     space after "[" so it shows as typed instead of becoming a tag or a button.
//     Same for ">>" at the start of a line that is not a quote. `keepBbCode: true`
//     turns this off for agents that write BB-codes on purpose.
//   - Inside code only "[/code]" is neutralised (it would end the block early).

/** U+200B: invisible, keeps "[b]" from being read as a tag while the text shows unchanged. */
export const BB_CODE_BREAKER = '\u200B';

export interface MarkdownToBbCodeOptions {
  /** Let BB-codes written in the Markdown through as tags. @default false (they are shown as text) */
  readonly keepBbCode?: boolean;
}

/** Tags of message-formatting.md (plus `quote`, which older clients render), matched case-insensitively. */
const BB_TAG_NAMES = 'b|i|u|s|size|color|url|user|chat|context|code|quote|img|icon|put|send|call|timestamp|disk|br';
const BB_TAG_START = new RegExp(`\\[(?=/?(?:${BB_TAG_NAMES})(?:[\\]=\\s]))`, 'gi');
const CODE_CLOSE = /\[(?=\/code\])/gi;
const RULE = '──────────';

/** Makes literal text safe: no BB-code tag inside it can be read as one. */
export function neutralizeBbCode(text: string): string {
  return text.replace(BB_TAG_START, `[${BB_CODE_BREAKER}`);
}

function neutralizeCode(code: string): string {
  return code.replace(CODE_CLOSE, `[${BB_CODE_BREAKER}`);
}

export function markdownToBbCode(markdown: string, options: MarkdownToBbCodeOptions = {}): string {
  const literal = options.keepBbCode === true ? (text: string) => text : neutralizeBbCode;
  return convertBlocks(markdown.replace(/\r\n?/g, '\n').split('\n'), literal).join('\n');
}

type Literal = (text: string) => string;

const FENCE_OPEN = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
const THEMATIC_BREAK = /^ {0,3}((?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const QUOTE_LINE = /^ {0,3}>[ \t]?(.*)$/;
const LIST_ITEM = /^([ \t]*)([-*+]|\d{1,9}[.)])[ \t]+(.*)$/;
const TASK = /^\[([ xX])\][ \t]+(.*)$/;

function convertBlocks(lines: readonly string[], literal: Literal): string[] {
  const out: string[] = [];
  const listIndents: number[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    const fence = FENCE_OPEN.exec(line);
    if (fence !== null && !(fence[2]?.startsWith('`') === true && (fence[3] ?? '').includes('`'))) {
      const [, indent = '', marker = ''] = fence;
      const body: string[] = [];
      i += 1;
      while (i < lines.length && !isFenceClose(lines[i] ?? '', marker)) {
        body.push(stripIndent(lines[i] ?? '', indent.length));
        i += 1;
      }
      i += 1; // the closing fence (or the end: an unclosed fence runs to the end, as in CommonMark)
      out.push(`[code]${neutralizeCode(body.join('\n'))}[/code]`);
      listIndents.length = 0;
      continue;
    }
    const heading = ATX_HEADING.exec(line);
    if (heading !== null) {
      const text = heading[2] ?? '';
      out.push(text === '' ? '' : `[b]${convertInline(text, literal)}[/b]`);
      i += 1;
      continue;
    }
    const next = lines[i + 1];
    if (line.trim() !== '' && next !== undefined && SETEXT_UNDERLINE.test(next) && isParagraphLine(line)) {
      out.push(`[b]${convertInline(line.trim(), literal)}[/b]`);
      i += 2;
      continue;
    }
    if (THEMATIC_BREAK.test(line)) {
      out.push(RULE);
      i += 1;
      continue;
    }
    if (QUOTE_LINE.test(line)) {
      const inner: string[] = [];
      while (i < lines.length) {
        const quoted = QUOTE_LINE.exec(lines[i] ?? '');
        if (quoted === null) break;
        inner.push(quoted[1] ?? '');
        i += 1;
      }
      // Bitrix24 has one level of quote: nested Markdown quotes flatten into it.
      for (const converted of convertBlocks(inner, literal)) out.push(`>>${converted.replace(/^(?:>>)+/, '')}`);
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item !== null) {
      const [, indentText = '', marker = '', rest = ''] = item;
      const indent = indentText.replace(/\t/g, '    ').length;
      while (listIndents.length > 0 && indent < (listIndents[listIndents.length - 1] ?? 0)) listIndents.pop();
      if (listIndents.length === 0 || indent > (listIndents[listIndents.length - 1] ?? 0)) listIndents.push(indent);
      const level = listIndents.length - 1;
      const task = TASK.exec(rest);
      const bullet = /\d/.test(marker) ? `${marker.slice(0, -1)}.` : '•';
      const text = task === null ? convertInline(rest, literal) : `${task[1] === ' ' ? '☐' : '☑'} ${convertInline(task[2] ?? '', literal)}`;
      out.push(`${'    '.repeat(level)}${bullet} ${text}`);
      i += 1;
      continue;
    }
    if (line.trim() === '') listIndents.length = 0;
    out.push(escapeQuoteMarker(convertInline(line, literal), literal));
    i += 1;
  }
  return out;
}

function isFenceClose(line: string, marker: string): boolean {
  const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line);
  return close !== null && close[1]?.[0] === marker[0] && (close[1]?.length ?? 0) >= marker.length;
}

function stripIndent(line: string, width: number): string {
  let n = 0;
  while (n < width && line[n] === ' ') n += 1;
  return line.slice(n);
}

function isParagraphLine(line: string): boolean {
  return !LIST_ITEM.test(line) && !QUOTE_LINE.test(line) && !FENCE_OPEN.test(line) && !THEMATIC_BREAK.test(line);
}

/** A paragraph line that starts with ">>" would render as a quote: break the marker. */
function escapeQuoteMarker(converted: string, literal: Literal): string {
  if (literal === neutralizeBbCode && converted.startsWith('>>')) return `>${BB_CODE_BREAKER}${converted.slice(1)}`;
  return converted;
}

const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;
const WORD_CHAR = /[\p{L}\p{N}]/u;

/** Inline Markdown → BB-code. Literal runs are collected and passed through `literal` once, so a tag split over several tokens is still caught. */
function convertInline(text: string, literal: Literal): string {
  let out = '';
  let plain = '';
  const flush = (): void => {
    out += literal(plain);
    plain = '';
  };
  const emit = (bb: string): void => {
    flush();
    out += bb;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === '\\' && i + 1 < text.length && ASCII_PUNCTUATION.test(text[i + 1] ?? '')) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '`') {
      const span = codeSpanAt(text, i);
      if (span !== undefined) {
        emit(`[code]${neutralizeCode(span.code)}[/code]`);
        i = span.end;
        continue;
      }
      const run = runLength(text, i, '`');
      plain += text.slice(i, i + run);
      i += run;
      continue;
    }
    if (c === '<') {
      const auto = /^<((?:https?|ftp|mailto|tel):[^\s<>]+)>/i.exec(text.slice(i));
      if (auto !== null) {
        emit(`[url]${safeUrl(auto[1] ?? '')}[/url]`);
        i += auto[0].length;
        continue;
      }
    }
    if (c === '[' || (c === '!' && text[i + 1] === '[')) {
      const link = linkAt(text, c === '!' ? i + 1 : i);
      if (link !== undefined) {
        const label = link.label === '' ? '' : convertInline(link.label, literal);
        emit(label === '' ? `[url]${safeUrl(link.url)}[/url]` : `[url=${safeUrl(link.url)}]${label}[/url]`);
        i = link.end;
        continue;
      }
    }
    if (c === '*' || c === '_' || c === '~') {
      const emphasis = emphasisAt(text, i);
      if (emphasis !== undefined) {
        const inner = convertInline(emphasis.inner, literal);
        emit(emphasis.open + inner + emphasis.close);
        i = emphasis.end;
        continue;
      }
      const run = runLength(text, i, c);
      plain += text.slice(i, i + run);
      i += run;
      continue;
    }
    plain += c;
    i += 1;
  }
  flush();
  return out;
}

function runLength(text: string, at: number, char: string): number {
  let n = 0;
  while (text[at + n] === char) n += 1;
  return n;
}

/** A code span: a backtick run closed by a run of the same length. */
function codeSpanAt(text: string, at: number): { code: string; end: number } | undefined {
  const run = runLength(text, at, '`');
  let search = at + run;
  while (search < text.length) {
    const next = text.indexOf('`', search);
    if (next < 0) return undefined;
    const closeRun = runLength(text, next, '`');
    if (closeRun === run) {
      let code = text.slice(at + run, next);
      if (code.length >= 2 && code.startsWith(' ') && code.endsWith(' ') && code.trim() !== '') code = code.slice(1, -1);
      return { code, end: next + closeRun };
    }
    search = next + closeRun;
  }
  return undefined;
}

/** `[label](url "title")` starting at the "[" at `at`; the title is dropped (the messenger has no place for it). */
function linkAt(text: string, at: number): { label: string; url: string; end: number } | undefined {
  let depth = 0;
  let close = -1;
  for (let j = at; j < text.length; j += 1) {
    const ch = text[j];
    if (ch === '\\') {
      j += 1;
      continue;
    }
    if (ch === '`') {
      const span = codeSpanAt(text, j);
      if (span !== undefined) j = span.end - 1;
      continue;
    }
    if (ch === '[') depth += 1;
    else if (ch === ']') {
      depth -= 1;
      if (depth === 0) {
        close = j;
        break;
      }
    }
  }
  if (close < 0 || text[close + 1] !== '(') return undefined;
  const target = /^\(\s*(<[^<>\n]*>|(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))*)(?:\s+("[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/.exec(text.slice(close + 1));
  if (target === null) return undefined;
  let url = target[1] ?? '';
  if (url.startsWith('<')) url = url.slice(1, -1);
  url = url.replace(/\\([!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~])/g, '$1');
  if (url === '') return undefined;
  return { label: text.slice(at + 1, close), url, end: close + 1 + target[0].length };
}

/** A URL inside `[url=…]` must not hold "]" or spaces (they end the tag) nor "[" (it could open one). */
function safeUrl(url: string): string {
  return url.replace(/[[\]\s]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

const EMPHASIS_TAGS: Readonly<Record<string, readonly [string, string]>> = {
  '*1': ['[i]', '[/i]'],
  '*2': ['[b]', '[/b]'],
  '*3': ['[b][i]', '[/i][/b]'],
  _1: ['[i]', '[/i]'],
  _2: ['[b]', '[/b]'],
  _3: ['[b][i]', '[/i][/b]'],
  '~2': ['[s]', '[/s]'],
};

/**
 * Emphasis opened by the delimiter run at `at`, closed by the next run of the
 * same character and length that can close (CommonMark's flanking rules,
 * simplified: an opener is followed by a non-space, a closer preceded by one;
 * "_" does not work inside a word, so snake_case_names stay as they are).
 */
function emphasisAt(text: string, at: number): { open: string; close: string; inner: string; end: number } | undefined {
  const char = text[at] ?? '';
  const run = runLength(text, at, char);
  const tags = EMPHASIS_TAGS[`${char}${run}`];
  if (tags === undefined) return undefined;
  const after = text[at + run] ?? '';
  const before = text[at - 1] ?? '';
  if (after === '' || /\s/.test(after)) return undefined;
  if (char === '_' && WORD_CHAR.test(before)) return undefined;
  let j = at + run;
  while (j < text.length) {
    const ch = text[j] ?? '';
    if (ch === '\\') {
      j += 2;
      continue;
    }
    if (ch === '`') {
      const span = codeSpanAt(text, j);
      if (span !== undefined) {
        j = span.end;
        continue;
      }
    }
    if (ch === char) {
      const closeRun = runLength(text, j, char);
      const prev = text[j - 1] ?? '';
      const next = text[j + closeRun] ?? '';
      const canClose = !/\s/.test(prev) && !(char === '_' && WORD_CHAR.test(next));
      if (closeRun === run && canClose && j > at + run) {
        return { open: tags[0], close: tags[1], inner: text.slice(at + run, j), end: j + closeRun };
      }
      j += closeRun;
      continue;
    }
    j += 1;
  }
  return undefined;
}
