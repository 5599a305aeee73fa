import { describe, expect, it } from 'vitest';
import { boolParam, intParam, parseParams, stringParam } from '../../../functions/simulator/params.js';

describe('request parameters', () => {
  it('overlays JSON or form bodies on the query string and nests a[b] keys', () => {
    const json = parseParams('limit=5&offset=1', '{"offset":7}', 'application/json');
    expect(json).toEqual({ ok: true, params: { limit: '5', offset: 7 } });
    const form = parseParams('', 'fields%5Bmessage%5D=hi&DIALOG_ID=chat5', 'application/x-www-form-urlencoded');
    expect(form).toEqual({ ok: true, params: { fields: { message: 'hi' }, DIALOG_ID: 'chat5' } });
    expect(parseParams('', '{"broken', 'application/json')).toEqual({ ok: false });
    expect(parseParams('', '[1,2]', 'application/json')).toEqual({ ok: false });
  });

  it('reads keys without regard to case or underscores, integers strictly', () => {
    const params = { BOT_ID: '17', limit: 2.5, offset: '-3', withUserEvents: 'Y', dialogId: 42 };
    expect(intParam(params, 'botId')).toBe(17);
    expect(intParam(params, 'limit')).toBe('invalid');
    expect(intParam(params, 'offset')).toBe(-3);
    expect(intParam(params, 'missing')).toBeUndefined();
    expect(boolParam(params, 'withUserEvents')).toBe(true);
    expect(boolParam({ withUserEvents: 'N' }, 'withUserEvents')).toBe(false);
    expect(stringParam(params, 'DIALOG_ID')).toBe('42');
  });
});
