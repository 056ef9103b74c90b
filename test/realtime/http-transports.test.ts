import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { type SseClient as Sse, SseClient, type SseEvent } from './sse-client.js';
import { joinRest, live, newUsers, sendRest, type WsClient } from './ws-client.js';

const isMsg = (roomId: string) => (e: SseEvent) => e.data.type === 'new_message' && e.data.roomId === roomId;
const texts = (events: SseEvent[]) => events.map((e) => e.data.message.content);

for (const backend of await availableBackends()) {
  describe(`SSE and long-poll (${backend})`, () => {
    let t: TestApp;
    const streams: Sse[] = [];
    const sockets: WsClient[] = [];
    beforeAll(async () => {
      // The default offline grace: with none, every poll's end would announce presence to the next poll.
      t = await startTestApp(backend, { RESUME_WAIT_MS: '50' });
    });
    afterAll(async () => {
      for (const s of streams) s.close();
      await Promise.all(sockets.map((s) => s.close()));
      await t.close();
    });

    async function roomOf(alice: TestUser, bob: TestUser) {
      const room = await t.newRoom(alice);
      await joinRest(t, bob, room.roomId);
      return room.roomId as string;
    }
    async function stream(query: string, headers: Record<string, string> = {}) {
      const s = await SseClient.open(`${t.baseUrl}/v1/events/stream${query}`, headers);
      streams.push(s);
      return s;
    }

    describe('SSE', () => {
      it('streams ready, resumed and events with ids; Last-Event-ID resumes exactly after an event', async () => {
        const [alice, bob] = await newUsers(t, 2);
        const roomId = await roomOf(alice, bob);
        const s = await stream(`?token=${encodeURIComponent(bob.token)}`);
        expect(s.status).toBe(200);
        expect(s.response.headers['content-type']).toMatch(/^text\/event-stream/);
        const resumed = await s.waitFor((e) => e.data.type === 'resumed');
        expect(s.events[0]!.data).toMatchObject({ type: 'ready', userId: bob.userId });
        expect(s.events[0]!.id).toBeUndefined();
        expect(resumed.id).toEqual(expect.any(String));

        for (const content of ['m1', 'm2', 'm3']) await sendRest(t, alice, roomId, content);
        const msgs = await s.waitForCount(isMsg(roomId), 3);
        expect(texts(msgs)).toEqual(['m1', 'm2', 'm3']);
        expect(new Set(msgs.map((m) => m.id)).size).toBe(3);
        expect(msgs.every((m) => typeof m.id === 'string' && m.id.length > 0)).toBe(true);
        s.close();

        await sendRest(t, alice, roomId, 'm4');
        const again = await stream(`?token=${encodeURIComponent(bob.token)}`, {
          'last-event-id': msgs[0]!.id!,
        });
        await again.waitFor((e) => e.data.type === 'resumed');
        expect(texts(again.events.filter(isMsg(roomId)))).toEqual(['m2', 'm3', 'm4']);
        // Live after the replay.
        await sendRest(t, alice, roomId, 'm5');
        const all = await again.waitForCount(isMsg(roomId), 4);
        expect(texts(all)).toEqual(['m2', 'm3', 'm4', 'm5']);

        // ?cursor= does the same as Last-Event-ID, with a bearer header instead of ?token=.
        const byQuery = await stream(`?cursor=${encodeURIComponent(all[2]!.id!)}`, {
          authorization: `Bearer ${bob.token}`,
        });
        await byQuery.waitFor((e) => e.data.type === 'resumed');
        expect(texts(byQuery.events.filter(isMsg(roomId)))).toEqual(['m5']);
      });

      it('answers 401 JSON for a bad or missing token, 400 for a bad Last-Event-ID, 403 for a foreign origin', async () => {
        const [bob] = await newUsers(t, 1);
        const bad = await fetch(`${t.baseUrl}/v1/events/stream?token=nope`);
        expect(bad.status).toBe(401);
        expect(bad.headers.get('content-type')).toMatch(/application\/json/);
        expect(await bad.json()).toMatchObject({ success: false, error: { code: 'INVALID_TOKEN' } });

        const none = await fetch(`${t.baseUrl}/v1/events/stream`);
        expect(none.status).toBe(401);
        expect(await none.json()).toMatchObject({ success: false, error: { code: 'UNAUTHENTICATED' } });

        const cursor = await fetch(`${t.baseUrl}/v1/events/stream?token=${bob.token}`, {
          headers: { 'last-event-id': 'garbage!' },
        });
        expect(cursor.status).toBe(400);
        expect(await cursor.json()).toMatchObject({ success: false, error: { code: 'VALIDATION_FAILED' } });

        const origin = await fetch(`${t.baseUrl}/v1/events/stream?token=${bob.token}`, {
          headers: { origin: 'http://evil.example' },
        });
        expect(origin.status).toBe(403);
        expect(await origin.json()).toMatchObject({ success: false, error: { code: 'FORBIDDEN' } });
      });
    });

    describe('long-poll', () => {
      const poll = (user: TestUser, query = '') =>
        t.api('GET', `/v1/events/poll${query}`, { token: user.token });

      it('answers at once without a cursor, waits for the next event with one, and times out empty', async () => {
        const [alice, bob] = await newUsers(t, 2);
        const roomId = await roomOf(alice, bob);

        const first = await poll(bob, '?timeout=5');
        expect(first.status).toBe(200);
        expect(first.body.data).toEqual({ events: [], cursor: expect.any(String) });
        const cursor = first.body.data.cursor as string;

        // A waiting poll answers as soon as a message is committed.
        const connectionsBefore = t.sb.realtime.connectionCount;
        const waiting = poll(bob, `?cursor=${encodeURIComponent(cursor)}&timeout=5`);
        await until(() => t.sb.realtime.connectionCount > connectionsBefore);
        await sendRest(t, alice, roomId, 'wake up');
        const woke = await waiting;
        expect(woke.status).toBe(200);
        expect(woke.body.data.events).toEqual([
          expect.objectContaining({
            type: 'new_message',
            roomId,
            message: expect.objectContaining({ content: 'wake up' }),
          }),
        ]);
        const next = woke.body.data.cursor as string;
        expect(next).not.toBe(cursor);

        // Nothing new: an empty answer when the timeout passes.
        const idle = await poll(bob, `?cursor=${encodeURIComponent(next)}&timeout=1`);
        expect(idle.status).toBe(200);
        expect(idle.body.data).toEqual({ events: [], cursor: next });

        // Events committed between polls are answered at once, in order.
        await sendRest(t, alice, roomId, 'a');
        await sendRest(t, alice, roomId, 'b');
        const missed = await poll(bob, `?cursor=${encodeURIComponent(next)}&timeout=5`);
        expect(missed.body.data.events.map((e: any) => e.message.content)).toEqual(['a', 'b']);
        // The old cursor still works (polls are stateless) and gives the same answer.
        const replay = await poll(bob, `?cursor=${encodeURIComponent(next)}&timeout=0`);
        expect(replay.body.data.events.map((e: any) => e.message.content)).toEqual(['a', 'b']);
        expect(replay.body.data.cursor).toBe(missed.body.data.cursor);
      });

      it('a waiting poll is not woken by the user’s own arrival (presence)', async () => {
        const [alice, bob] = await newUsers(t, 2);
        const dm = await t.api('POST', '/v1/chat/direct', {
          token: alice.token,
          body: { userId: bob.userId },
        });
        const roomId = dm.body.data.roomId as string;
        const a = await live(t, alice);
        sockets.push(a);
        const cursor = (await poll(bob)).body.data.cursor as string;
        const connectionsBefore = t.sb.realtime.connectionCount;
        const waiting = poll(bob, `?cursor=${encodeURIComponent(cursor)}&timeout=5`);
        await until(() => t.sb.realtime.connectionCount > connectionsBefore);
        await sendRest(t, alice, roomId, 'hi bob');
        const woke = await waiting;
        expect(woke.body.data.events.map((e: any) => e.type)).toEqual(['new_message']);
      });

      it('answers 400 for a bad cursor and 401 without a token', async () => {
        const [bob] = await newUsers(t, 1);
        const bad = await poll(bob, '?cursor=not-a-cursor&timeout=1');
        expect(bad.status).toBe(400);
        expect(bad.body).toMatchObject({ success: false, error: { code: 'VALIDATION_FAILED' } });
        const anon = await t.api('GET', '/v1/events/poll');
        expect(anon.status).toBe(401);
      });
    });
  });

  describe(`SSE and long-poll at shutdown (${backend})`, () => {
    it('ends open streams with a close event and answers waiting polls, so the server can stop', async () => {
      const t = await startTestApp(backend, { RESUME_WAIT_MS: '50', PRESENCE_OFFLINE_GRACE_MS: '0' });
      let closed = false;
      try {
        const [bob] = await newUsers(t, 1);
        const s = await SseClient.open(`${t.baseUrl}/v1/events/stream?token=${bob.token}`);
        await s.waitFor((e) => e.data.type === 'resumed');
        const cursor = (await t.api('GET', '/v1/events/poll', { token: bob.token })).body.data
          .cursor as string;
        const before = t.sb.realtime.connectionCount;
        const waiting = t.api('GET', `/v1/events/poll?cursor=${encodeURIComponent(cursor)}&timeout=30`, {
          token: bob.token,
        });
        await until(() => t.sb.realtime.connectionCount > before);

        const stopped = t.close().then(() => {
          closed = true;
        });
        const answer = await waiting;
        expect(answer.status).toBe(200);
        // Answered at once, with nothing logged (presence of the closing stream may show up).
        expect(answer.body.data.cursor).toBe(cursor);
        expect(answer.body.data.events.filter((e: any) => e.type !== 'presence_update')).toEqual([]);
        const end = await s.waitFor((e) => e.event === 'close', 10_000);
        expect(end.data).toEqual({ reason: 'server shutting down' });
        await Promise.race([
          stopped,
          new Promise((_, reject) => setTimeout(() => reject(new Error('server did not stop')), 10_000)),
        ]);
        expect(closed).toBe(true);
        await until(() => s.isEnded);
      } finally {
        if (!closed) await t.close();
      }
    });
  });
}

/** Waits for a condition on server state (for a poll to be registered before sending). */
async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
