// The text after a slash command (`command.params`, imbot.v2/events/events.md,
// ONIMBOTV2COMMANDADD: "Command parameters — text following the command")
// split into arguments much as a shell splits a command line:
//   /remind "team lead" 'in 5 min' now   →  ["team lead", "in 5 min", "now"]
// Quotes group words and are removed: "…", '…' and the typographic “…” «…» „…“
// that phone keyboards type. Chat text is not shell text, so:
//   - a quote groups only when its closing quote follows; an unclosed one is
//     an ordinary character ('"unclosed' stays as typed);
//   - an apostrophe inside a word is a letter ("don't" stays "don't"): single
//     and typographic quotes open only at the start of an argument;
//   - a backslash keeps the next character literal, except inside '…'.
// Nothing is expanded or evaluated.

const CLOSING_QUOTE: Readonly<Record<string, string>> = { '"': '"', "'": "'", '“': '”', '«': '»', '„': '“' };

export function parseCommandParams(params: string): string[] {
  const args: string[] = [];
  let current = '';
  let inArg = false;
  let i = 0;
  const push = (): void => {
    if (inArg) args.push(current);
    current = '';
    inArg = false;
  };
  while (i < params.length) {
    const ch = params[i] ?? '';
    if (/\s/.test(ch)) {
      push();
      i += 1;
      continue;
    }
    const closing = CLOSING_QUOTE[ch];
    const mayOpen = closing !== undefined && (ch === '"' || !inArg);
    const end = mayOpen ? closingQuoteAt(params, i + 1, closing, ch !== "'") : -1;
    inArg = true;
    if (end >= 0) {
      current += unescape(params.slice(i + 1, end), ch !== "'");
      i = end + 1;
      continue;
    }
    if (ch === '\\' && i + 1 < params.length) {
      current += params[i + 1] ?? '';
      i += 2;
      continue;
    }
    current += ch;
    i += 1;
  }
  push();
  return args;
}

function closingQuoteAt(text: string, from: number, quote: string, escapes: boolean): number {
  for (let j = from; j < text.length; j += 1) {
    if (escapes && text[j] === '\\') j += 1;
    else if (text[j] === quote) return j;
  }
  return -1;
}

function unescape(text: string, escapes: boolean): string {
  return escapes ? text.replace(/\\(.)/gs, '$1') : text;
}
