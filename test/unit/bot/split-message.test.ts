// splitMessage: replies longer than Bitrix24's 20,000 characters
// (imbot.v2/messages/chat-message-send.md: longer text is cut with " (...)").
import { describe, expect, it } from 'vitest';
import { MESSAGE_MAX_LENGTH, splitMessage } from '../../../functions/bot/split-message.js';

const words = (count: number, word = 'word'): string => Array.from({ length: count }, () => word).join(' ');
const nonSpace = (text: string): string => text.replace(/\s+/g, '');
const balanced = (part: string, tag: string): boolean =>
  (part.match(new RegExp(`\\[${tag}[\\]=]`, 'gi')) ?? []).length === (part.match(new RegExp(`\\[/${tag}\\]`, 'gi')) ?? []).length;

describe('splitMessage', () => {
  it('returns a text that fits as its only part, unchanged, up to exactly 20,000 characters', () => {
    const text = 'x'.repeat(MESSAGE_MAX_LENGTH);
    expect(splitMessage(text)).toEqual([text]);
    expect(splitMessage('hi')).toEqual(['hi']);
  });

  it('splits 20,001 characters into parts of at most 20,000 that keep every character in order', () => {
    const paragraph = words(400); // 1999 characters
    const text = Array.from({ length: 11 }, () => paragraph).join('\n\n').slice(0, MESSAGE_MAX_LENGTH + 1);
    const parts = splitMessage(text);
    expect(parts.length).toBe(2);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(MESSAGE_MAX_LENGTH);
    expect(nonSpace(parts.join(''))).toBe(nonSpace(text));
  });

  it('prefers a paragraph break, then a line break, then a space', () => {
    const maxLength = 100;
    const paragraphs = `${'a'.repeat(60)}\n${'b'.repeat(10)}\n\n${'c'.repeat(60)}`;
    expect(splitMessage(paragraphs, { maxLength })).toEqual([`${'a'.repeat(60)}\n${'b'.repeat(10)}`, 'c'.repeat(60)]);
    const lines = `${'a'.repeat(60)} ${'b'.repeat(10)}\n${'c'.repeat(60)}`;
    expect(splitMessage(lines, { maxLength })).toEqual([`${'a'.repeat(60)} ${'b'.repeat(10)}`, 'c'.repeat(60)]);
    const spaces = `${'a'.repeat(60)} ${'b'.repeat(60)}`;
    expect(splitMessage(spaces, { maxLength })).toEqual(['a'.repeat(60), 'b'.repeat(60)]);
  });

  it('does not take a break that would leave the part less than half full when a lesser break fills it', () => {
    const text = `${'a'.repeat(10)}\n\n${words(30, 'bbb')}`; // paragraph at 10 of a 100 window
    const parts = splitMessage(text, { maxLength: 100 });
    expect(parts[0]?.length).toBeGreaterThan(50);
    expect(nonSpace(parts.join(''))).toBe(nonSpace(text));
  });

  it('cuts a text without any break hard, never between the halves of a surrogate pair', () => {
    const text = `a${'🎉'.repeat(100)}`; // 201 code units, pairs start at odd indexes
    const parts = splitMessage(text, { maxLength: 100 });
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(100);
      expect(part).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
    expect(parts.join('')).toBe(text);
  });

  it('does not split inside a [code] block when a break outside it exists', () => {
    const code = `[code]${Array.from({ length: 8 }, (_, n) => `line ${n}`).join('\n')}[/code]`; // 76 chars
    const text = `${words(10, 'intro')}\n\n${code}\n\n${words(10, 'outro')}`;
    const parts = splitMessage(text, { maxLength: 100 });
    expect(parts).toContain(code);
  });

  it('closes and reopens [code] when a block longer than a message must be split, at a line break', () => {
    const lines = Array.from({ length: 40 }, (_, n) => `const value${n} = ${n};`);
    const text = `[code]${lines.join('\n')}[/code]`;
    const parts = splitMessage(text, { maxLength: 200 });
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(200);
      expect(part.startsWith('[code]')).toBe(true);
      expect(part.endsWith('[/code]')).toBe(true);
    }
    const joined = parts.map((part) => part.slice('[code]'.length, -'[/code]'.length)).join('\n');
    expect(joined).toBe(lines.join('\n'));
  });

  it('closes and reopens formatting tags, with their parameters, around a split', () => {
    const text = `[b]${words(30)}[/b] [url=https://example.com]${words(30, 'link')}[/url]`;
    const parts = splitMessage(text, { maxLength: 100 });
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(100);
      expect(balanced(part, 'b')).toBe(true);
      expect(balanced(part, 'url')).toBe(true);
    }
    expect(parts.some((part) => part.startsWith('[url=https://example.com]link'))).toBe(true);
  });

  it('never cuts through a tag such as [url=…]', () => {
    const text = `${'x'.repeat(90)}[url=https://example.com/some/long/path]y[/url]`;
    const parts = splitMessage(text, { maxLength: 100 });
    expect(parts[0]).toBe('x'.repeat(90));
    expect(parts[1]).toBe('[url=https://example.com/some/long/path]y[/url]');
  });

  it('keeps order and content over many parts of a 100,000-character reply', () => {
    const text = Array.from({ length: 500 }, (_, n) => `Paragraph ${n}: ${words(30, `w${n}`)}`).join('\n\n');
    const parts = splitMessage(text);
    expect(parts.length).toBeGreaterThan(Math.ceil(text.length / MESSAGE_MAX_LENGTH) - 1);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(MESSAGE_MAX_LENGTH);
    expect(parts.join('\n\n')).toBe(text);
  });

  it('refuses a maxLength too small to reopen tags', () => {
    expect(() => splitMessage('x', { maxLength: 10 })).toThrow(/at least 64/);
  });
});
