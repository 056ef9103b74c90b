import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MessageRow, RoomRow, UserRow } from '../../src/store/database.js';
import type { Store } from '../../src/store/store.js';
import { availableBackends } from '../helpers/backends.js';
import { openTestStore } from '../helpers/test-store.js';
import { insertRoom, insertUser, messageRow, T0 } from './fixtures.js';

for (const backend of await availableBackends()) {
  describe(`messages repository (${backend})`, () => {
    let store: Store;
    let close: () => Promise<void>;
    let room: RoomRow;
    let other: RoomRow;
    let author: UserRow;
    beforeEach(async () => {
      ({ store, close } = await openTestStore(backend));
      room = await insertRoom(store.repos);
      other = await insertRoom(store.repos);
      author = await insertUser(store.repos, { display_name: 'The Author', avatar: 'av.png' });
    });
    afterEach(() => close());

    /** Ten messages at seqs 2, 4, ..., 20 (events in between), msg_no 1..10; plus noise in another room. */
    async function seedHistory(): Promise<MessageRow[]> {
      const rows = Array.from({ length: 10 }, (_, i) => messageRow(room.id, author.id, 2 * (i + 1), i + 1));
      await store.repos.messages.insertMany(rows);
      await store.repos.messages.insertMany([
        messageRow(other.id, author.id, 3, 1),
        messageRow(other.id, author.id, 11, 2),
      ]);
      return rows;
    }

    const seqs = async (q: { beforeSeq?: number; afterSeq?: number; limit: number }) =>
      (await store.repos.messages.history({ roomId: room.id, ...q })).map((m) => m.seq);

    describe('history', () => {
      it('without cursors returns the newest page, oldest first', async () => {
        await seedHistory();
        expect(await seqs({ limit: 3 })).toEqual([16, 18, 20]);
        expect(await seqs({ limit: 100 })).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
      });

      it('before returns the newest messages strictly below the cursor, oldest first', async () => {
        await seedHistory();
        expect(await seqs({ beforeSeq: 10, limit: 3 })).toEqual([4, 6, 8]);
        expect(await seqs({ beforeSeq: 11, limit: 3 })).toEqual([6, 8, 10]);
        expect(await seqs({ beforeSeq: 3, limit: 3 })).toEqual([2]);
        expect(await seqs({ beforeSeq: 2, limit: 3 })).toEqual([]);
      });

      it('after returns the oldest messages strictly above the cursor, oldest first', async () => {
        await seedHistory();
        expect(await seqs({ afterSeq: 10, limit: 3 })).toEqual([12, 14, 16]);
        expect(await seqs({ afterSeq: 0, limit: 2 })).toEqual([2, 4]);
        expect(await seqs({ afterSeq: 17, limit: 10 })).toEqual([18, 20]);
        expect(await seqs({ afterSeq: 20, limit: 10 })).toEqual([]);
      });

      it('with both cursors returns the newest of the range, oldest first', async () => {
        await seedHistory();
        expect(await seqs({ afterSeq: 4, beforeSeq: 12, limit: 10 })).toEqual([6, 8, 10]);
        expect(await seqs({ afterSeq: 4, beforeSeq: 20, limit: 2 })).toEqual([16, 18]);
        expect(await seqs({ afterSeq: 10, beforeSeq: 10, limit: 5 })).toEqual([]);
      });

      it('joins the author, null when the author row is gone', async () => {
        await seedHistory();
        const ghost = messageRow(room.id, 'usr_ghost', 21, 11);
        await store.repos.messages.insertMany([ghost]);
        const page = await store.repos.messages.history({ roomId: room.id, limit: 2 });
        expect(page.map((m) => m.id)).toHaveLength(2);
        expect(page[0]).toMatchObject({ seq: 20, author_name: 'The Author', author_avatar: 'av.png' });
        expect(page[1]).toEqual({ ...ghost, author_name: null, author_avatar: null });
        expect(await store.repos.messages.withAuthor(ghost.id)).toEqual({
          ...ghost,
          author_name: null,
          author_avatar: null,
        });
      });

      it('is empty for a room with no messages', async () => {
        expect(await seqs({ limit: 10 })).toEqual([]);
      });
    });

    it('round-trips a full row through findById', async () => {
      const row: MessageRow = {
        ...messageRow(room.id, author.id, 1, 1),
        reply_to: 'msg_parent',
        client_msg_id: 'c-1',
        attachments: JSON.stringify([{ id: 'a' }]),
        metadata: '{"k":"v"}',
        is_anonymous: 1,
        anonymous_name: 'Anon',
      };
      await store.repos.messages.insertMany([row]);
      expect(await store.repos.messages.findById(row.id)).toEqual(row);
      expect(await store.repos.messages.findById('msg_missing')).toBeUndefined();
    });

    it('msgNoAtSeq gives the msg_no of the newest message at or below seq', async () => {
      await seedHistory();
      const at = (seq: number) => store.repos.messages.msgNoAtSeq(room.id, seq);
      expect(await at(0)).toBe(0);
      expect(await at(1)).toBe(0);
      expect(await at(2)).toBe(1);
      expect(await at(3)).toBe(1);
      expect(await at(11)).toBe(5);
      expect(await at(20)).toBe(10);
      expect(await at(1000)).toBe(10);
      expect(await store.repos.messages.msgNoAtSeq(other.id, 10)).toBe(1);
      expect(await store.repos.messages.msgNoAtSeq('room_empty', 10)).toBe(0);
    });

    it('enforces one message per (author, client_msg_id), NULLs exempt', async () => {
      const m = (seq: number, authorId: string, clientMsgId: string | null) => ({
        ...messageRow(room.id, authorId, seq, seq),
        client_msg_id: clientMsgId,
      });
      await store.repos.messages.insertMany([m(1, 'usr_a', 'k1')]);
      await expect(store.repos.messages.insertMany([m(2, 'usr_a', 'k1')])).rejects.toThrow();
      // Same key from another author, and any number of NULL keys, are fine.
      await store.repos.messages.insertMany([m(3, 'usr_b', 'k1'), m(4, 'usr_a', null), m(5, 'usr_a', null)]);
      const found = await store.repos.messages.findByClientIds('usr_a', ['k1', 'k2']);
      expect(found.map((r) => [r.author_id, r.client_msg_id, r.seq])).toEqual([['usr_a', 'k1', 1]]);
      expect(await store.repos.messages.findByClientIds('usr_a', [])).toEqual([]);
      // Many authors' keys at once: only the exact (author, key) pairs match.
      const byKeys = await store.repos.messages.findByClientKeys([
        { authorId: 'usr_a', clientMsgId: 'k1' },
        { authorId: 'usr_b', clientMsgId: 'k1' },
        { authorId: 'usr_b', clientMsgId: 'k2' },
        { authorId: 'usr_c', clientMsgId: 'k1' },
      ]);
      expect(byKeys.map((r) => [r.author_id, r.client_msg_id, r.seq]).sort()).toEqual([
        ['usr_a', 'k1', 1],
        ['usr_b', 'k1', 3],
      ]);
      expect(await store.repos.messages.findByClientKeys([])).toEqual([]);
    });

    it('enforces one message per (room, seq); a failing multi-row insert stores nothing', async () => {
      await store.repos.messages.insertMany([messageRow(room.id, author.id, 1, 1)]);
      await expect(
        store.repos.messages.insertMany([
          messageRow(room.id, author.id, 2, 2),
          messageRow(room.id, author.id, 1, 3),
        ]),
      ).rejects.toThrow();
      expect(await seqs({ limit: 10 })).toEqual([1]);
      // The same seq in another room is fine.
      await store.repos.messages.insertMany([messageRow(other.id, author.id, 1, 1)]);
    });

    it('update patches fields; pinned lists pinned messages newest pin first', async () => {
      const rows = [1, 2, 3].map((s) => messageRow(room.id, author.id, s, s));
      await store.repos.messages.insertMany(rows);
      await store.repos.messages.update(rows[0]!.id, { is_pinned: 1, pinned_by: 'usr_x', pinned_at: T0 + 5 });
      await store.repos.messages.update(rows[2]!.id, { is_pinned: 1, pinned_by: 'usr_x', pinned_at: T0 + 9 });
      await store.repos.messages.update(rows[1]!.id, { content: 'edited', edited_at: T0 + 7 });
      const pinned = await store.repos.messages.pinned(room.id);
      expect(pinned.map((m) => m.id)).toEqual([rows[2]!.id, rows[0]!.id]);
      expect(pinned[0]?.author_name).toBe('The Author');
      expect(await store.repos.messages.findById(rows[1]!.id)).toEqual({
        ...rows[1],
        content: 'edited',
        edited_at: T0 + 7,
      });
      expect(await store.repos.messages.pinned(other.id)).toEqual([]);
    });

    describe('reactions', () => {
      it('add and remove are idempotent', async () => {
        const [m] = await seedHistory();
        const msgs = store.repos.messages;
        expect(await msgs.addReaction(m!.id, room.id, 'usr_a', '👍', T0)).toBe(true);
        expect(await msgs.addReaction(m!.id, room.id, 'usr_a', '👍', T0 + 1)).toBe(false);
        expect(await msgs.reactionUsers(m!.id, '👍')).toEqual(['usr_a']);
        expect(await msgs.removeReaction(m!.id, 'usr_a', '👍')).toBe(true);
        expect(await msgs.removeReaction(m!.id, 'usr_a', '👍')).toBe(false);
        expect(await msgs.reactionUsers(m!.id, '👍')).toEqual([]);
        expect(await msgs.addReaction(m!.id, room.id, 'usr_a', '👍', T0 + 2)).toBe(true);
        expect(await msgs.reactionUsers(m!.id, '👍')).toEqual(['usr_a']);
      });

      it('reactionsFor groups by message and emoji in reaction order', async () => {
        const [m1, m2, m3] = await seedHistory();
        const msgs = store.repos.messages;
        await msgs.addReaction(m1!.id, room.id, 'usr_c', '👍', T0 + 1);
        await msgs.addReaction(m1!.id, room.id, 'usr_a', '👍', T0 + 3);
        await msgs.addReaction(m1!.id, room.id, 'usr_b', '👍', T0 + 3);
        await msgs.addReaction(m1!.id, room.id, 'usr_a', '🎉', T0 + 2);
        await msgs.addReaction(m2!.id, room.id, 'usr_b', '❤️', T0 + 4);
        const map = await msgs.reactionsFor([m1!.id, m2!.id, m3!.id]);
        expect(map.get(m1!.id)).toEqual({ '👍': ['usr_c', 'usr_a', 'usr_b'], '🎉': ['usr_a'] });
        expect(map.get(m2!.id)).toEqual({ '❤️': ['usr_b'] });
        expect(map.has(m3!.id)).toBe(false);
        expect(map.size).toBe(2);
        // Only the asked-for messages.
        expect([...(await msgs.reactionsFor([m2!.id])).keys()]).toEqual([m2!.id]);
        expect((await msgs.reactionsFor([])).size).toBe(0);
        expect(await msgs.reactionUsers(m1!.id, '👍')).toEqual(['usr_c', 'usr_a', 'usr_b']);
        expect(await msgs.countReactionKinds(m1!.id, 'usr_a')).toBe(2);
        expect(await msgs.countReactionKinds(m1!.id, 'usr_z')).toBe(0);
      });

      it('clearReactions empties one message only', async () => {
        const [m1, m2] = await seedHistory();
        const msgs = store.repos.messages;
        await msgs.addReaction(m1!.id, room.id, 'usr_a', '👍', T0);
        await msgs.addReaction(m1!.id, room.id, 'usr_b', '🎉', T0);
        await msgs.addReaction(m2!.id, room.id, 'usr_a', '👍', T0);
        await msgs.clearReactions(m1!.id);
        const map = await msgs.reactionsFor([m1!.id, m2!.id]);
        expect(map.has(m1!.id)).toBe(false);
        expect(map.get(m2!.id)).toEqual({ '👍': ['usr_a'] });
      });
    });
  });
}
