import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCursorStore } from '../../src/client/index.js';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import {
  ClientPool,
  FAST_ENV,
  nextOf,
  numbered,
  post,
  principal,
  quickUsers,
  roomWith,
  seqsOf,
  sleep,
  waitFor,
} from './client-helpers.js';

const REPLAY = 10;

/** Further behind than the server replays: the client pages the room log over REST, then resumes. */
for (const backend of await availableBackends()) {
  describe(`client far behind (${backend})`, () => {
    let t: TestApp;
    const pool = new ClientPool();
    beforeAll(async () => {
      t = await startTestApp(backend, { ...FAST_ENV, REPLAY_PER_ROOM: String(REPLAY) });
    });
    afterEach(() => pool.closeAll());
    afterAll(() => t.close());

    it('pages 50 missed messages over REST by itself, resumes, and then follows live', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const cursors = new MemoryCursorStore();
      const b1 = await pool.connect(t, bob, { cursors });
      const startSeq = b1.client.position[roomId]!;
      b1.client.close();

      const sent = await post(t, alice, roomId, numbered(50));

      const fetched: string[] = [];
      const realFetch = globalThis.fetch;
      const b = pool.make(t, bob, {
        cursors,
        fetch: (input, init) => {
          fetched.push(String(input));
          return realFetch(input, init);
        },
      });
      const behind = nextOf(b.client, 'room_behind');
      const resumedRoom = nextOf(b.client, 'resumed', (r) => r.id === `resume-${roomId}`);
      await b.client.connect();
      expect(await behind).toMatchObject({ roomId, afterSeq: startSeq, lastSeq: sent.at(-1)!.seq });
      const resumed = await resumedRoom;
      expect(resumed.rooms).toEqual([expect.objectContaining({ roomId, complete: true })]);
      await waitFor(() => b.messages.length >= 50, '50 messages');

      expect(fetched).toHaveLength(1);
      expect(fetched[0]).toContain(`/v1/chat/rooms/${roomId}/events?after=${startSeq}`);
      expect(b.messages.map((m) => m.message.messageId)).toEqual(sent.map((m) => m.messageId));
      expect(b.messages.map((m) => m.message.content)).toEqual(sent.map((m) => m.content));

      // Back to live: new messages arrive over the socket, right after the paged ones.
      const live = await post(t, alice, roomId, numbered(3, 'live '), 1);
      await waitFor(() => b.messages.length >= 53, 'live messages');
      expect(b.messages.map((m) => m.message.content)).toEqual([...sent, ...live].map((m) => m.content));
      const seqs = seqsOf(b.events, roomId);
      expect(seqs).toEqual(Array.from({ length: live.at(-1)!.seq - startSeq }, (_, i) => startSeq + 1 + i));
      expect(cursors.load()[roomId]).toBe(live.at(-1)!.seq);
      expect(fetched).toHaveLength(1);
    });

    it('pages several REST pages when the backlog is larger than one page', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const cursors = new MemoryCursorStore();
      const b1 = await pool.connect(t, bob, { cursors });
      b1.client.close();
      const N = 1205;
      const sent = await post(t, alice, roomId, numbered(N), 250);
      const pages: string[] = [];
      const realFetch = globalThis.fetch;
      const b = pool.make(t, bob, {
        cursors,
        fetch: (input, init) => {
          pages.push(String(input));
          return realFetch(input, init);
        },
      });
      await b.client.connect();
      await waitFor(() => b.messages.length >= N, `${N} messages`);
      const last = await t.sb.messages.send(principal(alice), roomId, { content: 'live' });
      await waitFor(() => b.messages.at(-1)?.message.messageId === last.message.messageId, 'live');
      expect(pages.length).toBe(2);
      expect(b.messages.map((m) => m.message.messageId)).toEqual([
        ...sent.map((m) => m.messageId),
        last.message.messageId,
      ]);
      expect(new Set(b.messages.map((m) => m.message.content)).size).toBe(N + 1);
    });

    it('paging that finishes before the connection is live still resumes the room', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const cursors = new MemoryCursorStore();
      (await pool.connect(t, bob, { cursors })).client.close();
      const missed = await post(t, alice, roomId, numbered(30));

      // The server answers the resume with room_behind, then (replaying other rooms, say) takes a
      // while before `resumed`: here the client's REST paging wins that race.
      const b = pool.make(t, bob, { cursors });
      let held: Record<string, any> | undefined;
      b.tap.incoming = (f) => {
        if (f.type === 'resumed' && f.id === 'resume' && !held) {
          held = f;
          return 'drop';
        }
        return undefined;
      };
      const connected = b.client.connect();
      await waitFor(() => b.messages.length >= 30, 'paged messages');
      await sleep(20);
      expect(held).toBeDefined();
      b.tap.current.inject(held!);
      await connected;

      const live = await post(t, alice, roomId, numbered(3, 'live '), 1);
      await waitFor(
        () => b.messages.length >= 33,
        () => `live messages (have ${b.messages.length})`,
      );
      expect(b.messages.map((m) => m.message.messageId)).toEqual(
        [...missed, ...live].map((m) => m.messageId),
      );
    });

    it('a live burst bigger than the replay window while paging still ends complete', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const cursors = new MemoryCursorStore();
      (await pool.connect(t, bob, { cursors })).client.close();
      const sent: string[] = [];
      const postMore = async (n: number) => {
        const ms = await post(t, alice, roomId, numbered(n, `m${sent.length}.`));
        sent.push(...ms.map((m) => m.messageId));
      };
      await postMore(30);
      // After the server answered the first page, and before the client resumes, more than REPLAY
      // messages are committed: the resume finds the room behind again and the client pages again.
      const realFetch = globalThis.fetch;
      let pagesFetched = 0;
      const b = pool.make(t, bob, {
        cursors,
        fetch: async (input, init) => {
          const res = await realFetch(input, init);
          if (++pagesFetched === 1) await postMore(25);
          return res;
        },
      });
      const behinds: unknown[] = [];
      b.client.on('room_behind', (f) => behinds.push(f));
      await b.client.connect();
      await waitFor(() => b.messages.length >= 55, '55 messages');
      await postMore(2);
      await waitFor(() => b.messages.length >= 57, '57 messages');
      expect(b.messages.map((m) => m.message.messageId)).toEqual(sent);
      expect(behinds).toHaveLength(2);
      expect(pagesFetched).toBe(2);
    });
  });
}
