import { describe, expect, it, vi } from 'vitest';
import { eventFrameText, type RoomEvent } from '../../src/events/room-event.js';
import type { LogReader } from '../../src/realtime/session.js';
import { SharedLogReader } from '../../src/realtime/shared-log-reader.js';

/** A room log in memory that counts reads; `gate` holds reads until released. */
function fakeStore(lastSeq: number) {
  const log = new Map<string, RoomEvent[]>();
  const events = (roomId: string) => {
    let list = log.get(roomId);
    if (!list) {
      list = Array.from(
        { length: lastSeq },
        (_, i): RoomEvent => ({
          roomId,
          seq: i + 1,
          type: 'new_message' as const,
          actorId: 'usr_a',
          createdAt: 0,
          body: { n: i + 1 } as unknown as RoomEvent['body'],
        }),
      );
      log.set(roomId, list);
    }
    return list;
  };
  let release: () => void = () => {};
  let gate: Promise<void> | undefined;
  const store = {
    reads: 0,
    fail: false,
    hold() {
      gate = new Promise<void>((r) => {
        release = r;
      });
    },
    release: () => release(),
    append(roomId: string) {
      const list = events(roomId);
      list.push({ ...list[0]!, seq: list.length + 1 });
    },
    async after(roomId: string, afterSeq: number, limit: number): Promise<RoomEvent[]> {
      store.reads++;
      if (gate) await gate;
      if (store.fail) throw new Error('store down');
      // Copies, as a database read would return: sharing must come from the reader.
      return events(roomId)
        .filter((e) => e.seq > afterSeq)
        .slice(0, limit)
        .map((e) => ({ ...e }));
    },
  };
  return store satisfies LogReader;
}

const seqs = (es: RoomEvent[]) => es.map((e) => e.seq);

describe('shared log reader', () => {
  it('answers a wave of identical asks with one store read and the same event objects', async () => {
    const store = fakeStore(100);
    store.hold();
    const reader = new SharedLogReader(store, { ttlMs: 2000, maxEvents: 10_000 });
    const asks = Array.from({ length: 10 }, () => reader.after('room_a', 40, 60));
    store.release();
    const got = await Promise.all(asks);
    expect(store.reads).toBe(1);
    for (const g of got) expect(seqs(g)).toEqual(seqs(got[0]!));
    expect(seqs(got[0]!)).toEqual(Array.from({ length: 60 }, (_, i) => 41 + i));
    expect(got[5]![0]).toBe(got[0]![0]);
    // So each event is serialized once for every session.
    const stringify = vi.spyOn(JSON, 'stringify');
    try {
      for (const g of got) eventFrameText(g[0]!);
      expect(stringify).toHaveBeenCalledTimes(1);
    } finally {
      stringify.mockRestore();
    }
  });

  it('serves a later cursor inside what was read; goes to the store for anything it does not hold', async () => {
    const store = fakeStore(100);
    const reader = new SharedLogReader(store, { ttlMs: 2000, maxEvents: 10_000 });
    await reader.after('room_a', 40, 60);
    expect(seqs(await reader.after('room_a', 70, 30))).toEqual(Array.from({ length: 30 }, (_, i) => 71 + i));
    expect(seqs(await reader.after('room_a', 90, 5))).toEqual([91, 92, 93, 94, 95]);
    expect(store.reads).toBe(1);
    // Older than the read: the store.
    expect(seqs(await reader.after('room_a', 30, 5))).toEqual([31, 32, 33, 34, 35]);
    expect(store.reads).toBe(2);
    // Past what the read holds (newer events committed since): the store, never a short answer.
    await reader.after('room_a', 40, 60);
    store.append('room_a');
    expect(seqs(await reader.after('room_a', 95, 6))).toEqual([96, 97, 98, 99, 100, 101]);
    // Another room is its own read.
    const reads = store.reads;
    expect(seqs(await reader.after('room_b', 98, 2))).toEqual([99, 100]);
    expect(store.reads).toBe(reads + 1);
  });

  it('forgets reads after the ttl, and holds at most maxEvents', async () => {
    let t = 0;
    const store = fakeStore(100);
    const reader = new SharedLogReader(store, { ttlMs: 2000, maxEvents: 150, now: () => t });
    await reader.after('room_a', 0, 100);
    await reader.after('room_b', 0, 100); // over the bound: room_a's read goes
    expect(reader.size).toBe(100);
    await reader.after('room_b', 50, 10);
    expect(store.reads).toBe(2);
    await reader.after('room_a', 50, 10);
    expect(store.reads).toBe(3);
    t = 2001;
    await reader.after('room_b', 50, 10);
    expect(store.reads).toBe(4);
  });

  it('a failed read fails its asks and is not remembered', async () => {
    const store = fakeStore(10);
    store.hold();
    store.fail = true;
    const reader = new SharedLogReader(store, { ttlMs: 2000, maxEvents: 100 });
    const first = reader.after('room_a', 0, 10);
    const second = reader.after('room_a', 0, 10);
    store.release();
    await expect(first).rejects.toThrow('store down');
    await expect(second).rejects.toThrow('store down');
    store.fail = false;
    expect(seqs(await reader.after('room_a', 0, 3))).toEqual([1, 2, 3]);
    expect(reader.size).toBe(3);
  });
});
