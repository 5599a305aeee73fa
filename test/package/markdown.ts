// Fenced code blocks of the documentation, for the tests that check the docs
// show working code (the README's CDK app, the snippets marked to compile).

export interface CodeBlock {
  /** Info string after the opening fence, e.g. `ts`. */
  readonly lang: string;
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The nearest non-empty line above the fence, e.g. `<!-- snippet: compile -->`. */
  readonly before: string;
}

/** Every fenced (```) block of a Markdown text. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? '');
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && !/^```\s*$/.test(lines[i] ?? ''); i += 1) body.push(lines[i] ?? '');
    let before = '';
    for (let j = start - 1; j >= 0 && before === ''; j -= 1) before = (lines[j] ?? '').trim();
    blocks.push({ lang: open[1] ?? '', code: body.join('\n'), line: start + 1, before });
  }
  return blocks;
}

/** The blocks under the heading whose text is `title`, up to the next heading of the same or a higher level. */
export function codeBlocksOfSection(markdown: string, title: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^#{1,6} /.test(line) && line.replace(/^#+ /, '').trim() === title);
  if (start === -1) return [];
  const level = /^#+/.exec(lines[start] ?? '')?.[0].length ?? 1;
  let end = lines.length;
  let inFence = false;
  for (let i = start + 1; i < lines.length; i += 1) {
    if (/^```/.test(lines[i] ?? '')) inFence = !inFence;
    const heading = inFence ? null : /^(#{1,6}) /.exec(lines[i] ?? '');
    if (heading !== null && (heading[1]?.length ?? 7) <= level) {
      end = i;
      break;
    }
  }
  const offset = start;
  return codeBlocks(lines.slice(start, end).join('\n')).map((block) => ({ ...block, line: block.line + offset }));
}

/** The marker that asks the snippet test to typecheck the next ```ts block. */
export const COMPILE_MARKER = '<!-- snippet: compile -->';
