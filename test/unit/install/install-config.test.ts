// Config `install` is as strict as the rest of the pipeline config: unknown keys
// get a did-you-mean, an enabled endpoint must add something to poll.
import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../../functions/shared/config.js';

const base = { sources: [{ id: 'support', kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook' }] };

describe('config install', () => {
  it('is optional and off by default; enabled with a bot code it parses with defaults', () => {
    expect(parsePipelineConfig(base).install).toBeUndefined();
    expect(parsePipelineConfig({ ...base, install: { enabled: true, botCode: 'support_bot' } }).install).toEqual({ enabled: true, botCode: 'support_bot', subscribeUserEvents: false });
  });

  it('rejects a typo with a did-you-mean, and an enabled endpoint with nothing to poll', () => {
    expect(() => parsePipelineConfig({ ...base, install: { enabled: true, botcode: 'x' } })).toThrow(/install\.botcode: unknown key; did you mean "botCode"\?/);
    expect(() => parsePipelineConfig({ ...base, install: { enabled: true } })).toThrow(/needs botCode and\/or subscribeUserEvents/);
    expect(() => parsePipelineConfig({ ...base, install: { enabled: true, botCode: 'bad code!' } })).toThrow(/install\.botCode/);
  });
});
