import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PendingEvent, RoomEvent } from '../../src/events/room-event.js';
import { appendOne, appendToLog } from '../../src/events/room-log.js';
import type { RoomRow } from '../../src/store/database.js';
import type { Store } from '../../src/store/store.js';
import { availableBackends } from '../helpers/backends.js';
import { openTestStore } from '../helpers/test-store.js';
import { insertRoom, T0 } from './fixtures.js';

const left = (userId: string): PendingEvent<'user_left'> => ({
  type: 'user_left',
  actorId: userId,
  body: { userId, reason: 'left' },
});

for (const backend of await availableBackends()) {
  describe(`room log (${backend})`, () => {
    let store: Store;
    let close: () => Promise<void>;
    let room: RoomRow;
    beforeEach(async () => {
      ({ store, close } = await openTestStore(backend));
      room = await insertRoom(store.repos);
    });
    afterEach(() => close());

    const head = async (id = room.id) => {
      const r = (await store.repos.rooms.findById(id))!;
      return { last_seq: r.last_seq, message_count: r.message_count, last_activity: r.last_activity };
    };

    it('appendOne assigns the next seq and the event round-trips through EventsRepository.after', async () => {
      const e1 = await store.tx((r) => appendOne(r, room.id, T0 + 1, left('usr_a')));
      const e2 = await store.tx((r) =>
        appendOne(r, room.id, T0 + 2, {
          type: 'member_updated',
          actorId: null,
          body: { userId: 'usr_b', role: 'admin', by: 'usr_a' },
        }),
      );
      expect(e1).toEqual({
        roomId: room.id,
        seq: 1,
        type: 'user_left',
        actorId: 'usr_a',
        createdAt: T0 + 1,
        body: { userId: 'usr_a', reason: 'left' },
      });
      expect(e2.seq).toBe(2);
      expect(await store.repos.events.after(room.id, 0, 100)).toEqual([e1, e2]);
      expect(await head()).toEqual({ last_seq: 2, message_count: 0, last_activity: T0 + 2 });
    });

    it('appendToLog reserves a block: build sees the first seq and msg_no, events are dense', async () => {
      await store.tx((r) => appendOne(r, room.id, T0, left('usr_a')));
      let seen: [number, number] | undefined;
      const events = await store.tx((r) =>
        appendToLog(r, room.id, T0 + 5, 3, 2, (firstSeq, firstMsgNo) => {
          seen = [firstSeq, firstMsgNo];
          return [left('usr_b'), left('usr_c'), left('usr_d')];
        }),
      );
      expect(seen).toEqual([2, 1]);
      expect(events.map((e) => e.seq)).toEqual([2, 3, 4]);
      expect(events.map((e) => (e.body as { userId: string }).userId)).toEqual(['usr_b', 'usr_c', 'usr_d']);
      expect(events.every((e) => e.createdAt === T0 + 5 && e.roomId === room.id)).toBe(true);
      expect(await head()).toEqual({ last_seq: 4, message_count: 2, last_activity: T0 + 5 });
      const stored = await store.repos.events.after(room.id, 0, 100);
      expect(stored.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect(stored.slice(1)).toEqual(events);
    });

    it('rolls back the event and the seq reservation when the transaction throws after appending', async () => {
      const ok = await store.tx((r) => appendOne(r, room.id, T0 + 1, left('usr_a')));
      const before = await head();
      const boom = new Error('boom after append');
      let appendedInside: RoomEvent | undefined;
      await expect(
        store.tx(async (r) => {
          appendedInside = await appendOne(r, room.id, T0 + 99, left('usr_b'));
          // Visible inside the transaction...
          expect((await r.rooms.findById(room.id))?.last_seq).toBe(2);
          expect((await r.events.after(room.id, 1, 10)).map((e) => e.seq)).toEqual([2]);
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(appendedInside?.seq).toBe(2);
      // ...and gone after the rollback.
      expect(await head()).toEqual(before);
      expect(await store.repos.events.after(room.id, 0, 100)).toEqual([ok]);
      // The next append reuses the seq: no gap.
      const next = await store.tx((r) => appendOne(r, room.id, T0 + 3, left('usr_c')));
      expect(next.seq).toBe(2);
      expect((await store.repos.events.after(room.id, 0, 100)).map((e) => e.seq)).toEqual([1, 2]);
    });

    it('rolls back a multi-event append whose build returns the wrong number of events', async () => {
      await expect(store.tx((r) => appendToLog(r, room.id, T0, 2, 1, () => [left('usr_a')]))).rejects.toThrow(
        /reserved 2 seqs, built 1/,
      );
      expect(await head()).toEqual({ last_seq: 0, message_count: 0, last_activity: T0 });
      expect(await store.repos.events.after(room.id, 0, 100)).toEqual([]);
    });

    it('rolls back every room touched by a failing transaction', async () => {
      const other = await insertRoom(store.repos);
      await expect(
        store.tx(async (r) => {
          await appendOne(r, room.id, T0 + 1, left('usr_a'));
          await appendOne(r, other.id, T0 + 1, left('usr_a'));
          await appendOne(r, 'room_missing', T0 + 1, left('usr_a'));
        }),
      ).rejects.toThrow();
      expect((await head(room.id)).last_seq).toBe(0);
      expect((await head(other.id)).last_seq).toBe(0);
      expect(await store.repos.events.after(room.id, 0, 10)).toEqual([]);
      expect(await store.repos.events.after(other.id, 0, 10)).toEqual([]);
    });

    it('rejects a duplicate (room, seq) in the events table', async () => {
      const e = await store.tx((r) => appendOne(r, room.id, T0, left('usr_a')));
      await expect(store.repos.events.insertMany([e])).rejects.toThrow();
    });

    it('EventsRepository.after filters by room and seq and honours the limit', async () => {
      const other = await insertRoom(store.repos);
      for (let i = 0; i < 5; i++) await store.tx((r) => appendOne(r, room.id, T0 + i, left(`usr_${i}`)));
      await store.tx((r) => appendOne(r, other.id, T0, left('usr_x')));
      const seqs = async (after: number, limit: number) =>
        (await store.repos.events.after(room.id, after, limit)).map((e) => e.seq);
      expect(await seqs(0, 2)).toEqual([1, 2]);
      expect(await seqs(2, 2)).toEqual([3, 4]);
      expect(await seqs(3, 100)).toEqual([4, 5]);
      expect(await seqs(5, 100)).toEqual([]);
      const otherEvents = await store.repos.events.after(other.id, 0, 100);
      expect(otherEvents.map((e) => [e.roomId, e.seq])).toEqual([[other.id, 1]]);
      await store.repos.events.insertMany([]);
    });

    it('200 concurrent transactions appending to one room get seqs exactly 1..200', async () => {
      const N = 200;
      const events = await Promise.all(
        Array.from({ length: N }, (_, i) => store.tx((r) => appendOne(r, room.id, T0 + i, left(`usr_${i}`)))),
      );
      const expected = Array.from({ length: N }, (_, i) => i + 1);
      expect(events.map((e) => e.seq).sort((a, b) => a - b)).toEqual(expected);
      expect((await head()).last_seq).toBe(N);
      const stored = await store.repos.events.after(room.id, 0, N + 10);
      expect(stored.map((e) => e.seq)).toEqual(expected);
      // Each transaction's event is the one stored at its seq.
      const bySeq = new Map(stored.map((e) => [e.seq, e]));
      for (const e of events) expect(bySeq.get(e.seq)).toEqual(e);
    });

    it('concurrent multi-event appends interleave as whole blocks', async () => {
      const N = 40;
      const blocks = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          store.tx((r) =>
            appendToLog(r, room.id, T0, 3, 1, () => [left(`usr_${i}`), left(`usr_${i}`), left(`usr_${i}`)]),
          ),
        ),
      );
      for (const b of blocks) expect(b.map((e) => e.seq - b[0]!.seq)).toEqual([0, 1, 2]);
      const firsts = blocks.map((b) => b[0]!.seq).sort((a, b) => a - b);
      expect(firsts).toEqual(Array.from({ length: N }, (_, i) => 3 * i + 1));
      expect(await head()).toMatchObject({ last_seq: 3 * N, message_count: N });
    });
  });
}
