// The seed rule shared by every token store: only a seed the stored chain has never seen replaces it.
import { describe, expect, it } from 'vitest';
import { seedReplacesChain, seedVersionOf } from '../../../functions/bitrix24/index.js';

const version = (refreshToken: string) => seedVersionOf({ accessToken: '', refreshToken, expiresAt: 0 });

describe('seedReplacesChain', () => {
  it('a never-seen seed replaces the chain (a human re-authorised the app)', () => {
    expect(seedReplacesChain(version('new'), { current: version('old'), seen: [version('old')] })).toBe(true);
  });

  it('the seed the chain descends from, or one replaced earlier, does not (a warm process with an old secret)', () => {
    const lineage = { current: version('two'), seen: [version('one'), version('two')] };
    expect(seedReplacesChain(version('two'), lineage)).toBe(false);
    expect(seedReplacesChain(version('one'), lineage)).toBe(false);
  });

  it('a chain of unknown lineage is kept', () => {
    expect(seedReplacesChain(version('any'), { current: undefined, seen: [] })).toBe(false);
  });

  it('versions are hashes, never the token', () => {
    expect(version('secret-refresh')).toMatch(/^[0-9a-f]{64}$/);
    expect(version('secret-refresh')).not.toContain('secret-refresh');
  });
});
