import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import {
  closeAll,
  contents,
  type Frame,
  is,
  joinRest,
  lastSeq,
  live,
  msgIn,
  newUsers,
  principal,
  resumeFrom,
  sendRest,
  WsClient,
} from './ws-client.js';

/** Asserts strictly consecutive seqs (no gap, no duplicate). */
function expectConsecutive(frames: Frame[]) {
  const seqs = frames.map((f) => f.seq);
  expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
}

for (const backend of await availableBackends()) {
  describe(`resume (${backend})`, () => {
    let t: TestApp;
    const clients: WsClient[] = [];
    beforeAll(async () => {
      t = await startTestApp(backend, { RESUME_WAIT_MS: '50', PRESENCE_OFFLINE_GRACE_MS: '0' });
    });
    afterAll(async () => {
      await closeAll(clients);
      await t.close();
    });
    const track = (c: WsClient) => {
      clients.push(c);
      return c;
    };

    it('replays DMs sent while the recipient was offline, in order and once, then goes live', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const a = track(await live(t, alice));
      const acks: Frame[] = [];
      for (let i = 0; i < 5; i++) {
        acks.push(
          await a.ok({ type: 'send_message', toUserId: bob.userId, content: `dm${i}`, clientMsgId: `k${i}` }),
        );
      }
      const dm = acks[0]!.roomId as string;
      expect(acks.every((x) => x.roomId === dm && x.duplicate === false)).toBe(true);
      expect(acks.map((x) => x.seq)).toEqual(acks.map((_, i) => acks[0]!.seq + i));

      const b = track(await resumeFrom(t, bob, {}));
      const resumed = await b.next(is('resumed'));
      const before = b.frames.slice(0, b.frames.indexOf(resumed));
      const msgs = before.filter(msgIn(dm));
      expect(contents(msgs)).toEqual(['dm0', 'dm1', 'dm2', 'dm3', 'dm4']);
      expect(msgs.map((m) => m.seq)).toEqual(acks.map((x) => x.seq));
      expect(msgs.map((m) => m.message.messageId)).toEqual(acks.map((x) => x.messageId));
      expect(msgs[0]).toMatchObject({
        type: 'new_message',
        roomId: dm,
        actorId: alice.userId,
        createdAt: expect.any(String),
        message: { authorId: alice.userId, roomId: dm, seq: acks[0]!.seq, clientMsgId: 'k0' },
      });
      // The whole log of the new conversation came first: created, both joins, then the messages.
      expect(before.filter((f) => f.roomId === dm).map((f) => f.type)).toEqual([
        'room_created',
        'user_joined',
        'user_joined',
        ...Array(5).fill('new_message'),
      ]);
      expect(resumed.rooms).toEqual([
        { roomId: dm, fromSeq: 0, toSeq: acks[4]!.seq, lastSeq: acks[4]!.seq, complete: true },
      ]);
      expect(typeof resumed.syncToken).toBe('string');

      // Live from here on, exactly once.
      await a.ok({ type: 'send_message', toUserId: bob.userId, content: 'live' });
      const liveMsg = await b.next(msgIn(dm));
      expect(liveMsg.message.content).toBe('live');
      expect(liveMsg.seq).toBe(acks[4]!.seq + 1);
      await b.barrier();
      expect(b.all(msgIn(dm))).toHaveLength(6);
      await b.close();

      // Reconnecting with a stored cursor replays only what comes after it.
      await a.ok({ type: 'send_message', toUserId: bob.userId, content: 'while away' });
      const b2 = track(await resumeFrom(t, bob, { [dm]: acks[3]!.seq }));
      const resumed2 = await b2.next(is('resumed'));
      const replayed = b2.frames.slice(0, b2.frames.indexOf(resumed2)).filter(msgIn(dm));
      expect(contents(replayed)).toEqual(['dm4', 'live', 'while away']);
      expectConsecutive(replayed);
      await b2.barrier();
      expect(b2.all(msgIn(dm))).toHaveLength(3);
    });

    it('starts at the head when the client never resumes, and at the read position for unnamed rooms', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await t.newRoom(alice);
      await joinRest(t, bob, room.roomId);
      await sendRest(t, alice, room.roomId, 'old');

      // No resume frame: live from the head, nothing replayed.
      const b = track(await live(t, bob));
      const resumed = b.all(is('resumed'))[0]!;
      const head = await lastSeq(t, bob, room.roomId);
      expect(resumed.rooms).toEqual([
        { roomId: room.roomId, fromSeq: head, toSeq: head, lastSeq: head, complete: true },
      ]);
      expect(b.all(msgIn(room.roomId))).toEqual([]);
      await b.close();

      // resume {} : the room is not named, so it resumes from bob's read position (his join).
      const b2 = track(await resumeFrom(t, bob, {}));
      const resumed2 = await b2.next(is('resumed'));
      expect(contents(b2.all(msgIn(room.roomId)))).toEqual(['old']);
      expect(resumed2.rooms[0]).toMatchObject({ roomId: room.roomId, toSeq: head, complete: true });
    });

    it('resumes from a syncToken and rejects a forged one', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await t.newRoom(alice);
      await joinRest(t, bob, room.roomId);
      const b = track(await live(t, bob));
      await sendRest(t, alice, room.roomId, 'one');
      await b.next(msgIn(room.roomId));
      // The sync token of the start, advanced by what was delivered, is what a client stores.
      const start = b.all(is('resumed'))[0]!.syncToken as string;
      await b.close();
      await sendRest(t, alice, room.roomId, 'two');

      const b2 = track(await WsClient.connect(t.baseUrl, { token: bob.token }));
      b2.send({ type: 'resume', id: 'tok', syncToken: start });
      const resumed = await b2.next(is('resumed'));
      expect(resumed.id).toBe('tok');
      expect(contents(b2.all(msgIn(room.roomId)))).toEqual(['one', 'two']);

      const bad = await b2.request({ type: 'resume', syncToken: 'definitely-not-a-token' });
      expect(bad).toMatchObject({ type: 'error', code: 'INVALID_SYNC_TOKEN' });
    });

    it('merges a resume with messages committed while it replays', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await t.newRoom(alice);
      await joinRest(t, bob, room.roomId);
      const from = await lastSeq(t, bob, room.roomId);
      for (let i = 0; i < 20; i++) await sendRest(t, alice, room.roomId, `r${i}`);
      const b = track(await resumeFrom(t, bob, { [room.roomId]: from }));
      // Sent concurrently with the replay.
      const sending = (async () => {
        for (let i = 20; i < 40; i++) await sendRest(t, alice, room.roomId, `r${i}`);
      })();
      await sending;
      const msgs = await b.waitForCount(msgIn(room.roomId), 40);
      expect(contents(msgs)).toEqual(Array.from({ length: 40 }, (_, i) => `r${i}`));
      expectConsecutive(msgs);
      await b.barrier();
      expect(b.all(msgIn(room.roomId))).toHaveLength(40);
    });

    it('a resume sent after going live re-delivers the named room from the given cursor', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await t.newRoom(alice);
      await joinRest(t, bob, room.roomId);
      const from = await lastSeq(t, bob, room.roomId);
      const b = track(await live(t, bob));
      await sendRest(t, alice, room.roomId, 'x');
      await sendRest(t, alice, room.roomId, 'y');
      await b.waitForCount(msgIn(room.roomId), 2);
      const resumed = await b.request({ type: 'resume', cursors: { [room.roomId]: from + 1 } });
      expect(resumed).toMatchObject({
        type: 'resumed',
        rooms: [{ roomId: room.roomId, fromSeq: from + 1, toSeq: from + 2, complete: true }],
      });
      expect(contents(b.all(msgIn(room.roomId)))).toEqual(['x', 'y', 'y']);
    });

    it('a client that never resumes and sends right away still gets its sends acked in order', async () => {
      const [alice] = await newUsers(t, 1);
      const room = await t.newRoom(alice);
      const a = track(await WsClient.connect(t.baseUrl, { token: alice.token }));
      await a.next(is('ready'));
      for (let i = 0; i < 5; i++) {
        a.send({ type: 'send_message', id: `s${i}`, roomId: room.roomId, content: `o${i}` });
      }
      const acks = await a.waitForCount(is('ack'), 5);
      const byId = new Map(acks.map((x) => [x.id, x.seq as number]));
      const seqs = [0, 1, 2, 3, 4].map((i) => byId.get(`s${i}`)!);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
      const msgs = await a.waitForCount(msgIn(room.roomId), 5);
      expect(contents(msgs)).toEqual(['o0', 'o1', 'o2', 'o3', 'o4']);
    });
  });

  describe(`resume far behind (${backend})`, () => {
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
    const track = (c: WsClient) => {
      clients.push(c);
      return c;
    };

    /** Pages the room's log through REST from `after` to its head; returns the events and the last seq. */
    async function page(token: string, roomId: string, after: number) {
      const out: Frame[] = [];
      for (;;) {
        const r = await t.api('GET', `/v1/chat/rooms/${roomId}/events?after=${after}&limit=10`, { token });
        expect(r.status).toBe(200);
        out.push(...r.body.data.events);
        after = out.at(-1)?.seq ?? after;
        if (!r.body.data.hasMore) return { events: out, after };
      }
    }

    it('sends room_behind, pages through REST, resumes the room and goes live', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await t.newRoom(alice);
      const other = await t.newRoom(alice);
      await joinRest(t, bob, room.roomId);
      await joinRest(t, bob, other.roomId);
      const from = await lastSeq(t, bob, room.roomId);
      const otherFrom = await lastSeq(t, bob, other.roomId);
      for (let i = 0; i < 25; i++) await sendRest(t, alice, room.roomId, `p${i}`);
      await sendRest(t, alice, other.roomId, 'near');
      const head = from + 25;

      const b = track(await resumeFrom(t, bob, { [room.roomId]: from, [other.roomId]: otherFrom }));
      const behind = await b.next(is('room_behind'));
      expect(behind).toEqual({ type: 'room_behind', roomId: room.roomId, afterSeq: from, lastSeq: head });
      const resumed = await b.next(is('resumed'));
      expect(resumed.rooms).toEqual(
        expect.arrayContaining([
          { roomId: room.roomId, fromSeq: from, toSeq: from, lastSeq: head, complete: false },
          {
            roomId: other.roomId,
            fromSeq: otherFrom,
            toSeq: otherFrom + 1,
            lastSeq: otherFrom + 1,
            complete: true,
          },
        ]),
      );
      expect(b.all(msgIn(room.roomId))).toEqual([]);
      expect(contents(b.all(msgIn(other.roomId)))).toEqual(['near']);

      // While behind, the room's live events are held back (the client would see a gap otherwise);
      // other rooms stay live.
      await sendRest(t, alice, room.roomId, 'during paging');
      await sendRest(t, alice, other.roomId, 'other live');
      await b.next(msgIn(other.roomId));
      await b.barrier();
      expect(b.all(msgIn(room.roomId))).toEqual([]);

      const paged = await page(bob.token, room.roomId, from);
      expect(paged.events.filter((e) => e.type === 'new_message').map((e) => e.message.content)).toEqual([
        ...Array.from({ length: 25 }, (_, i) => `p${i}`),
        'during paging',
      ]);

      // Resume from a cursor just before the end of what was paged: the rest is replayed.
      const cursor = paged.after - 1;
      const again = await b.request({ type: 'resume', cursors: { [room.roomId]: cursor } });
      expect(again).toMatchObject({
        type: 'resumed',
        rooms: [{ roomId: room.roomId, fromSeq: cursor, toSeq: paged.after, complete: true }],
      });
      expect(contents(b.all(msgIn(room.roomId)))).toEqual(['during paging']);

      await sendRest(t, alice, room.roomId, 'live again');
      const next = await b.waitFor((f) => msgIn(room.roomId)(f) && f.message.content === 'live again');
      expect(next.seq).toBe(paged.after + 1);
      await b.barrier();
      expect(contents(b.all(msgIn(room.roomId)))).toEqual(['during paging', 'live again']);
    });

    it('resuming several behind rooms misses nothing committed while the first one replays', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const r1 = await t.newRoom(alice);
      const r2 = await t.newRoom(alice);
      await joinRest(t, bob, r1.roomId);
      await joinRest(t, bob, r2.roomId);
      const from1 = await lastSeq(t, bob, r1.roomId);
      const from2 = await lastSeq(t, bob, r2.roomId);
      for (let i = 0; i < 15; i++) {
        await sendRest(t, alice, r1.roomId, `a${i}`);
        await sendRest(t, alice, r2.roomId, `b${i}`);
      }
      const b = track(await resumeFrom(t, bob, { [r1.roomId]: from1, [r2.roomId]: from2 }));
      await b.next(is('resumed'));
      expect(b.all(is('room_behind'))).toHaveLength(2);

      // Bob pages both rooms (not shown) and resumes both; while room 1 replays from the store,
      // a message is committed to room 2.
      const events = t.sb.store.repos.events;
      const original = events.after.bind(events);
      let injected = false;
      events.after = async (roomId, afterSeq, limit) => {
        if (roomId === r1.roomId && !injected) {
          injected = true;
          await t.sb.messages.send(principal(alice), r2.roomId, { content: 'sneaky' });
        }
        return original(roomId, afterSeq, limit);
      };
      try {
        const resumed = await b.request({
          type: 'resume',
          cursors: { [r1.roomId]: from1 + 10, [r2.roomId]: from2 + 10 },
        });
        expect(resumed.type).toBe('resumed');
      } finally {
        events.after = original;
      }
      expect(injected).toBe(true);
      await b.barrier();
      expect(contents(b.all(msgIn(r1.roomId)))).toEqual(['a10', 'a11', 'a12', 'a13', 'a14']);
      expect(contents(b.all(msgIn(r2.roomId)))).toEqual(['b10', 'b11', 'b12', 'b13', 'b14', 'sneaky']);
    });
  });
}
