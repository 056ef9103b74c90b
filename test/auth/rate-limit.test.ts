import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, uniqueName } from '../helpers/test-app.js';

const PASSWORD = 'correct horse battery';

for (const backend of await availableBackends()) {
  describe(`auth rate limit (${backend})`, () => {
    let t: TestApp;
    let username: string;
    beforeAll(async () => {
      t = await startTestApp(backend, { AUTH_RATE_LIMIT: '3' });
      // Created through the service so the setup does not spend the address's allowance.
      username = uniqueName('limited');
      await t.sb.users.create({ username, password: PASSWORD });
    });
    afterAll(() => t.close());

    it('answers 429 RATE_LIMITED with retry-after on the 4th attempt within a minute', async () => {
      for (let i = 0; i < 3; i++) {
        const r = await t.api('POST', '/v1/auth/login', { body: { username, password: PASSWORD } });
        expect(r.status, `attempt ${i + 1}`).toBe(200);
      }
      const limited = await t.api('POST', '/v1/auth/login', { body: { username, password: PASSWORD } });
      expect(limited.status).toBe(429);
      expect(limited.body.success).toBe(false);
      expect(limited.body.error.code).toBe('RATE_LIMITED');
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect((limited.body.error.details as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);

      // The limit applies to every credential route from the same address, before any work is done.
      const register = await t.api('POST', '/v1/auth/register', {
        body: { username: uniqueName('late'), password: PASSWORD },
      });
      expect(register.status).toBe(429);
      const wrong = await t.api('POST', '/v1/auth/login', { body: { username, password: 'wrong password' } });
      expect(wrong.status).toBe(429);
      const refresh = await t.api('POST', '/v1/auth/refresh', { body: { refreshToken: 'sbr_x' } });
      expect(refresh.status).toBe(429);
    });

    it('does not limit authenticated API calls', async () => {
      const user = await t.sb.users.getByUsername(username);
      const token = await t.sb.auth.tokenFor(user);
      for (let i = 0; i < 5; i++) {
        const r = await t.api('GET', '/v1/users/me', { token });
        expect(r.status).toBe(200);
      }
    });
  });
}
