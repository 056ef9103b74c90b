import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { availableBackends } from '../helpers/backends.js';
import { openTestStore } from '../helpers/test-store.js';
import { insertUser, T0, uid } from './fixtures.js';

for (const backend of await availableBackends()) {
  describe(`users repository (${backend})`, () => {
    let store: Store;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ store, close } = await openTestStore(backend));
    });
    afterAll(() => close());

    it('inserts and finds by id with numeric columns as numbers', async () => {
      const u = await insertUser(store.repos, {
        display_name: 'Alice',
        is_admin: 1,
        is_bot: 0,
        avatar: 'https://example.com/a.png',
        password_hash: 'hash',
        created_at: T0 + 5,
        updated_at: T0 + 6,
      });
      const found = await store.repos.users.findById(u.id);
      expect(found).toEqual(u);
      expect(typeof found!.created_at).toBe('number');
      expect(typeof found!.is_admin).toBe('number');
      expect(await store.repos.users.findById('usr_missing')).toBeUndefined();
    });

    it('finds by ids (empty list, unknown ids ignored)', async () => {
      const a = await insertUser(store.repos);
      const b = await insertUser(store.repos);
      expect(await store.repos.users.findByIds([])).toEqual([]);
      const rows = await store.repos.users.findByIds([a.id, 'usr_nobody', b.id]);
      expect(rows.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
    });

    it('finds by username (exact match only)', async () => {
      const u = await insertUser(store.repos, { username: 'exactname' });
      expect((await store.repos.users.findByUsername('exactname'))?.id).toBe(u.id);
      expect(await store.repos.users.findByUsername('exactnam')).toBeUndefined();
      expect(await store.repos.users.findByUsername('exactname2')).toBeUndefined();
    });

    it('finds by external identity (issuer and subject both must match)', async () => {
      const u = await insertUser(store.repos, {
        external_issuer: 'https://idp.example',
        external_subject: 'sub-1',
      });
      await insertUser(store.repos, { external_issuer: 'https://other.example', external_subject: 'sub-2' });
      expect((await store.repos.users.findByExternal('https://idp.example', 'sub-1'))?.id).toBe(u.id);
      expect(await store.repos.users.findByExternal('https://idp.example', 'sub-2')).toBeUndefined();
      expect(await store.repos.users.findByExternal('https://other.example', 'sub-1')).toBeUndefined();
    });

    it('rejects a duplicate username', async () => {
      await insertUser(store.repos, { username: 'taken' });
      await expect(insertUser(store.repos, { username: 'taken' })).rejects.toThrow();
      const rows = await store.db.selectFrom('users').select('id').where('username', '=', 'taken').execute();
      expect(rows).toHaveLength(1);
    });

    it('rejects a duplicate external identity but allows many users without one', async () => {
      await insertUser(store.repos, { external_issuer: 'iss-dup', external_subject: 'same' });
      await expect(
        insertUser(store.repos, { external_issuer: 'iss-dup', external_subject: 'same' }),
      ).rejects.toThrow();
      // NULL identities are distinct on both engines.
      await insertUser(store.repos);
      await insertUser(store.repos);
    });

    it('updates the patched fields and updated_at only', async () => {
      const u = await insertUser(store.repos, { display_name: 'Before' });
      await store.repos.users.update(u.id, { display_name: 'After', is_admin: 1 }, T0 + 100);
      const found = await store.repos.users.findById(u.id);
      expect(found).toEqual({ ...u, display_name: 'After', is_admin: 1, updated_at: T0 + 100 });
    });

    describe('search', () => {
      let s: Store;
      let closeSearch: () => Promise<void>;
      beforeAll(async () => {
        // Its own store so other tests' users do not show up in prefix matches.
        ({ store: s, close: closeSearch } = await openTestStore(backend));
        const users: [string, string][] = [
          ['a_b', 'Underscore'],
          ['axb', 'Not Underscore'],
          ['a%c', 'Percent'],
          ['abc', 'Plain'],
          ['a\\d', 'Backslash'],
          ['zed1', 'Bob Smith'],
          ['zed2', 'bobby tables'],
          ['zed3', 'BOBCAT'],
          ['zed4', 'Rob Bob'],
          ['zed5', '100% Real'],
          ['zed6', '1000 Fake'],
          ['zed7', 'x_y'],
          ['zed8', 'xzy'],
          ['zed9', 'Élodie Ünal'],
        ];
        for (const [username, display_name] of users) await insertUser(s.repos, { username, display_name });
      });
      afterAll(() => closeSearch());

      const names = async (prefix: string, limit = 50, offset = 0) =>
        (await s.repos.users.search(prefix, limit, offset)).map((u) => u.username);

      it('treats _ in the prefix literally', async () => {
        expect(await names('a_')).toEqual(['a_b']);
        expect(await names('x_')).toEqual(['zed7']);
      });

      it('treats % in the prefix literally', async () => {
        expect(await names('a%')).toEqual(['a%c']);
        expect(await names('100%')).toEqual(['zed5']);
      });

      it('treats a backslash in the prefix literally', async () => {
        expect(await names('a\\')).toEqual(['a\\d']);
      });

      it('matches display names case-insensitively, by prefix only', async () => {
        expect(await names('bob')).toEqual(['zed1', 'zed2', 'zed3']);
        expect(await names('BOB')).toEqual(['zed1', 'zed2', 'zed3']);
        expect(await names('BobC')).toEqual(['zed3']);
        expect(await names('smith')).toEqual([]);
      });

      it('folds non-ASCII letters the same way on every engine', async () => {
        expect(await names('élodie')).toEqual(['zed9']);
        expect(await names('ÉLODIE Ü')).toEqual(['zed9']);
        expect(await names('elodie')).toEqual([]);
      });

      it('matches usernames by prefix, case-insensitively for the prefix', async () => {
        expect(await names('zed')).toEqual([
          'zed1',
          'zed2',
          'zed3',
          'zed4',
          'zed5',
          'zed6',
          'zed7',
          'zed8',
          'zed9',
        ]);
        expect(await names('ZED1')).toEqual(['zed1']);
        expect(await names('ab')).toEqual(['abc']);
      });

      it('orders by username and pages with limit/offset', async () => {
        const all = await names('zed');
        expect(await names('zed', 3, 0)).toEqual(all.slice(0, 3));
        expect(await names('zed', 3, 3)).toEqual(all.slice(3, 6));
        expect(await names('zed', 3, 6)).toEqual(all.slice(6));
        expect(await names('zed', 3, 9)).toEqual([]);
      });

      it('finds nothing for an unknown prefix', async () => {
        expect(await names(uid('nomatch'))).toEqual([]);
      });
    });
  });
}
