import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RoomRow } from '../../src/store/database.js';
import type { Store } from '../../src/store/store.js';
import { availableBackends } from '../helpers/backends.js';
import { openTestStore } from '../helpers/test-store.js';
import { insertRoom, insertUser, join, T0 } from './fixtures.js';

for (const backend of await availableBackends()) {
  describe(`rooms repository (${backend})`, () => {
    let store: Store;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await openTestStore(backend));
    });
    afterEach(() => close());

    it('inserts with zeroed counters and finds by id and dm key', async () => {
      const room = await insertRoom(store.repos, { type: 'direct', dm_key: 'usr_a:usr_b', max_members: 2 });
      expect(room.last_seq).toBe(0);
      expect(room.message_count).toBe(0);
      expect(room.member_count).toBe(0);
      expect(typeof room.last_activity).toBe('number');
      expect((await store.repos.rooms.findByDmKey('usr_a:usr_b'))?.id).toBe(room.id);
      expect(await store.repos.rooms.findByDmKey('usr_a:usr_c')).toBeUndefined();
      expect(await store.repos.rooms.findById('room_missing')).toBeUndefined();
      await expect(insertRoom(store.repos, { type: 'direct', dm_key: 'usr_a:usr_b' })).rejects.toThrow();
    });

    it('update patches fields and updated_at', async () => {
      const room = await insertRoom(store.repos);
      await store.repos.rooms.update(room.id, { name: 'Renamed', settings: '{"x":1}' }, T0 + 9);
      expect(await store.repos.rooms.findById(room.id)).toEqual({
        ...room,
        name: 'Renamed',
        settings: '{"x":1}',
        updated_at: T0 + 9,
      });
    });

    describe('reserveSeqs', () => {
      it('hands out dense increasing seqs and message numbers', async () => {
        const room = await insertRoom(store.repos);
        const r = store.repos.rooms;
        expect(await r.reserveSeqs(room.id, 1, 0, T0 + 1)).toEqual({ firstSeq: 1, firstMsgNo: 1 });
        expect(await r.reserveSeqs(room.id, 3, 2, T0 + 2)).toEqual({ firstSeq: 2, firstMsgNo: 1 });
        expect(await r.reserveSeqs(room.id, 2, 2, T0 + 3)).toEqual({ firstSeq: 5, firstMsgNo: 3 });
        expect(await r.reserveSeqs(room.id, 1, 1, T0 + 4)).toEqual({ firstSeq: 7, firstMsgNo: 5 });
        const after = await r.findById(room.id);
        expect(after?.last_seq).toBe(7);
        expect(after?.message_count).toBe(5);
        expect(after?.last_activity).toBe(T0 + 4);
      });

      it('keeps rooms independent', async () => {
        const a = await insertRoom(store.repos);
        const b = await insertRoom(store.repos);
        await store.repos.rooms.reserveSeqs(a.id, 5, 5, T0);
        expect(await store.repos.rooms.reserveSeqs(b.id, 1, 1, T0)).toEqual({ firstSeq: 1, firstMsgNo: 1 });
        expect(await store.repos.rooms.reserveSeqs(a.id, 1, 1, T0)).toEqual({ firstSeq: 6, firstMsgNo: 6 });
      });

      it('throws for an unknown room', async () => {
        await expect(store.repos.rooms.reserveSeqs('room_missing', 1, 0, T0)).rejects.toThrow();
      });

      it('reserveSeqsMany reserves in every room at once, each room its own block', async () => {
        const rr = store.repos.rooms;
        const [a, b, c] = [
          await insertRoom(store.repos),
          await insertRoom(store.repos),
          await insertRoom(store.repos),
        ];
        await rr.reserveSeqs(b.id, 4, 2, T0);
        const got = await rr.reserveSeqsMany(
          [
            { roomId: a.id, count: 3, messages: 3 },
            { roomId: b.id, count: 2, messages: 1 },
            { roomId: c.id, count: 1, messages: 0 },
          ],
          T0 + 5,
        );
        expect(Object.fromEntries(got)).toEqual({
          [a.id]: { firstSeq: 1, firstMsgNo: 1 },
          [b.id]: { firstSeq: 5, firstMsgNo: 3 },
          [c.id]: { firstSeq: 1, firstMsgNo: 1 },
        });
        expect(await rr.findById(b.id)).toMatchObject({
          last_seq: 6,
          message_count: 3,
          last_activity: T0 + 5,
        });
        expect(await rr.findById(c.id)).toMatchObject({ last_seq: 1, message_count: 0 });
        // The next single reservation continues where the batch left off.
        expect(await rr.reserveSeqs(a.id, 1, 1, T0 + 6)).toEqual({ firstSeq: 4, firstMsgNo: 4 });
      });

      it('reserveSeqsMany spans more rooms than one statement takes, and refuses unknown rooms', async () => {
        const rr = store.repos.rooms;
        const rooms = await Promise.all(Array.from({ length: 520 }, () => insertRoom(store.repos)));
        const got = await store.tx((r) =>
          r.rooms.reserveSeqsMany(
            rooms.map((x, i) => ({ roomId: x.id, count: 1 + (i % 3), messages: 1 })),
            T0 + 1,
          ),
        );
        expect(got.size).toBe(520);
        expect([...got.values()].every((v) => v.firstSeq === 1 && v.firstMsgNo === 1)).toBe(true);
        expect((await rr.findById(rooms[519]!.id))?.last_seq).toBe(1 + (519 % 3));
        await expect(
          store.tx((r) =>
            r.rooms.reserveSeqsMany(
              [
                { roomId: rooms[0]!.id, count: 1, messages: 1 },
                { roomId: 'room_missing', count: 1, messages: 1 },
              ],
              T0 + 2,
            ),
          ),
        ).rejects.toThrow(/room_missing/);
        // The failed transaction reserved nothing.
        expect((await rr.findById(rooms[0]!.id))?.last_seq).toBe(1);
      });
    });

    describe('members', () => {
      it('addMember/removeMember keep member_count right and are idempotent', async () => {
        const room = await insertRoom(store.repos);
        const count = async () => (await store.repos.rooms.findById(room.id))!.member_count;
        expect(await join(store.repos, room.id, 'usr_a', { role: 'owner' })).toBe(true);
        expect(await join(store.repos, room.id, 'usr_b')).toBe(true);
        expect(await count()).toBe(2);
        expect(await join(store.repos, room.id, 'usr_a', { role: 'member' })).toBe(false);
        expect(await count()).toBe(2);
        // A repeated add does not overwrite the existing membership.
        expect((await store.repos.rooms.getMember(room.id, 'usr_a'))?.role).toBe('owner');

        expect(await store.repos.rooms.removeMember(room.id, 'usr_b')).toBe(true);
        expect(await count()).toBe(1);
        expect(await store.repos.rooms.removeMember(room.id, 'usr_b')).toBe(false);
        expect(await store.repos.rooms.removeMember(room.id, 'usr_never')).toBe(false);
        expect(await count()).toBe(1);
        expect(await store.repos.rooms.getMember(room.id, 'usr_b')).toBeUndefined();

        expect(await join(store.repos, room.id, 'usr_b')).toBe(true);
        expect(await count()).toBe(2);
        expect((await store.repos.rooms.memberIds(room.id)).sort()).toEqual(['usr_a', 'usr_b']);
      });

      it('counts members per room', async () => {
        const a = await insertRoom(store.repos);
        const b = await insertRoom(store.repos);
        await join(store.repos, a.id, 'usr_x');
        await join(store.repos, b.id, 'usr_x');
        await join(store.repos, b.id, 'usr_y');
        expect((await store.repos.rooms.findById(a.id))?.member_count).toBe(1);
        expect((await store.repos.rooms.findById(b.id))?.member_count).toBe(2);
        await store.repos.rooms.removeMember(b.id, 'usr_x');
        expect((await store.repos.rooms.findById(a.id))?.member_count).toBe(1);
        expect((await store.repos.rooms.findById(b.id))?.member_count).toBe(1);
      });

      it('getMember defaults pointers to 0; setRole changes the role', async () => {
        const room = await insertRoom(store.repos);
        await join(store.repos, room.id, 'usr_a');
        expect(await store.repos.rooms.getMember(room.id, 'usr_a')).toEqual({
          room_id: room.id,
          user_id: 'usr_a',
          role: 'member',
          joined_at: T0,
          read_seq: 0,
          read_count: 0,
          delivered_seq: 0,
          muted_until: null,
        });
        await store.repos.rooms.setRole(room.id, 'usr_a', 'admin');
        expect((await store.repos.rooms.getMember(room.id, 'usr_a'))?.role).toBe('admin');
      });

      it('listMembers joins users, orders by joined_at then user id, and pages', async () => {
        const room = await insertRoom(store.repos);
        const u1 = await insertUser(store.repos, { id: 'usr_b1', display_name: 'B One', is_bot: 1 });
        const u2 = await insertUser(store.repos, { id: 'usr_a2' });
        const u3 = await insertUser(store.repos, { id: 'usr_c3' });
        await join(store.repos, room.id, u1.id, { joined_at: T0 + 1 });
        await join(store.repos, room.id, u2.id, { joined_at: T0 + 2 });
        await join(store.repos, room.id, u3.id, { joined_at: T0 + 1 });
        // A member row without a user row is left out by the inner join.
        await join(store.repos, room.id, 'usr_ghost', { joined_at: T0 });
        const all = await store.repos.rooms.listMembers(room.id, 10, 0);
        expect(all.map((m) => m.user_id)).toEqual(['usr_b1', 'usr_c3', 'usr_a2']);
        expect(all[0]).toMatchObject({ username: u1.username, display_name: 'B One', is_bot: 1 });
        expect((await store.repos.rooms.listMembers(room.id, 1, 1)).map((m) => m.user_id)).toEqual([
          'usr_c3',
        ]);
      });

      it('advanceRead only moves forward and raises delivered_seq with it', async () => {
        const room = await insertRoom(store.repos);
        await join(store.repos, room.id, 'usr_a');
        const rr = store.repos.rooms;
        const get = () => rr.getMember(room.id, 'usr_a');
        expect(await rr.advanceRead(room.id, 'usr_a', 5, 3)).toBe(true);
        expect(await get()).toMatchObject({ read_seq: 5, read_count: 3, delivered_seq: 5 });
        expect(await rr.advanceRead(room.id, 'usr_a', 5, 9)).toBe(false);
        expect(await rr.advanceRead(room.id, 'usr_a', 2, 1)).toBe(false);
        expect(await get()).toMatchObject({ read_seq: 5, read_count: 3, delivered_seq: 5 });
        // delivered ahead of read: reading does not pull delivered back.
        expect(await rr.advanceDelivered(room.id, 'usr_a', 20)).toBe(true);
        expect(await rr.advanceRead(room.id, 'usr_a', 8, 4)).toBe(true);
        expect(await get()).toMatchObject({ read_seq: 8, read_count: 4, delivered_seq: 20 });
        expect(await rr.advanceRead(room.id, 'usr_nobody', 8, 4)).toBe(false);
      });

      it('advanceReadMany moves many pointers forward in one go, never back', async () => {
        const rr = store.repos.rooms;
        const a = await insertRoom(store.repos);
        const b = await insertRoom(store.repos);
        for (const [room, user] of [
          [a, 'usr_a'],
          [a, 'usr_b'],
          [b, 'usr_a'],
        ] as const)
          await join(store.repos, room.id, user);
        await rr.advanceRead(a.id, 'usr_b', 9, 6);
        await rr.advanceDelivered(b.id, 'usr_a', 30);
        await rr.advanceReadMany([
          { roomId: a.id, userId: 'usr_a', seq: 4, readCount: 2 },
          { roomId: a.id, userId: 'usr_b', seq: 7, readCount: 5 }, // behind: stays at 9
          { roomId: b.id, userId: 'usr_a', seq: 12, readCount: 8 },
          { roomId: b.id, userId: 'usr_nobody', seq: 12, readCount: 8 }, // not a member: nothing
        ]);
        expect(await rr.getMember(a.id, 'usr_a')).toMatchObject({
          read_seq: 4,
          read_count: 2,
          delivered_seq: 4,
        });
        expect(await rr.getMember(a.id, 'usr_b')).toMatchObject({
          read_seq: 9,
          read_count: 6,
          delivered_seq: 9,
        });
        expect(await rr.getMember(b.id, 'usr_a')).toMatchObject({
          read_seq: 12,
          read_count: 8,
          delivered_seq: 30,
        });
        expect(await rr.getMember(b.id, 'usr_nobody')).toBeUndefined();
        await rr.advanceReadMany([]);
      });

      it('advanceDelivered only moves forward and leaves read alone', async () => {
        const room = await insertRoom(store.repos);
        await join(store.repos, room.id, 'usr_a');
        const rr = store.repos.rooms;
        expect(await rr.advanceDelivered(room.id, 'usr_a', 4)).toBe(true);
        expect(await rr.advanceDelivered(room.id, 'usr_a', 4)).toBe(false);
        expect(await rr.advanceDelivered(room.id, 'usr_a', 3)).toBe(false);
        expect(await rr.getMember(room.id, 'usr_a')).toMatchObject({ delivered_seq: 4, read_seq: 0 });
        expect(await rr.advanceDelivered(room.id, 'usr_a', 7)).toBe(true);
        expect((await rr.getMember(room.id, 'usr_a'))?.delivered_seq).toBe(7);
        expect(await rr.advanceDelivered(room.id, 'usr_nobody', 7)).toBe(false);
      });
    });

    describe('bans', () => {
      it('membershipsOf and bansOf answer exactly the pairs asked for', async () => {
        const rr = store.repos.rooms;
        const a = await insertRoom(store.repos);
        const b = await insertRoom(store.repos);
        await join(store.repos, a.id, 'usr_a');
        await join(store.repos, b.id, 'usr_b');
        await join(store.repos, b.id, 'usr_a');
        await rr.ban(a.id, 'usr_b', 'usr_mod', null, T0, null);
        await rr.ban(b.id, 'usr_c', 'usr_mod', null, T0, T0 + 10);
        // (b, usr_a) exists but is not asked for; (a, usr_b) is asked for but is no membership.
        const asked = [
          { roomId: a.id, userId: 'usr_a' },
          { roomId: a.id, userId: 'usr_b' },
          { roomId: b.id, userId: 'usr_b' },
          { roomId: b.id, userId: 'usr_c' },
        ];
        const members = await rr.membershipsOf(asked);
        expect(members.map((m) => `${m.room_id}/${m.user_id}`).sort()).toEqual(
          [`${a.id}/usr_a`, `${b.id}/usr_b`].sort(),
        );
        expect((await rr.bansOf(asked, T0 + 5)).map((x) => `${x.room_id}/${x.user_id}`).sort()).toEqual(
          [`${a.id}/usr_b`, `${b.id}/usr_c`].sort(),
        );
        // The temporary ban has run out by T0 + 10.
        expect((await rr.bansOf(asked, T0 + 10)).map((x) => x.user_id)).toEqual(['usr_b']);
        expect(await rr.membershipsOf([])).toEqual([]);
      });

      it('permanent ban, expiring ban, re-ban and unban', async () => {
        const room = await insertRoom(store.repos);
        const rr = store.repos.rooms;
        expect(await rr.isBanned(room.id, 'usr_a', T0)).toBe(false);

        await rr.ban(room.id, 'usr_a', 'usr_mod', 'spam', T0, null);
        expect(await rr.isBanned(room.id, 'usr_a', T0 + 10 ** 9)).toBe(true);
        expect(await rr.isBanned(room.id, 'usr_b', T0)).toBe(false);

        await rr.ban(room.id, 'usr_b', 'usr_mod', null, T0 + 1, T0 + 100);
        expect(await rr.isBanned(room.id, 'usr_b', T0 + 99)).toBe(true);
        expect(await rr.isBanned(room.id, 'usr_b', T0 + 100)).toBe(false);
        expect(await rr.isBanned(room.id, 'usr_b', T0 + 101)).toBe(false);

        // Banning again replaces the ban (here: permanent becomes temporary).
        await rr.ban(room.id, 'usr_a', 'usr_mod2', 'again', T0 + 2, T0 + 50);
        expect(await rr.isBanned(room.id, 'usr_a', T0 + 49)).toBe(true);
        expect(await rr.isBanned(room.id, 'usr_a', T0 + 51)).toBe(false);

        const bans = await rr.listBans(room.id, T0 + 10);
        expect(bans.map((b) => b.user_id)).toEqual(['usr_a', 'usr_b']);
        // Expired bans drop out of the list, on the same boundary as isBanned.
        expect((await rr.listBans(room.id, T0 + 50)).map((b) => b.user_id)).toEqual(['usr_b']);
        expect(await rr.listBans(room.id, T0 + 100)).toEqual([]);
        expect(bans[0]).toEqual({
          room_id: room.id,
          user_id: 'usr_a',
          banned_by: 'usr_mod2',
          reason: 'again',
          created_at: T0 + 2,
          expires_at: T0 + 50,
        });

        expect(await rr.unban(room.id, 'usr_a')).toBe(true);
        expect(await rr.unban(room.id, 'usr_a')).toBe(false);
        expect(await rr.isBanned(room.id, 'usr_a', T0)).toBe(false);
        expect((await rr.listBans(room.id, T0)).map((b) => b.user_id)).toEqual(['usr_b']);
      });

      it('bans are per room', async () => {
        const a = await insertRoom(store.repos);
        const b = await insertRoom(store.repos);
        await store.repos.rooms.ban(a.id, 'usr_a', 'usr_mod', null, T0, null);
        expect(await store.repos.rooms.isBanned(a.id, 'usr_a', T0)).toBe(true);
        expect(await store.repos.rooms.isBanned(b.id, 'usr_a', T0)).toBe(false);
      });
    });
  });

  describe(`rooms repository visibility (${backend})`, () => {
    let store: Store;
    let close: () => Promise<void>;
    const NOW = T0 + 1_000_000;
    const U = 'usr_viewer';
    const V = 'usr_other';
    let rooms: Record<string, RoomRow>;

    beforeAll(async () => {
      ({ store, close } = await openTestStore(backend));
      const mk = async (key: string, type: string, activity: number) => {
        const r = await insertRoom(store.repos, { id: `room_${key}`, type, last_activity: T0 + activity });
        return [key, r] as const;
      };
      rooms = Object.fromEntries(
        await Promise.all([
          mk('pub', 'public', 10),
          mk('ann', 'announcement', 60),
          mk('privMember', 'private', 30),
          mk('privOther', 'private', 100),
          mk('groupOther', 'group', 90),
          mk('dm', 'direct', 50),
          mk('pubJoined', 'public', 40),
          mk('pubBanned', 'public', 80),
          mk('pubBanExpired', 'public', 20),
          mk('pubTie1', 'public', 70),
          mk('pubTie2', 'public', 70),
        ]),
      );
      await join(store.repos, rooms.privMember!.id, U, { role: 'admin', read_seq: 4, read_count: 2 });
      await join(store.repos, rooms.dm!.id, U);
      await join(store.repos, rooms.pubJoined!.id, U, { role: 'owner' });
      await join(store.repos, rooms.privOther!.id, V);
      await store.repos.rooms.ban(rooms.pubBanned!.id, U, 'usr_mod', null, T0, null);
      await store.repos.rooms.ban(rooms.pubBanExpired!.id, U, 'usr_mod', null, T0, NOW - 1);
      // Still banned (ban runs out later) and still a member row: hidden as well.
      await join(store.repos, rooms.groupOther!.id, U);
      await store.repos.rooms.ban(rooms.groupOther!.id, U, 'usr_mod', null, T0, NOW + 1);
    });
    afterAll(() => close());

    const ids = (rows: { id: string }[]) => rows.map((r) => r.id.replace(/^room_/, ''));
    const list = async (f: {
      userId?: string;
      type?: string;
      joinedOnly?: boolean;
      limit?: number;
      offset?: number;
    }) =>
      ids(
        await store.repos.rooms.list({
          userId: f.userId ?? U,
          type: f.type,
          joinedOnly: f.joinedOnly ?? false,
          limit: f.limit ?? 100,
          offset: f.offset ?? 0,
          now: NOW,
        }),
      );
    const count = (f: { userId?: string; type?: string; joinedOnly?: boolean }) =>
      store.repos.rooms.countVisible({
        userId: f.userId ?? U,
        type: f.type,
        joinedOnly: f.joinedOnly ?? false,
        now: NOW,
      });

    it('lists public, announcement and member rooms, newest activity first, minus banned ones', async () => {
      // Order: last_activity desc, ties by id (room_pubTie1 < room_pubTie2).
      expect(await list({})).toEqual([
        'pubTie1',
        'pubTie2',
        'ann',
        'dm',
        'pubJoined',
        'privMember',
        'pubBanExpired',
        'pub',
      ]);
      expect(await count({})).toBe(8);
    });

    it('shows another user their own set', async () => {
      expect(await list({ userId: V })).toEqual([
        'privOther',
        'pubBanned',
        'pubTie1',
        'pubTie2',
        'ann',
        'pubJoined',
        'pubBanExpired',
        'pub',
      ]);
      expect(await count({ userId: V })).toBe(8);
    });

    it('carries the membership columns, null when not joined', async () => {
      const rows = await store.repos.rooms.list({
        userId: U,
        joinedOnly: false,
        limit: 100,
        offset: 0,
        now: NOW,
      });
      const byId = new Map(rows.map((r) => [r.id, r]));
      expect(byId.get(rooms.privMember!.id)).toMatchObject({ role: 'admin', read_seq: 4, read_count: 2 });
      expect(byId.get(rooms.pubJoined!.id)).toMatchObject({ role: 'owner', read_seq: 0, read_count: 0 });
      expect(byId.get(rooms.pub!.id)).toMatchObject({ role: null, read_seq: null, read_count: null });
      expect(byId.get(rooms.pub!.id)).toMatchObject({ name: rooms.pub!.name, type: 'public' });
    });

    it('filters by type', async () => {
      expect(await list({ type: 'private' })).toEqual(['privMember']);
      expect(await count({ type: 'private' })).toBe(1);
      expect(await list({ type: 'public' })).toEqual([
        'pubTie1',
        'pubTie2',
        'pubJoined',
        'pubBanExpired',
        'pub',
      ]);
      expect(await count({ type: 'public' })).toBe(5);
      expect(await list({ type: 'group' })).toEqual([]);
      expect(await count({ type: 'group' })).toBe(0);
      expect(await list({ type: 'direct' })).toEqual(['dm']);
    });

    it('joinedOnly lists member rooms only', async () => {
      expect(await list({ joinedOnly: true })).toEqual(['dm', 'pubJoined', 'privMember']);
      expect(await count({ joinedOnly: true })).toBe(3);
      expect(await list({ joinedOnly: true, type: 'public' })).toEqual(['pubJoined']);
      expect(await list({ joinedOnly: true, userId: 'usr_stranger' })).toEqual([]);
      expect(await count({ joinedOnly: true, userId: 'usr_stranger' })).toBe(0);
    });

    it('paginates in a stable order without overlap or gaps', async () => {
      const all = await list({});
      const pages: string[] = [];
      for (let offset = 0; offset < all.length + 3; offset += 3)
        pages.push(...(await list({ limit: 3, offset })));
      expect(pages).toEqual(all);
      expect(await list({ limit: 2, offset: 1 })).toEqual(all.slice(1, 3));
    });

    it('a ban that ran out no longer hides the room', async () => {
      expect(await list({})).toContain('pubBanExpired');
      expect(await store.repos.rooms.isBanned(rooms.pubBanExpired!.id, U, NOW)).toBe(false);
      expect(await store.repos.rooms.isBanned(rooms.groupOther!.id, U, NOW)).toBe(true);
      expect(await list({})).not.toContain('groupOther');
    });
  });
}
