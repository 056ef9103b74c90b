import type { Insertable } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RefreshTokensTable } from '../../src/store/database.js';
import type { Store } from '../../src/store/store.js';
import { availableBackends } from '../helpers/backends.js';
import { openTestStore } from '../helpers/test-store.js';
import { T0, uid } from './fixtures.js';

for (const backend of await availableBackends()) {
  describe(`refresh tokens repository (${backend})`, () => {
    let store: Store;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await openTestStore(backend));
    });
    afterEach(() => close());

    async function token(over: Partial<Insertable<RefreshTokensTable>> = {}) {
      const row = {
        id: uid('rt'),
        user_id: 'usr_1',
        token_hash: uid('hash'),
        family_id: 'fam_1',
        expires_at: T0 + 1000,
        revoked_at: null,
        created_at: T0,
        ...over,
      };
      await store.repos.tokens.insert(row);
      return row;
    }

    it('round-trips through findByHash', async () => {
      const t = await token();
      expect(await store.repos.tokens.findByHash(t.token_hash)).toEqual(t);
      expect(await store.repos.tokens.findByHash('nope')).toBeUndefined();
    });

    it('rejects a duplicate token hash', async () => {
      const t = await token();
      await expect(token({ token_hash: t.token_hash })).rejects.toThrow();
    });

    it('revoke returns true once, then false', async () => {
      const t = await token();
      expect(await store.repos.tokens.revoke(t.id, T0 + 10)).toBe(true);
      expect(await store.repos.tokens.revoke(t.id, T0 + 20)).toBe(false);
      // The first revocation time stays.
      expect((await store.repos.tokens.findByHash(t.token_hash))?.revoked_at).toBe(T0 + 10);
      expect(await store.repos.tokens.revoke('rt_unknown', T0)).toBe(false);
    });

    it('revokeFamily revokes every live token of that family only', async () => {
      const a = await token({ family_id: 'fam_a' });
      const b = await token({ family_id: 'fam_a' });
      const alreadyRevoked = await token({ family_id: 'fam_a', revoked_at: T0 + 1 });
      const other = await token({ family_id: 'fam_b' });
      await store.repos.tokens.revokeFamily('fam_a', T0 + 50);
      const get = async (h: string) => (await store.repos.tokens.findByHash(h))?.revoked_at;
      expect(await get(a.token_hash)).toBe(T0 + 50);
      expect(await get(b.token_hash)).toBe(T0 + 50);
      expect(await get(alreadyRevoked.token_hash)).toBe(T0 + 1);
      expect(await get(other.token_hash)).toBeNull();
      expect(await store.repos.tokens.revoke(a.id, T0 + 60)).toBe(false);
      expect(await store.repos.tokens.revoke(other.id, T0 + 60)).toBe(true);
    });

    it('deleteExpired removes tokens that expired strictly before now and counts them', async () => {
      const old1 = await token({ expires_at: T0 - 2 });
      const old2 = await token({ expires_at: T0 - 1, revoked_at: T0 - 5 });
      const boundary = await token({ expires_at: T0 });
      const live = await token({ expires_at: T0 + 1 });
      expect(await store.repos.tokens.deleteExpired(T0)).toBe(2);
      expect(await store.repos.tokens.findByHash(old1.token_hash)).toBeUndefined();
      expect(await store.repos.tokens.findByHash(old2.token_hash)).toBeUndefined();
      expect(await store.repos.tokens.findByHash(boundary.token_hash)).toBeDefined();
      expect(await store.repos.tokens.findByHash(live.token_hash)).toBeDefined();
      expect(await store.repos.tokens.deleteExpired(T0)).toBe(0);
      expect(await store.repos.tokens.deleteExpired(T0 + 2)).toBe(2);
    });
  });
}
