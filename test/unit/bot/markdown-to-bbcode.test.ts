// markdownToBbCode: Markdown as models write it → the BB-codes of
// api-reference/chat-bots/chat-bots-v2/imbot.v2/messages/message-formatting.md.
import { describe, expect, it } from 'vitest';
import { BB_CODE_BREAKER, markdownToBbCode, neutralizeBbCode } from '../../../functions/bot/markdown-to-bbcode.js';

const visible = (text: string): string => text.replaceAll(BB_CODE_BREAKER, '');

describe('markdownToBbCode: inline formatting', () => {
  it.each([
    ['**bold**', '[b]bold[/b]'],
    ['__bold__', '[b]bold[/b]'],
    ['*italic*', '[i]italic[/i]'],
    ['_italic_', '[i]italic[/i]'],
    ['***both***', '[b][i]both[/i][/b]'],
    ['~~gone~~', '[s]gone[/s]'],
    ['`npm test`', '[code]npm test[/code]'],
    ['``a ` b``', '[code]a ` b[/code]'],
    ['**bold with *italic* inside**', '[b]bold with [i]italic[/i] inside[/b]'],
  ])('%s → %s', (markdown, bbCode) => {
    expect(markdownToBbCode(markdown)).toBe(bbCode);
  });

  it('keeps what is not emphasis: snake_case, a lone star, "~5 min", unmatched delimiters', () => {
    const text = 'snake_case_name, 5 * 3, ~5 min, **not closed, _open';
    expect(markdownToBbCode(text)).toBe(text);
  });

  it('turns backslash escapes into the character and does not format them', () => {
    expect(markdownToBbCode('\\*not italic\\* and \\_x\\_')).toBe('*not italic* and _x_');
  });

  it('does not format inside code spans', () => {
    expect(markdownToBbCode('`**x**` and **y**')).toBe('[code]**x**[/code] and [b]y[/b]');
  });
});

describe('markdownToBbCode: links', () => {
  it('turns [text](url "title") into [url=url]text[/url], with parentheses in the URL', () => {
    expect(markdownToBbCode('see [the docs](https://example.com/a_(b)?q=1 "Docs")!')).toBe('see [url=https://example.com/a_(b)?q=1]the docs[/url]!');
  });

  it('formats the label and links autolinks and images', () => {
    expect(markdownToBbCode('[**Bold** link](https://a.b) <https://x.y/z> ![chart](https://i.example/c.png)')).toBe(
      '[url=https://a.b][b]Bold[/b] link[/url] [url]https://x.y/z[/url] [url=https://i.example/c.png]chart[/url]',
    );
  });

  it('percent-encodes "]", "[" and spaces so the URL cannot end the tag early', () => {
    expect(markdownToBbCode('[x](<https://a.b/c d]e>)')).toBe('[url=https://a.b/c%20d%5De]x[/url]');
  });

  it('leaves a bracket that is not a link as text', () => {
    expect(markdownToBbCode('[draft] (later)')).toBe('[draft] (later)');
  });
});

describe('markdownToBbCode: blocks', () => {
  it('turns headings of every level (ATX and setext) into bold lines', () => {
    expect(markdownToBbCode('# One\n### Three ###\nSetext\n===\nTwo\n---')).toBe('[b]One[/b]\n[b]Three[/b]\n[b]Setext[/b]\n[b]Two[/b]');
  });

  it('turns lists into bullets and numbers, nested levels indented by 4 spaces (tabulation)', () => {
    const markdown = ['- one', '- two', '  - nested **b**', '    - deeper', '- back', '', '1. first', '2) second', '- [ ] todo', '- [x] done'].join('\n');
    expect(markdownToBbCode(markdown)).toBe(
      ['• one', '• two', '    • nested [b]b[/b]', '        • deeper', '• back', '', '1. first', '2. second', '• ☐ todo', '• ☑ done'].join('\n'),
    );
  });

  it('turns quotes into ">>" lines, nested quotes flattened into the one level Bitrix24 has', () => {
    expect(markdownToBbCode('> quoted *it*\n> > deeper\nafter')).toBe('>>quoted [i]it[/i]\n>>deeper\nafter');
  });

  it('keeps fenced code verbatim in [code] and neutralises only a "[/code]" inside it', () => {
    const markdown = ['```ts', 'const a = [b]1[/b]; // **not bold**', '[/code] still code', '```', 'after'].join('\n');
    const result = markdownToBbCode(markdown);
    expect(result).toBe(`[code]const a = [b]1[/b]; // **not bold**\n[${BB_CODE_BREAKER}/code] still code[/code]\nafter`);
    expect(visible(result)).toContain('[/code] still code');
  });

  it('runs an unclosed fence to the end, as CommonMark does', () => {
    expect(markdownToBbCode('```\nline 1\nline 2')).toBe('[code]line 1\nline 2[/code]');
  });

  it('turns a rule into a line of box-drawing dashes (never "------", which starts a full quote)', () => {
    expect(markdownToBbCode('a\n\n---\n\nb')).toBe('a\n\n──────────\n\nb');
  });

  it('keeps line breaks, blank lines and tables as they are', () => {
    const markdown = 'line 1\nline 2\n\n| a | b |\n|---|---|\n| 1 | 2 |';
    expect(markdownToBbCode(markdown)).toBe(markdown);
  });
});

describe('markdownToBbCode: BB-codes in the text', () => {
  it('neutralises literal BB-codes so a quoted "[send=/delete]" never becomes a button, and shows them unchanged', () => {
    const markdown = 'He wrote [b]hi[/b], [send=/delete]click[/send] and [USER=1]Boss[/USER].';
    const result = markdownToBbCode(markdown);
    expect(result).not.toMatch(/\[\/?(b|send|user)[\]=]/i);
    expect(visible(result)).toBe(markdown);
  });

  it('catches a tag assembled from pieces the parser handled separately', () => {
    expect(markdownToBbCode('[\\b]x')).not.toContain('[b]');
  });

  it('passes BB-codes through with keepBbCode', () => {
    expect(markdownToBbCode('**hi** [user=5]Ann[/user]', { keepBbCode: true })).toBe('[b]hi[/b] [user=5]Ann[/user]');
  });

  it('leaves brackets that are not tags alone', () => {
    expect(neutralizeBbCode('[1] [bold] [bo] [x]')).toBe('[1] [bold] [bo] [x]');
  });

  it('never loses text: the visible characters of plain text survive', () => {
    const markdown = 'Price: 5 < 6 > 4, 50% [done], path C:\\temp\\x, emoji 🎉, "quotes" & ampersands';
    expect(visible(markdownToBbCode(markdown))).toBe(markdown);
  });
});
