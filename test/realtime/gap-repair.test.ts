import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoomEvent } from '../../src/events/room-event.js';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import {
  closeAll,
  contents,
  is,
  joinRest,
  lastSeq,
  live,
  msgIn,
  newUsers,
  principal,
  type WsClient,
} from './ws-client.js';

/**
 * The live path repairs itself: events lost on the bus, published twice or out of order reach the
 * client once and in seq order, the missing ones read from the store.
 */
async function setup(t: TestApp) {
  const [alice, bob] = await newUsers(t, 2);
  const room = await t.newRoom(alice);
  await joinRest(t, bob, room.roomId);
  return { alice, bob, roomId: room.roomId as string, head: await lastSeq(t, bob, room.roomId) };
}

/** Commits messages without publishing them on the bus (as if the bus lost them); returns their events. */
async function commitUnpublished(t: TestApp, author: TestUser, roomId: string, contents: string[]) {
  const bus = t.sb.bus;
  const publish = bus.publish;
  bus.publish = () => {};
  const seqs: number[] = [];
  try {
    for (const content of contents)
      seqs.push((await t.sb.messages.send(principal(author), roomId, { content })).message.seq);
  } finally {
    bus.publish = publish;
  }
  const events = await t.sb.store.repos.events.after(roomId, seqs[0]! - 1, contents.length);
  expect(events.map((e) => e.seq)).toEqual(seqs);
  return events as RoomEvent<'new_message'>[];
}

for (const backend of await availableBackends()) {
  describe(`gap repair on the live path (${backend})`, () => {
    let t: TestApp;
    const clients: WsClient[] = [];
    beforeAll(async () => {
      t = await startTestApp(backend, { RESUME_WAIT_MS: '50', PRESENCE_OFFLINE_GRACE_MS: '0' });
    });
    afterAll(async () => {
      await closeAll(clients);
      await t.close();
    });

    it('fetches a seq missing on the bus from the store and delivers both in order', async () => {
      const { alice, bob, roomId, head } = await setup(t);
      const b = await live(t, bob);
      clients.push(b);
      const [e1, e2] = await commitUnpublished(t, alice, roomId, ['first', 'second']);
      await b.barrier();
      expect(b.all(msgIn(roomId))).toEqual([]);

      t.sb.bus.publish([e2!]);
      const msgs = await b.waitForCount(msgIn(roomId), 2);
      expect(msgs.map((m) => m.seq)).toEqual([head + 1, head + 2]);
      expect(contents(msgs)).toEqual(['first', 'second']);
      expect(msgs[0]).toMatchObject({ type: 'new_message', roomId, seq: e1!.seq, actorId: alice.userId });

      // Duplicates (the same event again, or the repaired one arriving late) are dropped.
      t.sb.bus.publish([e2!, e2!]);
      t.sb.bus.publish([e1!]);
      await b.barrier();
      expect(b.all(msgIn(roomId))).toHaveLength(2);

      // The next live message continues right after.
      await t.sb.messages.send(principal(alice), roomId, { content: 'third' });
      const third = await b.waitForCount(msgIn(roomId), 3);
      expect(third[2]).toMatchObject({ seq: head + 3, message: { content: 'third' } });
    });

    it('reorders events published out of order', async () => {
      const { alice, bob, roomId, head } = await setup(t);
      const b = await live(t, bob);
      clients.push(b);
      const [e1, e2, e3] = await commitUnpublished(t, alice, roomId, ['a', 'b', 'c']);
      t.sb.bus.publish([e3!, e2!, e1!]);
      const msgs = await b.waitForCount(msgIn(roomId), 3);
      expect(msgs.map((m) => m.seq)).toEqual([head + 1, head + 2, head + 3]);
      expect(contents(msgs)).toEqual(['a', 'b', 'c']);
      await b.barrier();
      expect(b.all(msgIn(roomId))).toHaveLength(3);
    });

    it('delivers a published event exactly once to each of several sessions', async () => {
      const { alice, bob, roomId } = await setup(t);
      const b1 = await live(t, bob);
      const b2 = await live(t, bob);
      const a = await live(t, alice);
      clients.push(b1, b2, a);
      const [e1] = await commitUnpublished(t, alice, roomId, ['once']);
      for (let i = 0; i < 3; i++) t.sb.bus.publish([e1!]);
      for (const c of [b1, b2, a]) {
        await c.waitFor(msgIn(roomId));
        await c.barrier();
        expect(contents(c.all(msgIn(roomId)))).toEqual(['once']);
      }
    });

    it('closes with 1001 when the store cannot fill a gap (the client resumes later)', async () => {
      const { alice, bob, roomId } = await setup(t);
      const b = await live(t, bob);
      clients.push(b);
      const [, e2] = await commitUnpublished(t, alice, roomId, ['lost', 'seen']);
      const events = t.sb.store.repos.events;
      const after = events.after;
      events.after = async () => {
        throw new Error('store down');
      };
      try {
        t.sb.bus.publish([e2!]);
        const closed = await b.waitClose();
        expect(closed.code).toBe(1001);
      } finally {
        events.after = after;
      }
      // Nothing out of order reached the client before the close.
      expect(b.all(msgIn(roomId))).toEqual([]);
    });
  });

  describe(`gap repair beyond the replay limit (${backend})`, () => {
    let t: TestApp;
    const clients: WsClient[] = [];
    beforeAll(async () => {
      t = await startTestApp(backend, {
        RESUME_WAIT_MS: '50',
        PRESENCE_OFFLINE_GRACE_MS: '0',
        REPLAY_PER_ROOM: '10',
      });
    });
    afterAll(async () => {
      await closeAll(clients);
      await t.close();
    });

    it('tells the client it is behind instead of skipping ahead, and resume fills it in', async () => {
      const { alice, bob, roomId, head } = await setup(t);
      const b = await live(t, bob);
      clients.push(b);
      const lost = await commitUnpublished(
        t,
        alice,
        roomId,
        Array.from({ length: 12 }, (_, i) => `g${i}`),
      );
      t.sb.bus.publish([lost.at(-1)!]);
      const behind = await b.next(is('room_behind'));
      expect(behind).toEqual({ type: 'room_behind', roomId, afterSeq: head, lastSeq: head + 11 });
      expect(b.all(msgIn(roomId))).toEqual([]);

      // Resuming from the cursor it has delivers all twelve, in order.
      const resumed = await b.request({ type: 'resume', cursors: { [roomId]: head + 2 } });
      expect(resumed).toMatchObject({
        type: 'resumed',
        rooms: [{ roomId, fromSeq: head + 2, toSeq: head + 12, lastSeq: head + 12, complete: true }],
      });
      expect(contents(b.all(msgIn(roomId)))).toEqual(Array.from({ length: 10 }, (_, i) => `g${i + 2}`));
    });
  });
}
