import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import { events, expectOk, history, newUsers, send } from '../http/http-helpers.js';

const DAY = 86_400_000;

for (const backend of await availableBackends()) {
  describe(`message retention (${backend})`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp(backend);
    });
    afterAll(() => t.close());

    /** Moves a message, its reactions' times and its log events back by `ms`. */
    async function age(roomId: string, messageId: string, seq: number, ms: number) {
      const db = t.sb.store.db;
      const now = Date.now();
      await db
        .updateTable('messages')
        .set({ created_at: now - ms })
        .where('id', '=', messageId)
        .execute();
      await db
        .updateTable('events')
        .set({ created_at: now - ms })
        .where('room_id', '=', roomId)
        .where('seq', '=', seq)
        .execute();
    }

    it('deletes old messages, their reactions and their events; keeps recent ones and other rooms', async () => {
      const [alice] = await newUsers(t, 1);
      const room = await t.newRoom(alice, { settings: { messageRetention: 1 } });
      const other = await t.newRoom(alice);
      const old1 = await send(t, alice, room.roomId, 'old one');
      const old2 = await send(t, alice, room.roomId, 'old two');
      const recent = await send(t, alice, room.roomId, 'recent');
      const otherOld = await send(t, alice, other.roomId, 'kept forever');
      expectOk(
        await t.api(
          'PUT',
          `/v1/chat/rooms/${room.roomId}/messages/${old1.messageId}/reactions/${encodeURIComponent('👍')}`,
          { token: alice.token },
        ),
      );
      await age(room.roomId, old1.messageId, old1.seq, 2 * DAY);
      await age(room.roomId, old2.messageId, old2.seq, 2 * DAY);
      await age(other.roomId, otherOld.messageId, otherOld.seq, 30 * DAY);
      const reactionSeq = (await events(t, alice, room.roomId)).find(
        (e) => e.type === 'reaction_updated',
      ).seq;
      await t.sb.store.db
        .updateTable('events')
        .set({ created_at: Date.now() - 2 * DAY })
        .where('room_id', '=', room.roomId)
        .where('seq', '=', reactionSeq)
        .execute();

      const result = await t.sb.retention.run(Date.now());
      expect(result).toMatchObject({ messages: 2, events: 3 });

      expect((await history(t, alice, room.roomId)).map((m) => m.messageId)).toEqual([recent.messageId]);
      expect((await history(t, alice, other.roomId)).map((m) => m.messageId)).toEqual([otherOld.messageId]);
      const log = await events(t, alice, room.roomId);
      const seqs = log.map((e) => e.seq);
      expect(seqs).not.toContain(old1.seq);
      expect(seqs).not.toContain(old2.seq);
      expect(seqs).not.toContain(reactionSeq);
      expect(seqs).toContain(recent.seq);
      // Room and membership events are kept.
      expect(log.map((e) => e.type)).toContain('room_created');
      const reactions = await t.sb.store.db
        .selectFrom('reactions')
        .select('message_id')
        .where('message_id', '=', old1.messageId)
        .execute();
      expect(reactions).toEqual([]);
      expect((await events(t, alice, other.roomId)).map((e) => e.seq)).toContain(otherOld.seq);

      // Idempotent.
      expect(await t.sb.retention.run(Date.now())).toMatchObject({ messages: 0, events: 0 });
    });

    it('works in bounded batches', async () => {
      const [alice] = await newUsers(t, 1);
      const room = await t.newRoom(alice, { settings: { messageRetention: 1 } });
      for (let i = 0; i < 5; i++) await send(t, alice, room.roomId, `m${i}`);
      await t.sb.store.db
        .updateTable('messages')
        .set({ created_at: Date.now() - 3 * DAY })
        .where('room_id', '=', room.roomId)
        .execute();
      const { RetentionService } = await import('../../src/retention/retention.service.js');
      const small = new RetentionService(t.sb.store, { batchSize: 2 });
      expect((await small.run(Date.now())).messages).toBe(5);
      expect(await history(t, alice, room.roomId)).toEqual([]);
    });
  });
}
