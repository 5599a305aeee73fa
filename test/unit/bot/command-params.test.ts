import { describe, expect, it } from 'vitest';
import { parseCommandParams } from '../../../functions/bot/command-params.js';

describe('parseCommandParams', () => {
  it.each<[string, string[]]>([
    ['', []],
    ['   ', []],
    ['topic', ['topic']],
    ['  a   b\tc\n d ', ['a', 'b', 'c', 'd']],
    ['"team lead" \'in 5 min\' now', ['team lead', 'in 5 min', 'now']],
    ['name="Ann Lee" x', ['name=Ann Lee', 'x']],
    ['"" empty', ['', 'empty']],
    ['say \\"hi\\" there', ['say', '"hi"', 'there']],
    ['"a \\" b"', ['a " b']],
    ["'no \\escape'", ['no \\escape']],
    ['“curly quotes” «ёлки палки»', ['curly quotes', 'ёлки палки']],
    ['"unclosed quote stays', ['"unclosed', 'quote', 'stays']],
    ["don't forget 'the milk'", ["don't", 'forget', 'the milk']],
    ['/path/to\\ file', ['/path/to file']],
  ])('%j → %j', (params, args) => {
    expect(parseCommandParams(params)).toEqual(args);
  });
});
