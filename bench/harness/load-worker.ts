/**
 * A load-generator process: opens its share of client connections, records delivery latency in an
 * HdrHistogram, and reports to the parent over IPC. Several of these run at once, because one Node
 * process cannot drive thousands of sockets and parse their frames on 2 cores by itself.
 */
import * as hdr from 'hdr-histogram-js';
import { now } from './clock.js';
import { type Conn, connect, type TargetKind } from './drivers.js';

export type WorkerCommand =
  | {
      cmd: 'connect';
      kind: TargetKind;
      url: string;
      /** `rooms`/`tag` per client override the shared `rooms` (chat mix: each user its own rooms). */
      clients: { token?: string; localAddress?: string; rooms?: string[]; tag?: string }[];
      rooms: string[];
      concurrency?: number;
    }
  | {
      /** Chat mix: this worker's clients send `rate` msgs/s for `durationMs`, each from a random
       *  client into one of its rooms; `roomSize` gives each room's members, for the expected count. */
      cmd: 'chat';
      rate: number;
      durationMs: number;
      roomSize: Record<string, number>;
    }
  | { cmd: 'reset' }
  | { cmd: 'report' }
  | { cmd: 'close' };

export interface WorkerReport {
  connected: number;
  received: number;
  /** Base64 HdrHistogram of latencies in microseconds. */
  histogram: string;
}

const histogram = hdr.build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 60_000_000,
  numberOfSignificantValueDigits: 3,
});
let received = 0;
const conns: Conn[] = [];
/** Chat mix: the clients that send, with their rooms and tags. */
const senders: { conn: Conn; rooms: string[]; tag: string }[] = [];

function onMessage(_room: string, content: string, self?: string): void {
  // Chat mix content is `<time>|<sender tag>|...`: a sender's own echo is not a delivery.
  if (self !== undefined && content.startsWith(`|${self}|`, content.indexOf('|'))) return;
  received++;
  // Content is `<send time in ms>|...` (clock.ts: one time base for every process on the machine).
  const sent = Number(content.slice(0, content.indexOf('|')));
  if (sent > 0) histogram.recordValue(Math.max(1, Math.round((now() - sent) * 1000)));
}

async function handle(m: WorkerCommand): Promise<unknown> {
  switch (m.cmd) {
    case 'connect': {
      const queue = [...m.clients];
      const lanes = Array.from({ length: m.concurrency ?? 50 }, async () => {
        for (let c = queue.shift(); c; c = queue.shift()) {
          const tag = c.tag;
          const rooms = c.rooms ?? m.rooms;
          const conn = await connect(m.kind, {
            url: m.url,
            token: c.token,
            localAddress: c.localAddress,
            rooms,
            onMessage: (room, content) => onMessage(room, content, tag),
          });
          conns.push(conn);
          if (tag !== undefined) senders.push({ conn, rooms, tag });
        }
      });
      await Promise.all(lanes);
      return { connected: conns.length };
    }
    case 'chat': {
      // Fixed rate, paced on a 5 ms tick; each message: a random sender, one of its rooms.
      const pad = 'x'.repeat(80);
      const t0 = now();
      let sent = 0;
      let expected = 0;
      while (now() - t0 < m.durationMs) {
        const due = Math.floor(((now() - t0) / 1000) * m.rate);
        for (; sent < due; sent++) {
          const s = senders[Math.floor(Math.random() * senders.length)]!;
          const room = s.rooms[Math.floor(Math.random() * s.rooms.length)]!;
          s.conn.publish(room, `${now()}|${s.tag}|${pad}`);
          expected += (m.roomSize[room] ?? 1) - 1;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      return { sent, expected };
    }
    case 'reset':
      histogram.reset();
      received = 0;
      return {};
    case 'report':
      return {
        connected: conns.length,
        received,
        histogram: hdr.encodeIntoCompressedBase64(histogram),
      } satisfies WorkerReport;
    case 'close':
      for (const c of conns) c.close();
      await Promise.all(conns.map((c) => c.closed));
      return {};
  }
}

process.on('message', (raw) => {
  const { seq, body } = raw as { seq: number; body: WorkerCommand };
  handle(body).then(
    (result) => process.send?.({ seq, ok: true, result }),
    (err: Error) => process.send?.({ seq, ok: false, error: err.message }),
  );
});
process.send?.({ ready: true });
