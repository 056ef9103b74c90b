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
      clients: { token?: string; localAddress?: string }[];
      rooms: string[];
      concurrency?: number;
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

function onMessage(_room: string, content: string): void {
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
          conns.push(
            await connect(m.kind, {
              url: m.url,
              token: c.token,
              localAddress: c.localAddress,
              rooms: m.rooms,
              onMessage,
            }),
          );
        }
      });
      await Promise.all(lanes);
      return { connected: conns.length };
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
