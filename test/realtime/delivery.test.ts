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
  type WsClient,
} from './ws-client.js';

const aboutRoom = (roomId: string) => (f: Frame) => f.roomId === roomId;

for (const backend of await availableBackends()) {
  describe(`delivery: isolation and devices (${backend})`, () => {
    let t: TestApp;
    const clients: WsClient[] = [];
    beforeAll(async () => {
      t = await startTestApp(backend, { RESUME_WAIT_MS: '50', PRESENCE_OFFLINE_GRACE_MS: '0' });
    });
    afterAll(async () => {
      await closeAll(clients);
      await t.close();
    });
    const connect = async (...args: Parameters<typeof live>) => {
      const c = await live(...args);
      clients.push(c);
      return c;
    };

    it('never delivers anything of a room the user is not in', async () => {
      const [alice, bob, carol] = await newUsers(t, 3);
      const shared = await t.newRoom(alice);
      await joinRest(t, bob, shared.roomId);
      const b = await connect(t, bob);
      const c = await connect(t, carol);

      const secret = await t.newRoom(alice, { type: 'private', memberIds: [carol.userId] });
      await sendRest(t, alice, secret.roomId, 'for carol only');
      await sendRest(t, carol, secret.roomId, 'reply');
      const a = await connect(t, alice);
      await a.ok({ type: 'typing_start', roomId: secret.roomId });
      await c.ok({ type: 'mark_read', roomId: secret.roomId, seq: 100 });
      // A public room bob has not joined is not delivered either.
      const open = await t.newRoom(alice);
      await sendRest(t, alice, open.roomId, 'public, but bob is not in it');
      // Positive control on the same socket, after all of the above.
      await sendRest(t, alice, shared.roomId, 'for bob');

      expect(contents(await c.waitForCount(msgIn(secret.roomId), 2))).toEqual(['for carol only', 'reply']);
      await c.waitFor(is('typing_indicator', { roomId: secret.roomId }));
      await b.waitFor(msgIn(shared.roomId));
      await b.barrier();
      expect(b.all(aboutRoom(secret.roomId))).toEqual([]);
      expect(b.all(aboutRoom(open.roomId))).toEqual([]);
      expect(contents(b.all(msgIn(shared.roomId)))).toEqual(['for bob']);

      // Nor on resume, even when asking for the room by id.
      const b2 = await resumeFrom(t, bob, { [secret.roomId]: 0, [open.roomId]: 0 });
      clients.push(b2);
      const resumed = await b2.next(is('resumed'));
      expect(resumed.rooms.map((r: { roomId: string }) => r.roomId)).toEqual([shared.roomId]);
      await b2.barrier();
      expect(b2.all((f) => f.roomId === secret.roomId || f.roomId === open.roomId)).toEqual([]);
    });

    it('stops delivering a room after the user is kicked, and resumes after rejoining', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await t.newRoom(alice);
      await joinRest(t, bob, room.roomId);
      const a = await connect(t, alice);
      const b = await connect(t, bob);
      await sendRest(t, alice, room.roomId, 'before');
      await b.next(msgIn(room.roomId));

      const kick = await t.api('DELETE', `/v1/chat/rooms/${room.roomId}/members/${bob.userId}`, {
        token: alice.token,
      });
      expect(kick.status).toBe(200);
      const left = await b.next(is('user_left'));
      expect(left).toMatchObject({
        roomId: room.roomId,
        userId: bob.userId,
        reason: 'kicked',
        by: alice.userId,
      });

      await sendRest(t, alice, room.roomId, 'after kick');
      await a.ok({ type: 'typing_start', roomId: room.roomId });
      expect(await b.request({ type: 'send_message', roomId: room.roomId, content: 'x' })).toMatchObject({
        type: 'error',
        code: 'NOT_A_MEMBER',
      });
      await b.barrier();
      expect(
        b.all(aboutRoom(room.roomId)).filter((f) => f.seq > left.seq || f.type === 'typing_indicator'),
      ).toEqual([]);

      // Joining with a join_room frame: events flow again, starting with the join itself.
      const joined = await b.ok({ type: 'join_room', roomId: room.roomId });
      expect(joined).toMatchObject({ for: 'join_room', roomId: room.roomId, lastSeq: expect.any(Number) });
      const join = await b.next(is('user_joined'));
      expect(join).toMatchObject({ roomId: room.roomId, user: { userId: bob.userId }, seq: joined.lastSeq });
      await sendRest(t, alice, room.roomId, 'welcome back');
      const back = await b.next(msgIn(room.roomId));
      expect(back).toMatchObject({ seq: joined.lastSeq + 1, message: { content: 'welcome back' } });
      // 'after kick' (sent while bob was out) is never delivered.
      expect(contents(b.all(msgIn(room.roomId)))).toEqual(['before', 'welcome back']);
    });

    it('stops delivering after leave_room', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await t.newRoom(alice);
      const b = await connect(t, bob);
      await b.ok({ type: 'join_room', roomId: room.roomId });
      await sendRest(t, alice, room.roomId, 'in');
      await b.next(msgIn(room.roomId));
      await b.ok({ type: 'leave_room', roomId: room.roomId });
      await b.next(is('user_left', { roomId: room.roomId, userId: bob.userId, reason: 'left' }));
      await sendRest(t, alice, room.roomId, 'out');
      await b.barrier();
      expect(contents(b.all(msgIn(room.roomId)))).toEqual(['in']);
    });

    it('follows a room the user is added to while connected (created with them, invited)', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const b = await connect(t, bob);
      const group = await t.newRoom(alice, { type: 'private', memberIds: [bob.userId] });
      // Bob follows the room from his own join event on.
      const first = await b.next(aboutRoom(group.roomId));
      expect(first).toMatchObject({
        type: 'user_joined',
        user: { userId: bob.userId },
        invitedBy: alice.userId,
      });
      await sendRest(t, alice, group.roomId, 'hello group');
      expect((await b.next(msgIn(group.roomId))).message.content).toBe('hello group');

      const other = await t.newRoom(alice, { type: 'private' });
      const inv = await t.api('POST', `/v1/chat/rooms/${other.roomId}/invite`, {
        token: alice.token,
        body: { userIds: [bob.userId] },
      });
      expect(inv.status).toBe(200);
      await b.next(is('user_joined', { roomId: other.roomId }));
      await sendRest(t, alice, other.roomId, 'invited');
      expect((await b.next(msgIn(other.roomId))).message.content).toBe('invited');
      // The earlier history of the room is not pushed; only what follows the join.
      expect(b.all((f) => f.roomId === other.roomId && f.type === 'room_created')).toEqual([]);
    });

    it('delivers to every device of a user, including the sender’s own other devices', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await t.newRoom(alice);
      await joinRest(t, bob, room.roomId);
      const b1 = await connect(t, bob);
      const b2 = await connect(t, bob, { path: '/chat' });
      expect(b1.all(is('ready'))[0]!.sessionId).not.toBe(b2.all(is('ready'))[0]!.sessionId);

      await sendRest(t, alice, room.roomId, 'to both');
      for (const c of [b1, b2]) expect((await c.next(msgIn(room.roomId))).message.content).toBe('to both');

      const ack = await b1.ok({ type: 'send_message', roomId: room.roomId, content: 'from b1' });
      const onB2 = await b2.next(msgIn(room.roomId));
      expect(onB2).toMatchObject({ seq: ack.seq, message: { content: 'from b1', authorId: bob.userId } });
      expect((await b1.next(msgIn(room.roomId))).seq).toBe(ack.seq);

      await b1.close();
      await sendRest(t, alice, room.roomId, 'only b2');
      expect((await b2.next(msgIn(room.roomId))).message.content).toBe('only b2');
      await b2.barrier();
      expect(contents(b2.all(msgIn(room.roomId)))).toEqual(['to both', 'from b1', 'only b2']);
      expect(contents(b1.all(msgIn(room.roomId)))).toEqual(['to both', 'from b1']);
    });

    it('does not follow a room the user was removed from while the connection was opening', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await t.newRoom(alice);
      await joinRest(t, bob, room.roomId);
      // The kick commits after bob's rooms were read but before the connection is registered for them.
      const rooms = t.sb.store.repos.rooms;
      const roomHeads = rooms.roomHeads;
      let kicked = false;
      rooms.roomHeads = async (userId) => {
        const heads = await roomHeads.call(rooms, userId);
        if (userId === bob.userId && !kicked) {
          kicked = true;
          await t.sb.rooms.kick(principal(alice), room.roomId, bob.userId);
        }
        return heads;
      };
      let b: WsClient;
      try {
        b = await connect(t, bob);
      } finally {
        rooms.roomHeads = roomHeads;
      }
      expect(kicked).toBe(true);
      await sendRest(t, alice, room.roomId, 'not for bob');
      await b.barrier();
      expect(b.all(msgIn(room.roomId))).toEqual([]);
      expect(await lastSeq(t, alice, room.roomId)).toBeGreaterThan(0);
    });
  });
}
