import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RoomEvent } from '../../src/events/room-event.js';
import type { FrameServices } from '../../src/realtime/frame-handlers.js';
import type { Hub } from '../../src/realtime/hub.js';
import { Realtime } from '../../src/realtime/realtime.js';
import type { Heads, LogReader } from '../../src/realtime/session.js';
import type { Transport } from '../../src/realtime/transport.js';

/**
 * The auto-start timer (RESUME_WAIT_MS) and a `resume` that is already in the socket's buffer can
 * come due in the same event-loop turn; timers run before I/O is read. The resume must win, or the
 * connection starts live from the heads and the client's cursors are ignored.
 */
describe('auto-start vs a late resume', () => {
  it('a resume read in the same loop turn as the expiring timer starts the connection', async () => {
    const room = 'r1';
    const events: RoomEvent[] = [1, 2, 3, 4, 5].map((seq) => ({
      roomId: room,
      seq,
      type: 'message_deleted',
      actorId: 'u2',
      createdAt: 0,
      body: { messageId: `m${seq}`, deletedBy: 'u2' },
    }));
    const heads: Heads = new Map([[room, { lastSeq: 5, readSeq: 5 }]]);
    const hub = {
      add: async () => heads,
      remove: () => ({ lastOfUser: true }),
      heads: async () => heads,
      connectionCount: 0,
    } as unknown as Hub;
    const services = {
      presence: { connected: async () => {}, disconnected: async () => {}, heartbeat: async () => {} },
      typing: { stopAll: () => {} },
    } as unknown as FrameServices;
    const log: LogReader = {
      after: async (_r, after, limit) => events.filter((e) => e.seq > after).slice(0, limit),
    };
    const sent: Record<string, unknown>[] = [];
    const transport: Transport = {
      send: (data) => void sent.push(JSON.parse(data)),
      close: () => {},
      bufferedAmount: () => 0,
    };
    const autoStartMs = 20;
    const rt = new Realtime(hub, services, log, pino({ level: 'silent' }), {
      autoStartMs,
      frameRate: 1000,
      maxFrameBytes: 65536,
      heartbeatMs: 25_000,
      replayPerRoom: 100,
      replayTotal: 1000,
      maxBufferedBytes: 1 << 20,
    });
    const conn = await rt.open({ userId: 'u1', username: 'u1', isAdmin: false }, transport);
    // Comes due right after the server's timer, in the same timers phase: like a frame that sits in
    // the socket's buffer while the timer fires.
    const late = setTimeout(
      () => void conn.onMessage(JSON.stringify({ type: 'resume', id: 'r', cursors: { [room]: 2 } })),
      autoStartMs,
    );
    const until = Date.now() + autoStartMs * 3;
    while (Date.now() < until) {
      // block the loop so both timers are overdue together
    }
    await new Promise((r) => setTimeout(r, 100));
    clearTimeout(late);
    const resumed = sent.filter((f) => f.type === 'resumed');
    expect(resumed).toHaveLength(1);
    expect(resumed[0]).toMatchObject({
      id: 'r',
      rooms: [{ roomId: room, fromSeq: 2, toSeq: 5, lastSeq: 5, complete: true }],
    });
    expect(sent.filter((f) => f.type === 'message_deleted').map((f) => f.seq)).toEqual([3, 4, 5]);
    conn.onClose();
  });
});
