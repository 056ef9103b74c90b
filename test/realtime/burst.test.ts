import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import {
  closeAll,
  contents,
  type Frame,
  is,
  joinRest,
  live,
  msgIn,
  newUsers,
  resumeFrom,
  type WsClient,
} from './ws-client.js';

const N = 1000;

for (const backend of await availableBackends()) {
  describe(`a connection killed mid-burst (${backend})`, () => {
    let t: TestApp;
    const clients: WsClient[] = [];
    beforeAll(async () => {
      t = await startTestApp(backend, {
        RESUME_WAIT_MS: '50',
        PRESENCE_OFFLINE_GRACE_MS: '0',
        REPLAY_PER_ROOM: '5000',
        WS_FRAME_RATE: '100000',
        SEND_RATE_LIMIT: '100000',
        GROUP_COMMIT_MAX_WAIT_MS: '0',
      });
    });
    afterAll(async () => {
      await closeAll(clients);
      await t.close();
    });

    it('resuming from the last seen seq yields all 1,000 messages once and in order', async () => {
      const [alice, bob] = await newUsers(t, 2);
      const room = await t.newRoom(alice);
      await joinRest(t, bob, room.roomId);
      const a = await live(t, alice);
      const b1 = await live(t, bob);
      clients.push(a, b1);

      // Alice pipelines the whole burst; the server commits her sends in the order she sent them.
      for (let i = 0; i < N; i++) {
        a.send({
          type: 'send_message',
          id: `m${i}`,
          roomId: room.roomId,
          content: `${i}`,
          clientMsgId: `c${i}`,
        });
      }

      // Kill bob's socket partway (no close handshake), keeping only what had arrived.
      await b1.waitForCount(msgIn(room.roomId), 300, 30_000);
      b1.terminate();
      const before = b1.all(msgIn(room.roomId));
      expect(before.length).toBeLessThan(N);
      const cursor = before.at(-1)!.seq as number;

      // Reconnect at once, while the burst goes on, and resume from the last seq seen.
      const b2 = await resumeFrom(t, bob, { [room.roomId]: cursor });
      clients.push(b2);
      const resumed = await b2.next(is('resumed'), 30_000);
      expect(resumed.rooms).toEqual([
        expect.objectContaining({ roomId: room.roomId, fromSeq: cursor, complete: true }),
      ]);

      const acks = await a.waitForCount(is('ack', { for: 'send_message' }), N, 60_000);
      expect(acks.every((x) => x.duplicate === false)).toBe(true);
      const total = N - before.length;
      const after = await b2.waitForCount(msgIn(room.roomId), total, 30_000);
      await b2.barrier();
      expect(b2.all(msgIn(room.roomId))).toHaveLength(total);

      const all: Frame[] = [...before, ...after];
      expect(contents(all)).toEqual(Array.from({ length: N }, (_, i) => `${i}`));
      const seqs = all.map((f) => f.seq as number);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
      expect(after[0]!.seq).toBe(cursor + 1);
      // The acks agree with what was delivered.
      const ackSeq = new Map(acks.map((x) => [x.id, x.seq]));
      expect(all.map((f) => ackSeq.get(`m${f.message.content}`))).toEqual(seqs);
    }, 120_000);
  });
}
