import { describe, expect, it } from 'vitest';
import { newId } from '../../src/shared/ids.js';

describe('newId', () => {
  it('is the prefix, then 20 base32 characters', () => {
    expect(newId('msg')).toMatch(/^msg_[0-9a-hjkmnp-tv-z]{20}$/);
  });

  it('sorts by creation time, across the whole range of a 10-character clock', () => {
    const times = [0, 1, 31, 32, 1_700_000_000_000, 1_700_000_000_001, 2 ** 49, 2 ** 50 - 1];
    const ids = times.map((t) => newId('x', t));
    expect([...ids].sort()).toEqual(ids);
    expect(newId('x', 0).slice(2, 12)).toBe('0000000000');
    expect(newId('x', 2 ** 50 - 1).slice(2, 12)).toBe('zzzzzzzzzz');
  });

  it('differs within one millisecond (50 random bits), and the random half is not constant', () => {
    const ids = Array.from({ length: 20_000 }, () => newId('x', 1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    const tails = new Set(ids.map((id) => id.slice(-10, -9)));
    expect(tails.size).toBe(32); // every character shows up in a random position
  });
});
