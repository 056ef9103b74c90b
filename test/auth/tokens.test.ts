import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';

/** The JWT_SECRET startTestApp configures. */
const TEST_SECRET = 'test-secret-test-secret-test-secret-0123';

interface SignOpts {
  secret?: string;
  sub: string;
  name: string;
  adm?: boolean;
  iss?: string;
  aud?: string;
  /** Seconds since epoch. */
  exp?: number;
  iat?: number;
}

/** A token built outside the server, so claims and key can be chosen freely. */
function sign(o: SignOpts): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ name: o.name, adm: o.adm ?? false })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(o.sub)
    .setIssuer(o.iss ?? 'switchboard')
    .setAudience(o.aud ?? 'switchboard')
    .setIssuedAt(o.iat ?? now)
    .setExpirationTime(o.exp ?? now + 600)
    .sign(new TextEncoder().encode(o.secret ?? TEST_SECRET));
}

for (const backend of await availableBackends()) {
  describe(`refresh tokens (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    const refresh = (refreshToken: string) => t.api('POST', '/v1/auth/refresh', { body: { refreshToken } });

    it('rotates: the new pair works and differs from the old one', async () => {
      const u = await t.newUser();
      const r = await refresh(u.refreshToken);
      expect(r.status).toBe(200);
      expect(r.body.success).toBe(true);
      expect(r.body.data.user.userId).toBe(u.userId);
      expect(r.body.data.tokenType).toBe('Bearer');
      expect(r.body.data.refreshToken).toMatch(/^sbr_/);
      expect(r.body.data.refreshToken).not.toBe(u.refreshToken);

      const me = await t.api('GET', '/v1/users/me', { token: r.body.data.accessToken });
      expect(me.status).toBe(200);
      expect(me.body.data.userId).toBe(u.userId);

      // The rotated token can itself be rotated.
      const again = await refresh(r.body.data.refreshToken);
      expect(again.status).toBe(200);
      expect(again.body.data.user.userId).toBe(u.userId);
    });

    it('reusing a rotated token answers 401 and revokes the newer token of the same family', async () => {
      const u = await t.newUser();
      const first = await refresh(u.refreshToken);
      expect(first.status).toBe(200);
      const newer = first.body.data.refreshToken as string;

      const replay = await refresh(u.refreshToken);
      expect(replay.status).toBe(401);
      expect(replay.body.success).toBe(false);
      expect(replay.body.error.code).toBe('INVALID_TOKEN');

      const stolen = await refresh(newer);
      expect(stolen.status).toBe(401);
      expect(stolen.body.error.code).toBe('INVALID_TOKEN');
    });

    it('reuse revokes only that family, not the user’s other logins', async () => {
      const u = await t.newUser();
      const login = await t.api('POST', '/v1/auth/login', {
        body: { username: u.username, password: 'correct horse battery' },
      });
      expect(login.status).toBe(200);
      const otherSession = login.body.data.refreshToken as string;

      expect((await refresh(u.refreshToken)).status).toBe(200);
      expect((await refresh(u.refreshToken)).status).toBe(401);

      const r = await refresh(otherSession);
      expect(r.status).toBe(200);
    });

    it('logout revokes the token and the rest of its family', async () => {
      const u = await t.newUser();
      const rotated = await refresh(u.refreshToken);
      const current = rotated.body.data.refreshToken as string;

      const out = await t.api('POST', '/v1/auth/logout', { body: { refreshToken: current } });
      expect(out.status).toBe(200);
      expect(out.body).toEqual({ success: true, data: { loggedOut: true } });

      const r = await refresh(current);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('INVALID_TOKEN');
    });

    it('logout of an unknown token still answers 200 (no oracle)', async () => {
      const r = await t.api('POST', '/v1/auth/logout', { body: { refreshToken: 'sbr_unknown' } });
      expect(r.status).toBe(200);
      expect(r.body.data.loggedOut).toBe(true);
    });

    it('rejects unknown, empty and expired refresh tokens', async () => {
      const unknown = await refresh('sbr_not-a-real-token');
      expect(unknown.status).toBe(401);
      expect(unknown.body.error.code).toBe('INVALID_TOKEN');

      const empty = await refresh('');
      expect(empty.status).toBe(400);
      expect(empty.body.error.code).toBe('VALIDATION_FAILED');

      const u = await t.newUser();
      const { createHash } = await import('node:crypto');
      const row = await t.sb.store.repos.tokens.findByHash(
        createHash('sha256').update(u.refreshToken).digest('hex'),
      );
      expect(row).toBeDefined();
      await t.sb.store.db
        .updateTable('refresh_tokens')
        .set({ expires_at: Date.now() - 1000 })
        .where('id', '=', row!.id)
        .execute();
      const expired = await refresh(u.refreshToken);
      expect(expired.status).toBe(401);
      expect(expired.body.error.code).toBe('INVALID_TOKEN');
    });

    it('stores only a hash of the refresh token', async () => {
      const u = await t.newUser();
      const rows = await t.sb.store.db
        .selectFrom('refresh_tokens')
        .selectAll()
        .where('user_id', '=', u.userId)
        .execute();
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect(row.token_hash).not.toContain(u.refreshToken);
    });

    it('an access token is not accepted as a refresh token, nor the reverse', async () => {
      const u = await t.newUser();
      const r = await refresh(u.token.slice(0, 200));
      expect(r.status).toBe(401);
      const me = await t.api('GET', '/v1/users/me', { token: u.refreshToken });
      expect(me.status).toBe(401);
      expect(me.body.error.code).toBe('INVALID_TOKEN');
    });
  });

  describe(`access tokens (${backend})`, () => {
    let t: TestApp;
    let alice: TestUser;
    beforeAll(async () => {
      t = await startTestApp(backend);
      alice = await t.newUser();
    });
    afterAll(() => t.close());

    const me = (token?: string, headers?: Record<string, string>) =>
      t.api('GET', '/v1/users/me', { token, headers });

    it('a missing token answers 401 UNAUTHENTICATED', async () => {
      const r = await me();
      expect(r.status).toBe(401);
      expect(r.body.success).toBe(false);
      expect(r.body.error.code).toBe('UNAUTHENTICATED');
    });

    it('a malformed Authorization header answers 401 UNAUTHENTICATED', async () => {
      for (const authorization of [alice.token, `Basic ${alice.token}`, 'Bearer', 'Bearer a b']) {
        const r = await me(undefined, { authorization });
        expect(r.status).toBe(401);
        expect(r.body.error.code).toBe('UNAUTHENTICATED');
      }
    });

    it('the scheme is case-insensitive', async () => {
      const r = await me(undefined, { authorization: `bearer ${alice.token}` });
      expect(r.status).toBe(200);
    });

    it('a garbage token answers 401 INVALID_TOKEN', async () => {
      for (const token of ['garbage', 'a.b.c', `${alice.token}x`]) {
        const r = await me(token);
        expect(r.status).toBe(401);
        expect(r.body.error.code).toBe('INVALID_TOKEN');
      }
    });

    it('a token the server signed with a short ttl works', async () => {
      const user = await t.sb.users.get(alice.userId);
      const token = await t.sb.auth.tokenFor(user, 30);
      const r = await me(token);
      expect(r.status).toBe(200);
      expect(r.body.data.userId).toBe(alice.userId);
    });

    it('a token signed with the server secret and valid claims works (control for the cases below)', async () => {
      const token = await sign({ sub: alice.userId, name: alice.username });
      const r = await me(token);
      expect(r.status).toBe(200);
      expect(r.body.data.userId).toBe(alice.userId);
    });

    it('an expired token answers 401 INVALID_TOKEN', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await sign({ sub: alice.userId, name: alice.username, iat: now - 7200, exp: now - 3600 });
      const r = await me(token);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('INVALID_TOKEN');
    });

    it('a token signed with another secret answers 401 INVALID_TOKEN', async () => {
      const token = await sign({
        sub: alice.userId,
        name: alice.username,
        secret: 'another-secret-another-secret-another-0',
      });
      const r = await me(token);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('INVALID_TOKEN');
    });

    it('a token with the wrong issuer or audience answers 401', async () => {
      for (const claims of [{ iss: 'someone-else' }, { aud: 'another-app' }]) {
        const token = await sign({ sub: alice.userId, name: alice.username, ...claims });
        const r = await me(token);
        expect(r.status).toBe(401);
        expect(r.body.error.code).toBe('INVALID_TOKEN');
      }
    });

    it('an unsigned (alg: none) token answers 401', async () => {
      const token = new UnsecuredJWT({ name: alice.username, adm: true })
        .setSubject(alice.userId)
        .setIssuer('switchboard')
        .setAudience('switchboard')
        .setIssuedAt()
        .setExpirationTime('10m')
        .encode();
      const r = await me(token);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('INVALID_TOKEN');
    });

    it('a token signed with HS512 under the same secret is refused (algorithm pinned)', async () => {
      const token = await new SignJWT({ name: alice.username, adm: false })
        .setProtectedHeader({ alg: 'HS512' })
        .setSubject(alice.userId)
        .setIssuer('switchboard')
        .setAudience('switchboard')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(TEST_SECRET));
      const r = await me(token);
      expect(r.status).toBe(401);
    });
  });

  describe(`no impersonation (${backend})`, () => {
    let t: TestApp;
    let alice: TestUser;
    let bob: TestUser;
    beforeAll(async () => {
      t = await startTestApp(backend);
      alice = await t.newUser();
      bob = await t.newUser();
    });
    afterAll(() => t.close());

    it('?userId= on /v1/users/me returns the caller', async () => {
      for (const q of [`userId=${bob.userId}`, `user_id=${bob.userId}`, `sub=${bob.userId}`]) {
        const r = await t.api('GET', `/v1/users/me?${q}`, { token: alice.token });
        expect(r.status).toBe(200);
        expect(r.body.data.userId).toBe(alice.userId);
      }
    });

    it('a userId in a PATCH body is refused and changes nobody', async () => {
      const r = await t.api('PATCH', '/v1/users/me', {
        token: alice.token,
        body: { userId: bob.userId, displayName: 'Hijacked' },
      });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
      const bobNow = await t.api('GET', `/v1/users/${bob.userId}`, { token: alice.token });
      expect(bobNow.body.data.displayName).not.toBe('Hijacked');
      const aliceNow = await t.api('GET', '/v1/users/me', { token: alice.token });
      expect(aliceNow.body.data.displayName).not.toBe('Hijacked');
    });

    it('?userId= on PATCH /v1/users/me updates the caller only', async () => {
      const r = await t.api('PATCH', `/v1/users/me?userId=${bob.userId}`, {
        token: alice.token,
        body: { displayName: 'Alice Q' },
      });
      expect(r.status).toBe(200);
      expect(r.body.data.userId).toBe(alice.userId);
      expect(r.body.data.displayName).toBe('Alice Q');
      const bobNow = await t.api('GET', `/v1/users/${bob.userId}`, { token: alice.token });
      expect(bobNow.body.data.displayName).toBe(bob.username);
    });

    it('identity headers do not override the token', async () => {
      const r = await t.api('GET', '/v1/users/me', {
        token: alice.token,
        headers: { 'x-user-id': bob.userId, 'x-forwarded-user': bob.username },
      });
      expect(r.body.data.userId).toBe(alice.userId);
    });

    it('a forged admin claim signed with another secret is refused', async () => {
      // Forging `adm: true` requires the server secret; with another secret the token is refused.
      const forged = await sign({
        sub: alice.userId,
        name: alice.username,
        adm: true,
        secret: 'forged-secret-forged-secret-forged-sec0',
      });
      const r = await t.api('GET', '/v1/users/me', { token: forged });
      expect(r.status).toBe(401);
      const self = await t.api('GET', '/v1/users/me', { token: alice.token });
      expect(self.body.data.isAdmin).toBe(false);
    });
  });
}
