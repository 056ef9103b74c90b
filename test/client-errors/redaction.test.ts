import { describe, expect, it } from 'vitest';
import { REDACTED, redactText, redactValue } from '../../src/client-errors/redaction.js';

describe('client error redaction', () => {
  it('replaces the values of credential-named keys at any depth, keeping the rest', () => {
    const out = redactValue({
      route: '/rooms',
      token: 'abc',
      accessToken: 'abc',
      Password: 'hunter2',
      headers: { Authorization: 'Bearer abc', 'x-api-key': 'k', Cookie: 'sid=1', accept: 'json' },
      list: [{ refresh_token: 'r', n: 1 }, 'plain'],
      author: 'alice',
      count: 3,
      ok: true,
      nothing: null,
    });
    expect(out).toEqual({
      route: '/rooms',
      token: REDACTED,
      accessToken: REDACTED,
      Password: REDACTED,
      headers: { Authorization: REDACTED, 'x-api-key': REDACTED, Cookie: REDACTED, accept: 'json' },
      list: [{ refresh_token: REDACTED, n: 1 }, 'plain'],
      author: 'alice',
      count: 3,
      ok: true,
      nothing: null,
    });
  });

  it('redacts bearer tokens, JWTs and credential query parameters inside text', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJl';
    expect(redactText(`fetch failed with Authorization: Bearer ${jwt}`)).toBe(
      `fetch failed with Authorization: Bearer ${REDACTED}`,
    );
    expect(redactText(`at decode (${jwt})`)).toBe(`at decode (${REDACTED})`);
    expect(redactText('https://x.test/ws?token=abc&room=r1#access_token=zz')).toBe(
      `https://x.test/ws?token=${REDACTED}&room=r1#access_token=${REDACTED}`,
    );
    expect(redactText('https://x.test/a?page=2')).toBe('https://x.test/a?page=2');
  });

  it('keeps a __proto__ key as data and cuts off deep nesting', () => {
    const out = redactValue(JSON.parse('{"__proto__":{"password":"x"},"a":1}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(JSON.stringify(out)).toBe(`{"__proto__":{"password":"${REDACTED}"},"a":1}`);

    let deep: unknown = 'leaf';
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(JSON.stringify(redactValue(deep))).toContain('[TRUNCATED]');
  });
});
