import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { closeAll, is, joinRest, live, msgIn, newUsers, sendRest, type WsClient } from './ws-client.js';

for (const backend of await availableBackends()) {
  describe(`receipts, typing and presence (${backend})`, () => {
    let t: TestApp;
    const clients: WsClient[] = [];
    beforeAll(async () => {
      t = await startTestApp(backend, {
        RESUME_WAIT_MS: '50',
        PRESENCE_OFFLINE_GRACE_MS: '0',
        TYPING_TIMEOUT: '500',
      });
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

    describe('receipts', () => {
      it('mark_delivered and mark_read reach the sender as receipt_update; unreadCount falls', async () => {
        const [alice, bob] = await newUsers(t, 2);
        const a = await connect(t, alice);
        const b = await connect(t, bob);
        const acks = [];
        for (const content of ['one', 'two', 'three']) {
          acks.push(await a.ok({ type: 'send_message', toUserId: bob.userId, content }));
        }
        const dm = acks[0]!.roomId as string;
        const [s1, s2, s3] = acks.map((x) => x.seq as number) as [number, number, number];
        await b.waitForCount(msgIn(dm), 3);

        const delivered = await b.ok({ type: 'mark_delivered', roomId: dm, seq: s3 });
        expect(delivered).toMatchObject({ for: 'mark_delivered', roomId: dm, deliveredSeq: s3 });
        const d = await a.next(is('receipt_update'));
        expect(d).toEqual({
          type: 'receipt_update',
          status: 'delivered',
          roomId: dm,
          userId: bob.userId,
          readSeq: expect.any(Number),
          deliveredSeq: s3,
          at: expect.any(String),
        });
        expect(d).not.toHaveProperty('unreadCount');

        const r1 = await b.ok({ type: 'mark_read', roomId: dm, seq: s1 });
        expect(r1).toMatchObject({ for: 'mark_read', roomId: dm, readSeq: s1, unreadCount: 2 });
        expect(await a.next(is('receipt_update'))).toMatchObject({
          status: 'read',
          userId: bob.userId,
          readSeq: s1,
        });
        const r2 = await b.ok({ type: 'mark_read', roomId: dm, seq: s2 });
        expect(r2).toMatchObject({ readSeq: s2, unreadCount: 1 });
        expect(await a.next(is('receipt_update'))).toMatchObject({ status: 'read', readSeq: s2 });

        // Going backwards moves nothing and announces nothing.
        const back = await b.ok({ type: 'mark_read', roomId: dm, seq: s1 });
        expect(back).toMatchObject({ readSeq: s2, unreadCount: 1 });
        await a.barrier();
        expect(a.all(is('receipt_update', { status: 'read' }))).toHaveLength(2);

        // REST does the same.
        const rest = await t.api('POST', `/v1/chat/rooms/${dm}/read`, {
          token: bob.token,
          body: { seq: s3 },
        });
        expect(rest.status).toBe(200);
        expect(rest.body.data).toMatchObject({ readSeq: s3, unreadCount: 0 });
        expect(await a.next(is('receipt_update'))).toMatchObject({
          status: 'read',
          userId: bob.userId,
          readSeq: s3,
        });
        // The reader's own devices hear about it too.
        expect(await b.waitFor(is('receipt_update', { readSeq: s3 }))).toMatchObject({ userId: bob.userId });
      });

      it('a read position beyond the head is clamped; other rooms hear nothing', async () => {
        const [alice, bob, carol] = await newUsers(t, 3);
        const room = await t.newRoom(alice);
        await joinRest(t, bob, room.roomId);
        const c = await connect(t, carol);
        const a = await connect(t, alice);
        const m = await sendRest(t, alice, room.roomId, 'x');
        const b = await connect(t, bob);
        const r = await b.ok({ type: 'mark_read', roomId: room.roomId, seq: 10_000 });
        expect(r).toMatchObject({ readSeq: m.seq, unreadCount: 0 });
        expect(await a.next(is('receipt_update'))).toMatchObject({ readSeq: m.seq });
        await c.barrier();
        expect(c.all(is('receipt_update'))).toEqual([]);
      });
    });

    describe('typing', () => {
      it('broadcasts start and stop to the other members only, never stored', async () => {
        const [alice, bob, carol] = await newUsers(t, 3);
        const room = await t.newRoom(alice);
        await joinRest(t, bob, room.roomId);
        await joinRest(t, carol, room.roomId);
        const a = await connect(t, alice);
        const b = await connect(t, bob);
        const c = await connect(t, carol);
        const before = await t.api('GET', `/v1/chat/rooms/${room.roomId}/events?after=0&limit=1000`, {
          token: alice.token,
        });

        expect(await a.ok({ type: 'typing_start', roomId: room.roomId })).toMatchObject({
          for: 'typing_start',
          roomId: room.roomId,
        });
        for (const x of [b, c]) {
          expect(await x.next(is('typing_indicator'))).toEqual({
            type: 'typing_indicator',
            roomId: room.roomId,
            userId: alice.userId,
            username: alice.username,
            isTyping: true,
            expiresInMs: 500,
          });
        }
        await a.ok({ type: 'typing_stop', roomId: room.roomId });
        for (const x of [b, c]) {
          expect(await x.next(is('typing_indicator'))).toMatchObject({
            userId: alice.userId,
            isTyping: false,
          });
        }
        await a.barrier();
        expect(a.all(is('typing_indicator'))).toEqual([]);

        const after = await t.api('GET', `/v1/chat/rooms/${room.roomId}/events?after=0&limit=1000`, {
          token: alice.token,
        });
        expect(after.body.data.events).toEqual(before.body.data.events);
        expect(after.body.data.lastSeq).toBe(before.body.data.lastSeq);
      });

      it('expires on its own after TYPING_TIMEOUT', async () => {
        const [alice, bob] = await newUsers(t, 2);
        const room = await t.newRoom(alice);
        await joinRest(t, bob, room.roomId);
        const a = await connect(t, alice);
        const b = await connect(t, bob);
        await a.ok({ type: 'typing_start', roomId: room.roomId });
        expect(await b.next(is('typing_indicator'))).toMatchObject({ isTyping: true });
        expect(await b.next(is('typing_indicator'), 5000)).toMatchObject({
          userId: alice.userId,
          isTyping: false,
        });
      });

      it('stops when the typist sends a message or disconnects', async () => {
        const [alice, bob] = await newUsers(t, 2);
        const room = await t.newRoom(alice);
        await joinRest(t, bob, room.roomId);
        const a = await connect(t, alice);
        const b = await connect(t, bob);
        await a.ok({ type: 'typing_start', roomId: room.roomId });
        await b.next(is('typing_indicator', { isTyping: true }));
        await a.ok({ type: 'send_message', roomId: room.roomId, content: 'done typing' });
        // The stop goes out right after the message is committed.
        const stop = await b.next(is('typing_indicator'));
        expect(stop).toMatchObject({ isTyping: false });
        expect(b.frames.indexOf(stop)).toBeGreaterThan(b.frames.findIndex(msgIn(room.roomId)));

        await a.ok({ type: 'typing_start', roomId: room.roomId });
        await b.next(is('typing_indicator', { isTyping: true }));
        await a.close();
        expect(await b.next(is('typing_indicator'))).toMatchObject({ userId: alice.userId, isTyping: false });
      });
    });

    describe('presence', () => {
      it('announces online, status changes and offline to peers; REST reflects it', async () => {
        const [alice, bob, stranger] = await newUsers(t, 3);
        // Alice and bob share a DM; the stranger shares nothing with bob.
        const dm = await t.api('POST', '/v1/chat/direct', {
          token: alice.token,
          body: { userId: bob.userId },
        });
        expect(dm.status).toBe(200);
        const a = await connect(t, alice);
        const s = await connect(t, stranger);

        const b = await connect(t, bob);
        // Bob's own connection is told his presence too (a status chosen earlier would show here).
        expect(await b.waitFor(is('presence_update', { userId: bob.userId }))).toMatchObject({
          status: 'online',
        });
        expect(await a.next(is('presence_update', { userId: bob.userId }))).toEqual({
          type: 'presence_update',
          userId: bob.userId,
          status: 'online',
          customStatus: null,
          lastSeen: expect.any(String),
        });

        // A second device of bob changes nothing for his peers.
        const b2 = await connect(t, bob);
        const away = await b.ok({ type: 'set_presence', status: 'away', customStatus: 'lunch' });
        expect(away).toMatchObject({ for: 'set_presence', status: 'away' });
        expect(await a.next(is('presence_update', { userId: bob.userId }))).toMatchObject({
          status: 'away',
          customStatus: 'lunch',
        });
        // Bob's other device learns of it as well.
        expect(await b2.waitFor(is('presence_update', { userId: bob.userId, status: 'away' }))).toMatchObject(
          {
            customStatus: 'lunch',
          },
        );

        const one = await t.api('GET', `/v1/presence?userIds=${bob.userId},${stranger.userId}`, {
          token: alice.token,
        });
        expect(one.status).toBe(200);
        expect(one.body.data.users).toEqual([
          { userId: bob.userId, status: 'away', customStatus: 'lunch', lastSeen: expect.any(String) },
          { userId: stranger.userId, status: 'online', customStatus: null, lastSeen: expect.any(String) },
        ]);
        const active = await t.api('GET', '/v1/presence/active?limit=500', { token: alice.token });
        expect(active.status).toBe(200);
        const activeBob = active.body.data.users.find((u: { userId: string }) => u.userId === bob.userId);
        expect(activeBob).toMatchObject({ status: 'away', customStatus: 'lunch' });

        await b2.close();
        await b.close();
        expect(await a.next(is('presence_update', { userId: bob.userId }))).toMatchObject({
          status: 'offline',
        });
        const after = await t.api('GET', `/v1/presence?userIds=${bob.userId}`, { token: alice.token });
        expect(after.body.data.users[0]).toMatchObject({ status: 'offline' });
        const activeAfter = await t.api('GET', '/v1/presence/active?limit=500', { token: alice.token });
        expect(activeAfter.body.data.users.map((u: { userId: string }) => u.userId)).not.toContain(
          bob.userId,
        );

        // Exactly three updates about bob reached alice (online, away, offline), none the stranger.
        await a.barrier();
        expect(a.all(is('presence_update', { userId: bob.userId })).map((f) => f.status)).toEqual([
          'online',
          'away',
          'offline',
        ]);
        await s.barrier();
        expect(s.all(is('presence_update', { userId: bob.userId }))).toEqual([]);
      });
    });
  });
}
