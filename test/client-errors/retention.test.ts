import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClientErrorsRepository } from '../../src/client-errors/client-errors.repository.js';
import { ClientErrorsService } from '../../src/client-errors/client-errors.service.js';
import type { Store } from '../../src/store/store.js';
import { UsersService } from '../../src/users/users.service.js';
import { availableBackends } from '../helpers/backends.js';
import { uniqueName } from '../helpers/test-app.js';
import { openTestStore } from '../helpers/test-store.js';

const DAY = 86_400_000;
const unlimited = { consume: async () => 0 };

for (const backend of await availableBackends()) {
  describe(`client error retention (${backend})`, () => {
    let store: Store;
    let close: () => Promise<void>;
    let clock: number;
    let users: UsersService;
    let service: ClientErrorsService;
    let repo: ClientErrorsRepository;
    beforeEach(async () => {
      ({ store, close } = await openTestStore(backend));
      clock = Date.UTC(2026, 0, 1);
      users = new UsersService(store, () => clock);
      repo = new ClientErrorsRepository(store.db);
      service = new ClientErrorsService(
        repo,
        users,
        unlimited,
        { maxPerUser: 3, retentionMs: 30 * DAY, cleanupIntervalMs: DAY },
        () => clock,
      );
    });
    afterEach(() => close());

    const principal = async (isAdmin = false) => {
      const u = await users.create({ username: uniqueName('ce'), isAdmin });
      return { userId: u.userId, username: u.username, isAdmin };
    };
    const messages = async (userId: string) =>
      (await repo.list({ userId, limit: 100 })).map((r) => r.message);

    it('keeps at most maxPerUser reports per user, dropping the oldest', async () => {
      const [alice, bob] = [await principal(), await principal()];
      for (const m of ['a1', 'a2', 'a3', 'a4', 'a5']) {
        clock += 1;
        await service.report(alice, { message: m }, { source: 'http' });
      }
      clock += 1;
      await service.report(bob, { message: 'b1' }, { source: 'http' });
      expect(await messages(alice.userId)).toEqual(['a5', 'a4', 'a3']);
      expect(await messages(bob.userId)).toEqual(['b1']);
    });

    it('deletes reports older than the retention period, at most once per cleanup interval', async () => {
      const [alice, bob] = [await principal(), await principal()];
      await service.report(alice, { message: 'old' }, { source: 'http' }); // the first report cleans up
      clock += 31 * DAY;
      await service.report(bob, { message: 'new' }, { source: 'http' }); // a day later or more: again
      expect(await messages(alice.userId)).toEqual([]);
      expect(await messages(bob.userId)).toEqual(['new']);

      // An expired report (as if left by a node that was down) waits for the next interval.
      await repo.insert({
        id: 'cer_expired',
        user_id: alice.userId,
        level: 'error',
        message: 'expired',
        source: 'http',
        created_at: clock - 40 * DAY,
      });
      clock += 12 * 3_600_000;
      await service.report(bob, { message: 'soon' }, { source: 'http' });
      expect(await messages(alice.userId)).toEqual(['expired']);
      clock += 12 * 3_600_000;
      await service.report(bob, { message: 'later' }, { source: 'http' });
      expect(await messages(alice.userId)).toEqual([]);
      expect(await messages(bob.userId)).toEqual(['later', 'soon', 'new']);
    });

    it('lists for admins only', async () => {
      const admin = await principal(true);
      const user = await principal();
      await service.report(user, { message: 'x' }, { source: 'websocket' });
      expect((await service.list(admin, { limit: 10 })).errors).toHaveLength(1);
      await expect(service.list(user, { limit: 10 })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    });
  });
}
