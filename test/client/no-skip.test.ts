import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCursorStore } from '../../src/client/index.js';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import {
  ClientPool,
  FAST_ENV,
  numbered,
  post,
  quickUsers,
  roomLog,
  roomWith,
  seqsOf,
  waitFor,
} from './client-helpers.js';

const consecutive = (seqs: number[]) => seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1);

/** The SDK never moves its cursor over a seq it has not delivered (regression: it used to). */
for (const backend of await availableBackends()) {
  describe(`client never skips a seq (${backend})`, () => {
    let t: TestApp;
    const pool = new ClientPool();
    beforeAll(async () => {
      t = await startTestApp(backend, { ...FAST_ENV, REPLAY_PER_ROOM: '10' });
    });
    afterEach(() => pool.closeAll());
    afterAll(() => t.close());

    it('a live event lost on the way is fetched again before anything after it is delivered', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const b = await pool.connect(t, bob);
      const start = b.client.position[roomId]!;
      let dropped = 0;
      b.tap.incoming = (f) => {
        // Lose two live messages in the middle, as a lossy bus or a buggy relay would.
        if (f.type === 'new_message' && (f.seq === start + 3 || f.seq === start + 4) && dropped < 2) {
          dropped++;
          return 'drop';
        }
        return undefined;
      };
      const sent = await post(t, alice, roomId, numbered(10), 1);
      const last = sent.at(-1)!.seq;
      await waitFor(() => b.client.position[roomId] === last, 'the last seq');
      expect(dropped).toBe(2);
      const seqs = seqsOf(b.events, roomId);
      expect(seqs.at(-1)).toBe(last);
      expect(consecutive(seqs)).toBe(true);
      expect(b.messages.map((m) => m.message.content)).toEqual(numbered(10));
      // It asked for the room again from where it stood.
      expect(b.tap.current.sent.some((f) => f.type === 'resume' && String(f.id).startsWith('gap-'))).toBe(
        true,
      );
    });

    it('a room that is behind pages from the server’s afterSeq even if a later event arrived first', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const cursors = new MemoryCursorStore();
      const b1 = await pool.connect(t, bob, { cursors });
      const startSeq = b1.client.position[roomId]!;
      b1.client.close();
      const sent = await post(t, alice, roomId, numbered(40));
      const last = sent.at(-1)!.seq;
      const lastEvent = (await roomLog(t, bob, roomId)).find((e) => e.seq === last)!;
      const b = pool.make(t, bob, { cursors });
      b.tap.incoming = (f, socket) => {
        // The newest event overtakes the room_behind (e.g. from another path): it must not move the
        // cursor past the 39 messages still to page.
        if (f.type === 'room_behind' && f.roomId === roomId) socket.inject(lastEvent);
        return undefined;
      };
      await b.client.connect();
      await waitFor(() => b.client.position[roomId] === last, 'the last seq');
      const seqs = seqsOf(b.events, roomId);
      expect(seqs[0]).toBe(startSeq + 1);
      expect(seqs.at(-1)).toBe(last);
      expect(consecutive(seqs)).toBe(true);
      expect(b.messages.map((m) => m.message.content)).toEqual(numbered(40));
    });
  });
}
