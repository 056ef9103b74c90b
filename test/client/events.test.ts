import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type LogEventFrame,
  MemoryCursorStore,
  type ServerFrames,
  StorageCursorStore,
} from '../../src/client/index.js';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';
import {
  ClientPool,
  FAST_ENV,
  nextOf,
  numbered,
  post,
  quickUsers,
  roomWith,
  sleep,
  waitFor,
} from './client-helpers.js';

/** A `localStorage` stand-in. */
class FakeStorage {
  readonly items = new Map<string, string>();
  writes = 0;
  getItem(k: string): string | null {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    this.writes++;
    this.items.set(k, v);
  }
}

/** Typed events and request helpers, against a live server. */
for (const backend of await availableBackends()) {
  describe(`client events and helpers (${backend})`, () => {
    let t: TestApp;
    const pool = new ClientPool();
    beforeAll(async () => {
      t = await startTestApp(backend, FAST_ENV);
    });
    afterEach(() => pool.closeAll());
    afterAll(() => t.close());

    async function setup() {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const a = await pool.connect(t, alice);
      const b = await pool.connect(t, bob);
      return { alice, bob, roomId, a, b };
    }

    it('ready and resumed describe the connection', async () => {
      const { alice, roomId } = await setup();
      const c = pool.make(t, alice);
      const ready = nextOf(c.client, 'ready');
      const resumed = nextOf(c.client, 'resumed');
      await c.client.connect();
      expect(await ready).toMatchObject({ protocol: 1, userId: alice.userId, username: alice.username });
      const r = await resumed;
      expect(r.id).toBe('resume');
      expect(r.rooms).toContainEqual(expect.objectContaining({ roomId, complete: true }));
      expect(r.syncToken).toEqual(expect.any(String));
      expect(c.client.userId).toBe(alice.userId);
      expect(c.states).toEqual(['connecting', 'open']);
    });

    it('markRead resolves with readSeq, and the sender gets read and delivered receipts', async () => {
      const { alice, bob, roomId, a, b } = await setup();
      const receipts: ServerFrames['receipt_update'][] = [];
      a.client.on('receipt_update', (r) => receipts.push(r));
      const sent = await a.client.send('read me', { roomId });
      await waitFor(() => b.messages.some((m) => m.message.messageId === sent.messageId), 'delivery');

      // Delivered comes from bob's client by itself (autoDelivered), a moment after the message arrived.
      await waitFor(
        () => receipts.find((r) => r.status === 'delivered' && r.deliveredSeq === sent.seq),
        () => `delivered receipt ${JSON.stringify(receipts)}`,
      );
      expect(b.tap.current.sent).toContainEqual({ type: 'mark_delivered', roomId, seq: sent.seq });

      const read = await b.client.markRead(roomId);
      expect(read).toMatchObject({
        type: 'ack',
        for: 'mark_read',
        roomId,
        readSeq: sent.seq,
        unreadCount: 0,
      });
      await waitFor(
        () => receipts.find((r) => r.status === 'read' && r.readSeq === sent.seq),
        () => `read receipt ${JSON.stringify(receipts)}`,
      );
      expect(receipts.map((r) => [r.userId, r.status])).toEqual([
        [bob.userId, 'delivered'],
        [bob.userId, 'read'],
      ]);
      expect(receipts.every((r) => r.roomId === roomId)).toBe(true);
      expect(receipts.some((r) => r.userId === alice.userId)).toBe(false);
      // An explicit seq works too; going backwards does not move the position.
      await expect(b.client.markRead(roomId, 1)).resolves.toMatchObject({ readSeq: sent.seq });
      await expect(b.client.markDelivered(roomId, sent.seq)).resolves.toMatchObject({
        deliveredSeq: sent.seq,
      });
    });

    it('autoDelivered: false sends no delivery acknowledgements', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bob);
      const a = await pool.connect(t, alice);
      const b = await pool.connect(t, bob, { autoDelivered: false });
      const sent = await a.client.send('quiet', { roomId });
      await waitFor(() => b.messages.length === 1, 'delivery');
      // Past the client's 200ms batching of delivery acknowledgements.
      await sleep(300);
      expect(b.tap.current.sent.filter((f) => f.type === 'mark_delivered')).toEqual([]);
      expect(sent.seq).toBe(b.client.position[roomId]);
    });

    it('typing() reaches the other client as typing_indicator, not the typist', async () => {
      const { alice, bob, roomId, a, b } = await setup();
      const seenByBob: ServerFrames['typing_indicator'][] = [];
      b.client.on('typing_indicator', (f) => seenByBob.push(f));
      const started = nextOf(b.client, 'typing_indicator', (f) => f.isTyping);
      await expect(a.client.typing(roomId, true)).resolves.toMatchObject({ type: 'ack', roomId });
      expect(await started).toMatchObject({ roomId, userId: alice.userId, isTyping: true });
      const stopped = nextOf(b.client, 'typing_indicator', (f) => !f.isTyping);
      await a.client.typing(roomId, false);
      expect(await stopped).toMatchObject({ roomId, userId: alice.userId, isTyping: false });
      expect(seenByBob.map((f) => f.isTyping)).toEqual([true, false]);

      // Bob types, alice sees it; bob never sees his own indicator.
      const aliceSees = nextOf(a.client, 'typing_indicator');
      await b.client.typing(roomId, true);
      expect(await aliceSees).toMatchObject({ userId: bob.userId, isTyping: true });
      // Sending a message ends the typist's indicator.
      const ended = nextOf(a.client, 'typing_indicator', (f) => !f.isTyping);
      await b.client.send('done typing', { roomId });
      expect(await ended).toMatchObject({ userId: bob.userId });
      expect(seenByBob.every((f) => f.userId === alice.userId)).toBe(true);
    });

    it('message changes arrive as typed log events', async () => {
      const { alice, bob, roomId, a, b } = await setup();
      const sent = await a.client.send('v1', { roomId, messageType: 'text', clientMsgId: 'typed-1' });
      const reply = await b.client.send('re', { roomId, replyTo: sent.messageId });
      await a.client.edit(roomId, sent.messageId, 'v2');
      await b.client.react(roomId, sent.messageId, '👍');
      await a.client.pin(roomId, sent.messageId);
      await b.client.react(roomId, sent.messageId, '👍', 'remove');
      await a.client.pin(roomId, sent.messageId, false);
      await a.client.delete(roomId, sent.messageId);

      await waitFor(() => b.events.some((e) => e.type === 'message_deleted'), 'all events');
      const kinds = b.events.filter((e) => e.seq >= sent.seq).map((e) => e.type);
      expect(kinds).toEqual([
        'new_message',
        'new_message',
        'message_updated',
        'reaction_updated',
        'message_updated',
        'reaction_updated',
        'message_updated',
        'message_deleted',
      ]);
      const first = b.messages.find((m) => m.message.messageId === sent.messageId)!;
      expect(first.message).toMatchObject({ content: 'v1', authorId: alice.userId, clientMsgId: 'typed-1' });
      const second = b.messages.find((m) => m.message.messageId === reply.messageId)!;
      expect(second.message).toMatchObject({ replyTo: sent.messageId, authorId: bob.userId });

      const updates: ServerFrames['message_updated'][] = b.events.filter(
        (e): e is ServerFrames['message_updated'] => e.type === 'message_updated',
      );
      expect(updates.map((u) => u.change)).toEqual(['edit', 'pin', 'unpin']);
      expect(updates[0]!.message).toMatchObject({ content: 'v2', isEdited: true });
      const reactions = b.events.filter(
        (e): e is ServerFrames['reaction_updated'] => e.type === 'reaction_updated',
      );
      expect(reactions.map((r) => [r.action, r.users])).toEqual([
        ['added', [bob.userId]],
        ['removed', []],
      ]);
      const deleted = b.events.at(-1) as ServerFrames['message_deleted'];
      expect(deleted).toMatchObject({ messageId: sent.messageId, deletedBy: alice.userId });
      // Every event reached both clients, once each, in the same order.
      await waitFor(() => a.events.some((e) => e.type === 'message_deleted'), 'alice sees all');
      const tail = (es: LogEventFrame[]) => es.filter((e) => e.roomId === roomId && e.seq >= sent.seq);
      expect(tail(a.events).map((e) => e.seq)).toEqual(tail(b.events).map((e) => e.seq));
    });

    it('joinRoom and leaveRoom follow the room live and drop its cursor on leaving', async () => {
      const [alice, bob] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice);
      const a = await pool.connect(t, alice);
      const cursors = new MemoryCursorStore();
      const b = await pool.connect(t, bob, { cursors });
      expect(b.client.position[roomId]).toBeUndefined();

      const joined = nextOf(b.client, 'user_joined', (e) => e.roomId === roomId);
      const j = await b.client.joinRoom(roomId);
      expect(j).toMatchObject({ roomId, lastSeq: expect.any(Number) });
      expect(await joined).toMatchObject({ user: { userId: bob.userId }, role: 'member' });
      const m = await a.client.send('welcome', { roomId });
      await waitFor(() => b.messages.some((x) => x.message.messageId === m.messageId), 'live after join');
      expect(cursors.load()[roomId]).toBe(m.seq);

      const left = nextOf(b.client, 'user_left', (e) => e.roomId === roomId);
      await b.client.leaveRoom(roomId);
      expect(await left).toMatchObject({ userId: bob.userId, reason: 'left' });
      expect(b.client.position[roomId]).toBeUndefined();
      expect(cursors.load()[roomId]).toBeUndefined();
      // Nothing more from that room.
      await a.client.send('gone', { roomId });
      const fence = await a.client.send('dm fence', { toUserId: bob.userId });
      await waitFor(() => b.messages.some((x) => x.message.messageId === fence.messageId), 'fence');
      expect(b.messages.map((x) => x.message.content)).toEqual(['welcome', 'dm fence']);
    });

    it('setPresence reaches peers as presence_update', async () => {
      const { alice, a, b } = await setup();
      const update = nextOf(
        b.client,
        'presence_update',
        (p) => p.userId === alice.userId && p.status === 'busy',
      );
      await expect(a.client.setPresence('busy', 'in a meeting')).resolves.toMatchObject({ status: 'busy' });
      expect(await update).toMatchObject({ customStatus: 'in a meeting' });
    });

    it('a StorageCursorStore carries positions across client instances (page reloads)', async () => {
      const [alice, bobUser] = await quickUsers(t, 2);
      const roomId = await roomWith(t, alice, bobUser);
      const a = await pool.connect(t, alice);
      const storage = new FakeStorage();

      const b1 = await pool.connect(t, bobUser, { cursors: new StorageCursorStore(storage, 'sb:bob') });
      const first = await post(t, alice, roomId, numbered(3, 'before '), 1);
      await waitFor(() => b1.messages.length === 3, 'first three');
      expect(JSON.parse(storage.getItem('sb:bob')!)).toMatchObject({ [roomId]: first.at(-1)!.seq });
      expect(storage.getItem('switchboard.cursors')).toBeNull();
      b1.client.close();

      const missed = await post(t, alice, roomId, numbered(4, 'missed '), 1);
      // A fresh instance over the same storage resumes exactly where the last one stopped.
      const b2 = pool.make(t, bobUser, { cursors: new StorageCursorStore(storage, 'sb:bob') });
      expect(b2.client.position[roomId]).toBe(first.at(-1)!.seq);
      await b2.client.connect();
      expect(b2.tap.current.sent[1]).toEqual({
        type: 'resume',
        id: 'resume',
        cursors: expect.objectContaining({ [roomId]: first.at(-1)!.seq }),
      });
      await waitFor(() => b2.messages.length >= 4, 'missed four');
      const live = await a.client.send('live', { roomId });
      await waitFor(() => b2.messages.at(-1)?.message.messageId === live.messageId, 'live');
      expect(b2.messages.map((m) => m.message.content)).toEqual([...missed.map((m) => m.content), 'live']);
      expect(JSON.parse(storage.getItem('sb:bob')!)[roomId]).toBe(live.seq);
    });

    it('a MemoryCursorStore shared by two instances works the same', async () => {
      const { alice, bob, roomId } = await setup();
      const cursors = new MemoryCursorStore();
      const b1 = await pool.connect(t, bob, { cursors });
      const before = await post(t, alice, roomId, ['one'], 1);
      await waitFor(() => b1.messages.length === 1, 'one');
      b1.client.close();
      await post(t, alice, roomId, ['two', 'three'], 1);
      const b2 = await pool.connect(t, bob, { cursors });
      await waitFor(() => b2.messages.length === 2, 'two more');
      expect(b2.messages.map((m) => m.message.content)).toEqual(['two', 'three']);
      expect(b2.events.every((e) => e.seq > before[0]!.seq)).toBe(true);
    });
  });
}

describe('cursor stores (unit)', () => {
  it('MemoryCursorStore hands out copies', () => {
    const s = new MemoryCursorStore();
    expect(s.load()).toEqual({});
    const c = { r1: 5 };
    s.save(c);
    c.r1 = 9;
    const loaded = s.load();
    expect(loaded).toEqual({ r1: 5 });
    loaded.r1 = 7;
    expect(s.load()).toEqual({ r1: 5 });
  });

  it('StorageCursorStore round-trips JSON under its key and survives garbage', () => {
    const storage = new FakeStorage();
    const s = new StorageCursorStore(storage);
    expect(s.load()).toEqual({});
    s.save({ a: 1, b: 2 });
    expect(storage.items.get('switchboard.cursors')).toBe('{"a":1,"b":2}');
    expect(new StorageCursorStore(storage).load()).toEqual({ a: 1, b: 2 });
    storage.setItem('switchboard.cursors', '{not json');
    expect(s.load()).toEqual({});
    expect(new StorageCursorStore(storage, 'other').load()).toEqual({});
  });
});
