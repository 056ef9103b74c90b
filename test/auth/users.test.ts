import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser, uniqueName } from '../helpers/test-app.js';

for (const backend of await availableBackends()) {
  describe(`users routes (${backend})`, () => {
    let t: TestApp;
    let alice: TestUser;
    let bob: TestUser;
    /** A prefix no other user in this app shares. */
    let stem: string;
    beforeAll(async () => {
      t = await startTestApp(backend);
      stem = uniqueName('srch');
      alice = await t.newUser(`${stem}alice`);
      bob = await t.newUser(`${stem}bob`);
    });
    afterAll(() => t.close());

    it('GET /v1/users/me returns the caller', async () => {
      const r = await t.api('GET', '/v1/users/me', { token: alice.token });
      expect(r.status).toBe(200);
      expect(r.body.success).toBe(true);
      expect(r.body.data).toMatchObject({
        userId: alice.userId,
        username: alice.username,
        displayName: alice.username,
        avatar: null,
        isAdmin: false,
        isBot: false,
      });
      expect(r.body.data).not.toHaveProperty('passwordHash');
      expect(JSON.stringify(r.body)).not.toContain('scrypt');
    });

    it('PATCH /v1/users/me updates the display name and avatar', async () => {
      const u = await t.newUser();
      const r = await t.api('PATCH', '/v1/users/me', {
        token: u.token,
        body: { displayName: '  New Name ', avatar: 'https://cdn.example/a.png' },
      });
      expect(r.status).toBe(200);
      expect(r.body.data).toMatchObject({
        userId: u.userId,
        username: u.username,
        displayName: 'New Name',
        avatar: 'https://cdn.example/a.png',
      });
      const again = await t.api('GET', '/v1/users/me', { token: u.token });
      expect(again.body.data.displayName).toBe('New Name');

      const cleared = await t.api('PATCH', '/v1/users/me', { token: u.token, body: { avatar: null } });
      expect(cleared.status).toBe(200);
      expect(cleared.body.data.avatar).toBeNull();
      expect(cleared.body.data.displayName).toBe('New Name');

      const noop = await t.api('PATCH', '/v1/users/me', { token: u.token, body: {} });
      expect(noop.status).toBe(200);
      expect(noop.body.data.displayName).toBe('New Name');
    });

    it('PATCH /v1/users/me rejects invalid values and fields that are not editable', async () => {
      const bodies = [
        { displayName: '' },
        { displayName: 'x'.repeat(65) },
        { avatar: 'not a url' },
        { username: 'renamed' },
        { isAdmin: true },
      ];
      for (const body of bodies) {
        const r = await t.api('PATCH', '/v1/users/me', { token: bob.token, body });
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.code).toBe('VALIDATION_FAILED');
      }
      const me = await t.api('GET', '/v1/users/me', { token: bob.token });
      expect(me.body.data).toMatchObject({ username: bob.username, isAdmin: false, avatar: null });
    });

    it('PATCH /v1/users/me refuses a blank display name', async () => {
      const u = await t.newUser();
      const r = await t.api('PATCH', '/v1/users/me', { token: u.token, body: { displayName: '   ' } });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
      const me = await t.api('GET', '/v1/users/me', { token: u.token });
      expect(me.body.data.displayName).toBe(u.username);
    });

    it('PATCH /v1/users/me requires a token', async () => {
      const r = await t.api('PATCH', '/v1/users/me', { body: { displayName: 'Anon' } });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('UNAUTHENTICATED');
    });

    it('GET /v1/users?q= finds users by username prefix', async () => {
      const r = await t.api('GET', `/v1/users?q=${stem}`, { token: alice.token });
      expect(r.status).toBe(200);
      expect(r.body.data.users.map((u: any) => u.username)).toEqual([alice.username, bob.username]);

      const one = await t.api('GET', `/v1/users?q=${stem}b`, { token: alice.token });
      expect(one.body.data.users.map((u: any) => u.userId)).toEqual([bob.userId]);

      // Prefix, not substring.
      const inner = await t.api('GET', `/v1/users?q=${stem.slice(1)}`, { token: alice.token });
      expect(inner.body.data.users).toEqual([]);
    });

    it('search is case-insensitive and matches display names', async () => {
      const u = await t.newUser();
      const display = `${uniqueName('Disp')}Name`;
      await t.api('PATCH', '/v1/users/me', { token: u.token, body: { displayName: display } });
      const r = await t.api('GET', `/v1/users?q=${encodeURIComponent(display.toUpperCase())}`, {
        token: alice.token,
      });
      expect(r.status).toBe(200);
      expect(r.body.data.users.map((x: any) => x.userId)).toEqual([u.userId]);

      const byName = await t.api('GET', `/v1/users?q=${stem.toUpperCase()}`, { token: alice.token });
      expect(byName.body.data.users).toHaveLength(2);
    });

    it('search treats % and _ literally', async () => {
      const wild = await t.api('GET', `/v1/users?q=${encodeURIComponent('%')}`, { token: alice.token });
      expect(wild.status).toBe(200);
      expect(wild.body.data.users).toEqual([]);
      const underscore = await t.api('GET', `/v1/users?q=${encodeURIComponent(`${stem.slice(0, 3)}_`)}`, {
        token: alice.token,
      });
      expect(underscore.status).toBe(200);
      expect(underscore.body.data.users).toEqual([]);
    });

    it('search pages with limit and offset', async () => {
      const first = await t.api('GET', `/v1/users?q=${stem}&limit=1`, { token: alice.token });
      const second = await t.api('GET', `/v1/users?q=${stem}&limit=1&offset=1`, { token: alice.token });
      expect(first.body.data.users.map((u: any) => u.userId)).toEqual([alice.userId]);
      expect(second.body.data.users.map((u: any) => u.userId)).toEqual([bob.userId]);
    });

    it('search validates its query', async () => {
      for (const qs of ['', '?q=', `?q=${stem}&limit=0`, `?q=${stem}&limit=51`, `?q=${stem}&offset=-1`]) {
        const r = await t.api('GET', `/v1/users${qs}`, { token: alice.token });
        expect(r.status, qs).toBe(400);
        expect(r.body.error.code).toBe('VALIDATION_FAILED');
      }
    });

    it('search requires a token', async () => {
      const r = await t.api('GET', `/v1/users?q=${stem}`);
      expect(r.status).toBe(401);
    });

    it('GET /v1/users/:id returns a profile', async () => {
      const r = await t.api('GET', `/v1/users/${bob.userId}`, { token: alice.token });
      expect(r.status).toBe(200);
      expect(r.body.data).toMatchObject({ userId: bob.userId, username: bob.username });
    });

    it('GET /v1/users/:id of an unknown id answers 404 USER_NOT_FOUND', async () => {
      const r = await t.api('GET', '/v1/users/usr_doesnotexist0000000000', { token: alice.token });
      expect(r.status).toBe(404);
      expect(r.body.success).toBe(false);
      expect(r.body.error.code).toBe('USER_NOT_FOUND');
    });

    it('GET /v1/users/:id requires a token', async () => {
      const r = await t.api('GET', `/v1/users/${bob.userId}`);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('UNAUTHENTICATED');
    });
  });
}
