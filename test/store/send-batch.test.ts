import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendOne } from '../../src/events/room-log.js';
import { commitSendBatch, type SendItem, type SendResult } from '../../src/messages/send-batch.js';
import { ContentPolicy } from '../../src/moderation/content-policy.js';
import type { ItemResult } from '../../src/store/group-commit.js';
import type { Store } from '../../src/store/store.js';
import { availableBackends } from '../helpers/backends.js';
import { openTestStore } from '../helpers/test-store.js';
import { insertRoom, join, sendItem, T0 } from './fixtures.js';

const policy = new ContentPolicy();

function values(results: ItemResult<SendResult>[]): SendResult[] {
  return results.map((r, i) => {
    if (!r.ok) throw new Error(`item ${i} failed: ${String(r.error)}`);
    return r.value;
  });
}

for (const backend of await availableBackends()) {
  describe(`commitSendBatch (${backend})`, () => {
    let store: Store;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await openTestStore(backend));
    });
    afterEach(() => close());

    const send = async (items: SendItem[]) =>
      values(await store.tx((r) => commitSendBatch(r, items, policy)));

    it('gives dense per-room seqs and message numbers across several rooms', async () => {
      // Room ids chosen so the batch order differs from the id order the batch visits rooms in.
      const a = await insertRoom(store.repos, { id: 'room_b' });
      const b = await insertRoom(store.repos, { id: 'room_a' });
      const c = await insertRoom(store.repos, { id: 'room_c' });
      // Room a already has a non-message event: its messages start at seq 2 but msg_no 1.
      await store.tx((r) =>
        appendOne(r, a.id, T0, { type: 'user_left', actorId: 'x', body: { userId: 'x', reason: 'left' } }),
      );
      const items = [
        sendItem(a.id, 'usr_1', { content: 'a1' }),
        sendItem(b.id, 'usr_2', { content: 'b1' }),
        sendItem(a.id, 'usr_2', { content: 'a2' }),
        sendItem(c.id, 'usr_1', { content: 'c1' }),
        sendItem(b.id, 'usr_1', { content: 'b2' }),
        sendItem(a.id, 'usr_3', { content: 'a3' }),
      ];
      const res = await send(items);
      expect(res.map((r) => [r.message.roomId, r.message.content, r.message.seq])).toEqual([
        [a.id, 'a1', 2],
        [b.id, 'b1', 1],
        [a.id, 'a2', 3],
        [c.id, 'c1', 1],
        [b.id, 'b2', 2],
        [a.id, 'a3', 4],
      ]);
      for (const r of res) {
        expect(r.duplicate).toBe(false);
        expect(r.event).toMatchObject({ type: 'new_message', roomId: r.message.roomId, seq: r.message.seq });
        expect(r.event?.body).toEqual({ message: r.message });
        expect(r.message).toMatchObject({ authorName: `Name of ${r.message.authorId}`, isDeleted: false });
      }
      expect(new Set(res.map((r) => r.message.messageId)).size).toBe(6);

      const roomHead = async (id: string) => {
        const row = (await store.repos.rooms.findById(id))!;
        return [row.last_seq, row.message_count];
      };
      expect(await roomHead(a.id)).toEqual([4, 3]);
      expect(await roomHead(b.id)).toEqual([2, 2]);
      expect(await roomHead(c.id)).toEqual([1, 1]);

      // Stored messages carry msg_no, and the log holds the same events.
      const storedA = await store.repos.messages.history({ roomId: a.id, limit: 10 });
      expect(storedA.map((m) => [m.seq, m.msg_no, m.content])).toEqual([
        [2, 1, 'a1'],
        [3, 2, 'a2'],
        [4, 3, 'a3'],
      ]);
      const eventsA = await store.repos.events.after(a.id, 1, 10);
      expect(eventsA).toEqual(res.filter((r) => r.message.roomId === a.id).map((r) => r.event));

      // A second batch continues where the first stopped.
      const more = await send([sendItem(b.id, 'usr_1'), sendItem(a.id, 'usr_1')]);
      expect(more.map((r) => r.message.seq)).toEqual([3, 5]);
      expect(await roomHead(a.id)).toEqual([5, 4]);
    });

    it('answers a repeated (author, clientMsgId) in one batch with the first message', async () => {
      const room = await insertRoom(store.repos);
      const res = await send([
        sendItem(room.id, 'usr_a', { clientMsgId: 'k1', content: 'first' }),
        sendItem(room.id, 'usr_a', { clientMsgId: 'k1', content: 'retry' }),
        sendItem(room.id, 'usr_b', { clientMsgId: 'k1', content: 'other author' }),
        sendItem(room.id, 'usr_a', { clientMsgId: null, content: 'no key' }),
        sendItem(room.id, 'usr_a', { clientMsgId: null, content: 'no key' }),
      ]);
      expect(res.map((r) => r.duplicate)).toEqual([false, true, false, false, false]);
      expect(res[1]!.message).toEqual(res[0]!.message);
      expect(res[1]!.message.content).toBe('first');
      expect(res[0]!.event?.seq).toBe(1);
      expect(res[1]!.event).toBeUndefined();
      expect(res[2]!.message.messageId).not.toBe(res[0]!.message.messageId);
      expect(res[3]!.message.messageId).not.toBe(res[4]!.message.messageId);
      expect(res.map((r) => r.message.seq)).toEqual([1, 1, 2, 3, 4]);
      const row = (await store.repos.rooms.findById(room.id))!;
      expect([row.last_seq, row.message_count]).toEqual([4, 4]);
      expect(await store.repos.messages.history({ roomId: room.id, limit: 10 })).toHaveLength(4);
    });

    it('answers a key stored by an earlier batch with the stored message, reserving nothing', async () => {
      const room = await insertRoom(store.repos);
      const elsewhere = await insertRoom(store.repos);
      const [first] = await send([
        sendItem(room.id, 'usr_a', { clientMsgId: 'k1', content: 'original', now: T0 + 10 }),
      ]);
      const later = await send([
        sendItem(room.id, 'usr_a', { clientMsgId: 'k1', content: 'changed', now: T0 + 20 }),
        sendItem(elsewhere.id, 'usr_a', { clientMsgId: 'k1', content: 'other room' }),
        sendItem(room.id, 'usr_a', { clientMsgId: 'k2', content: 'new' }),
      ]);
      expect(later.map((r) => r.duplicate)).toEqual([true, true, false]);
      for (const dup of later.slice(0, 2)) {
        expect(dup.event).toBeUndefined();
        expect(dup.message).toEqual(first!.message);
      }
      expect(later[2]!.message.seq).toBe(2);
      expect((await store.repos.rooms.findById(room.id))?.last_seq).toBe(2);
      expect((await store.repos.rooms.findById(elsewhere.id))?.last_seq).toBe(0);
      expect(await store.repos.messages.history({ roomId: elsewhere.id, limit: 10 })).toEqual([]);
    });

    it("advances the sender's read pointer to their last message, and nobody else's", async () => {
      const room = await insertRoom(store.repos);
      await join(store.repos, room.id, 'usr_a');
      await join(store.repos, room.id, 'usr_b');
      const res = await send([
        sendItem(room.id, 'usr_a'),
        sendItem(room.id, 'usr_b'),
        sendItem(room.id, 'usr_a'),
        // Not a member: nothing to advance, and no member row appears.
        sendItem(room.id, 'usr_c'),
      ]);
      expect(res.map((r) => r.message.seq)).toEqual([1, 2, 3, 4]);
      expect(await store.repos.rooms.getMember(room.id, 'usr_a')).toMatchObject({
        read_seq: 3,
        read_count: 3,
        delivered_seq: 3,
      });
      expect(await store.repos.rooms.getMember(room.id, 'usr_b')).toMatchObject({
        read_seq: 2,
        read_count: 2,
        delivered_seq: 2,
      });
      expect(await store.repos.rooms.getMember(room.id, 'usr_c')).toBeUndefined();
      await send([sendItem(room.id, 'usr_b')]);
      expect(await store.repos.rooms.getMember(room.id, 'usr_a')).toMatchObject({
        read_seq: 3,
        read_count: 3,
      });
      expect(await store.repos.rooms.getMember(room.id, 'usr_b')).toMatchObject({
        read_seq: 5,
        read_count: 5,
      });
    });

    it('a batch that fails commits nothing', async () => {
      const room = await insertRoom(store.repos);
      await expect(
        store.tx((r) =>
          commitSendBatch(
            r,
            [sendItem(room.id, 'usr_a', { clientMsgId: 'k1' }), sendItem('room_missing', 'usr_a')],
            policy,
          ),
        ),
      ).rejects.toThrow();
      expect((await store.repos.rooms.findById(room.id))?.last_seq).toBe(0);
      expect(await store.repos.messages.findByClientIds('usr_a', ['k1'])).toEqual([]);
      expect(await store.repos.events.after(room.id, 0, 10)).toEqual([]);
    });

    it('concurrent batches on one room keep seqs and message numbers dense', async () => {
      const room = await insertRoom(store.repos);
      const N = 50;
      const all = (
        await Promise.all(
          Array.from({ length: N }, (_, i) =>
            send([sendItem(room.id, `usr_${i}`), sendItem(room.id, `usr_${i}`, { clientMsgId: `k${i}` })]),
          ),
        )
      ).flat();
      const expected = Array.from({ length: 2 * N }, (_, i) => i + 1);
      expect(all.map((r) => r.message.seq).sort((a, b) => a - b)).toEqual(expected);
      const stored = await store.repos.messages.history({ roomId: room.id, limit: 1000 });
      expect(stored.map((m) => m.seq)).toEqual(expected);
      expect(stored.map((m) => m.msg_no)).toEqual(expected);
    });
  });
}
