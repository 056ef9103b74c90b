import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, uniqueName } from '../helpers/test-app.js';

const PASSWORD = 'correct horse battery';

for (const backend of await availableBackends()) {
  describe(`register (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    it('creates an account and answers 201 with the user and a token pair', async () => {
      const username = uniqueName('reg');
      const r = await t.api('POST', '/v1/auth/register', {
        body: { username, password: PASSWORD, displayName: '  Reggie  ' },
      });
      expect(r.status).toBe(201);
      expect(r.body.success).toBe(true);
      expect(Object.keys(r.body.data).sort()).toEqual(
        ['accessToken', 'expiresIn', 'refreshToken', 'tokenType', 'user'].sort(),
      );
      const { user, accessToken, refreshToken, tokenType, expiresIn } = r.body.data;
      expect(user).toMatchObject({
        username,
        displayName: 'Reggie',
        avatar: null,
        isAdmin: false,
        isBot: false,
      });
      expect(user.userId).toMatch(/^usr_/);
      expect(new Date(user.createdAt).toISOString()).toBe(user.createdAt);
      expect(accessToken.split('.')).toHaveLength(3);
      expect(refreshToken).toMatch(/^sbr_/);
      expect(tokenType).toBe('Bearer');
      expect(expiresIn).toBe(t.sb.config.accessTokenTtl);
      // The response never carries password material.
      expect(JSON.stringify(r.body)).not.toContain(PASSWORD);
      expect(JSON.stringify(r.body)).not.toContain('scrypt');

      const me = await t.api('GET', '/v1/users/me', { token: accessToken });
      expect(me.status).toBe(200);
      expect(me.body.data).toEqual(user);
    });

    it('defaults the display name to the username', async () => {
      const username = uniqueName('plain');
      const r = await t.api('POST', '/v1/auth/register', { body: { username, password: PASSWORD } });
      expect(r.status).toBe(201);
      expect(r.body.data.user.displayName).toBe(username);
    });

    it('stores an scrypt hash, never the password', async () => {
      const username = uniqueName('hash');
      const password = 'a very secret passphrase';
      expect((await t.api('POST', '/v1/auth/register', { body: { username, password } })).status).toBe(201);
      const row = await t.sb.store.repos.users.findByUsername(username);
      expect(row).toBeDefined();
      const hash = row!.password_hash!;
      expect(hash.startsWith('scrypt$')).toBe(true);
      expect(hash).not.toContain(password);
      expect(hash.split('$')).toHaveLength(6);

      // Two users with the same password get different hashes (random salt).
      const other = uniqueName('hash');
      await t.api('POST', '/v1/auth/register', { body: { username: other, password } });
      const otherRow = await t.sb.store.repos.users.findByUsername(other);
      expect(otherRow!.password_hash).not.toBe(hash);
    });

    it('answers 409 USERNAME_TAKEN for a duplicate username', async () => {
      const username = uniqueName('dup');
      expect(
        (await t.api('POST', '/v1/auth/register', { body: { username, password: PASSWORD } })).status,
      ).toBe(201);
      const r = await t.api('POST', '/v1/auth/register', {
        body: { username, password: 'another password' },
      });
      expect(r.status).toBe(409);
      expect(r.body.success).toBe(false);
      expect(r.body.error.code).toBe('USERNAME_TAKEN');
    });

    it('treats usernames case-insensitively', async () => {
      const username = uniqueName('case');
      expect(
        (await t.api('POST', '/v1/auth/register', { body: { username, password: PASSWORD } })).status,
      ).toBe(201);
      // The API only accepts lower-case names, so an upper-cased duplicate never becomes a second account.
      const upper = await t.api('POST', '/v1/auth/register', {
        body: { username: username.toUpperCase(), password: PASSWORD },
      });
      expect([400, 409]).toContain(upper.status);
      expect(upper.body.success).toBe(false);
      // The service itself lower-cases, so a mixed-case duplicate is USERNAME_TAKEN there.
      await expect(
        t.sb.users.create({ username: username.toUpperCase(), password: PASSWORD }),
      ).rejects.toMatchObject({ code: 'USERNAME_TAKEN', status: 409 });
      // Logging in with another case finds the same account.
      const login = await t.api('POST', '/v1/auth/login', {
        body: { username: username.toUpperCase(), password: PASSWORD },
      });
      expect(login.status).toBe(200);
      expect(login.body.data.user.username).toBe(username);
    });

    it.each([
      ['too short', 'ab'],
      ['too long', 'a'.repeat(33)],
      ['leading punctuation', '_alice'],
      ['space', 'al ice'],
      ['non-ascii', 'alicé'],
      ['empty', ''],
    ])('rejects an invalid username (%s) with 400 VALIDATION_FAILED', async (_why, username) => {
      const r = await t.api('POST', '/v1/auth/register', { body: { username, password: PASSWORD } });
      expect(r.status).toBe(400);
      expect(r.body.success).toBe(false);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
    });

    it('accepts mixed case at sign-up and stores the name lower-case', async () => {
      const name = `Mixed${uniqueName('').slice(-8)}`;
      const r = await t.api('POST', '/v1/auth/register', { body: { username: name, password: PASSWORD } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.data.user.username).toBe(name.toLowerCase());
      const again = await t.api('POST', '/v1/auth/register', {
        body: { username: name.toLowerCase(), password: PASSWORD },
      });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('USERNAME_TAKEN');
    });

    it('accepts usernames at the edges of the pattern', async () => {
      for (const username of [
        `a${uniqueName('').slice(-2)}`,
        `z.${uniqueName('e')}${'x'.repeat(32)}`.slice(0, 32),
      ]) {
        const r = await t.api('POST', '/v1/auth/register', { body: { username, password: PASSWORD } });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
      }
    });

    it('rejects a password shorter than 8 characters', async () => {
      const r = await t.api('POST', '/v1/auth/register', {
        body: { username: uniqueName('short'), password: '1234567' },
      });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
    });

    it('rejects missing fields and non-JSON bodies', async () => {
      const missing = await t.api('POST', '/v1/auth/register', { body: { username: uniqueName('nopw') } });
      expect(missing.status).toBe(400);
      expect(missing.body.error.code).toBe('VALIDATION_FAILED');

      const bad = await t.api('POST', '/v1/auth/register', { body: '{"username":' });
      expect(bad.status).toBe(400);
      expect(bad.body.success).toBe(false);
    });

    it('rejects extra fields (no self-promotion to admin)', async () => {
      const username = uniqueName('extra');
      for (const extra of [{ isAdmin: true }, { userId: 'usr_chosen' }, { role: 'admin' }]) {
        const r = await t.api('POST', '/v1/auth/register', {
          body: { username, password: PASSWORD, ...extra },
        });
        expect(r.status).toBe(400);
        expect(r.body.error.code).toBe('VALIDATION_FAILED');
      }
      expect(await t.sb.store.repos.users.findByUsername(username)).toBeUndefined();
    });

    it('register is not an authenticated route but /v1/users is', async () => {
      const r = await t.api('GET', '/v1/users/me');
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('UNAUTHENTICATED');
    });
  });

  describe(`login (${backend})`, () => {
    let t: TestApp;
    let username: string;
    beforeAll(async () => {
      t = await startTestApp(backend);
      username = (await t.newUser()).username;
    });
    afterAll(() => t.close());

    it('exchanges the right password for a token pair', async () => {
      const r = await t.api('POST', '/v1/auth/login', { body: { username, password: PASSWORD } });
      expect(r.status).toBe(200);
      expect(r.body.success).toBe(true);
      expect(r.body.data.user.username).toBe(username);
      expect(r.body.data.tokenType).toBe('Bearer');
      expect(r.body.data.refreshToken).toMatch(/^sbr_/);
      const me = await t.api('GET', '/v1/users/me', { token: r.body.data.accessToken });
      expect(me.status).toBe(200);
      expect(me.body.data.username).toBe(username);
    });

    it('answers 401 INVALID_CREDENTIALS with the same message for a wrong password and an unknown user', async () => {
      const wrong = await t.api('POST', '/v1/auth/login', {
        body: { username, password: 'not the password' },
      });
      const unknown = await t.api('POST', '/v1/auth/login', {
        body: { username: uniqueName('ghost'), password: PASSWORD },
      });
      for (const r of [wrong, unknown]) {
        expect(r.status).toBe(401);
        expect(r.body.success).toBe(false);
        expect(r.body.error.code).toBe('INVALID_CREDENTIALS');
      }
      expect(unknown.body.error.message).toBe(wrong.body.error.message);
      expect(unknown.body).toEqual(wrong.body);
    });

    it('cannot log in with a password-less (external or bot) account', async () => {
      const bot = await t.sb.users.create({ username: uniqueName('bot'), isBot: true });
      const r = await t.api('POST', '/v1/auth/login', {
        body: { username: bot.username, password: PASSWORD },
      });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('INVALID_CREDENTIALS');
    });

    it('rejects extra fields and empty values', async () => {
      const extra = await t.api('POST', '/v1/auth/login', {
        body: { username, password: PASSWORD, userId: 'usr_x' },
      });
      expect(extra.status).toBe(400);
      expect(extra.body.error.code).toBe('VALIDATION_FAILED');
      const empty = await t.api('POST', '/v1/auth/login', { body: { username, password: '' } });
      expect(empty.status).toBe(400);
      expect(empty.body.error.code).toBe('VALIDATION_FAILED');
    });
  });

  describe(`registration closed (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend, { ALLOW_REGISTRATION: 'false' });
    });
    afterAll(() => t.close());

    it('answers 403 REGISTRATION_CLOSED and creates nothing', async () => {
      const username = uniqueName('closed');
      const r = await t.api('POST', '/v1/auth/register', { body: { username, password: PASSWORD } });
      expect(r.status).toBe(403);
      expect(r.body.success).toBe(false);
      expect(r.body.error.code).toBe('REGISTRATION_CLOSED');
      expect(await t.sb.store.repos.users.findByUsername(username)).toBeUndefined();
    });

    it('still lets existing (admin-created) users log in', async () => {
      const username = uniqueName('admin');
      await t.sb.users.create({ username, password: PASSWORD, isAdmin: true });
      const r = await t.api('POST', '/v1/auth/login', { body: { username, password: PASSWORD } });
      expect(r.status).toBe(200);
      expect(r.body.data.user.isAdmin).toBe(true);
    });
  });
}
