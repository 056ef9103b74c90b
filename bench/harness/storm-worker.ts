/**
 * Reconnect-storm load generator: its clients are the real SDK (`src/client`), one
 * `SwitchboardClient` per user, each with its own in-memory cursor store. The parent tells it to
 * connect, to drop every socket (no close handshake), and to reconnect them all at once; it then
 * checks every client's `new_message` stream against the seqs that were sent while it was away.
 */
import WebSocket from 'ws';
import { MemoryCursorStore, SwitchboardClient, type WebSocketLike } from '../../src/client/index.js';
import { now } from './clock.js';

export interface StormClient {
  token: string;
  localAddress: string;
  room: string;
}

export interface StormReport {
  clients: number;
  /** Clients that received every expected message. */
  complete: number;
  /** now() when the last of this worker's clients had everything (NaN if some never did). */
  doneAt: number;
  /** Expected messages a client never got, summed over clients. */
  lost: number;
  /** Messages the SDK handed the app twice. */
  duplicated: number;
  /** Messages the SDK handed the app after a later seq of the same room. */
  outOfOrder: number;
  /** new_message frames that arrived on the wire for a seq the client already had (dropped by the SDK). */
  wireDuplicates: number;
  /** Clients that paged their room over REST (room_behind). */
  paged: number;
}

interface User {
  c: StormClient;
  cursors: MemoryCursorStore;
  client?: SwitchboardClient;
  raw?: WebSocket;
}

const users: User[] = [];
let serverUrl = '';

function makeClient(url: string, u: User, onWire?: (frame: { type?: string; seq?: number }) => void) {
  return new SwitchboardClient({
    url,
    token: u.c.token,
    cursors: u.cursors,
    webSocket: (wsUrl) => {
      const raw = new WebSocket(wsUrl, { localAddress: u.c.localAddress, perMessageDeflate: false });
      if (onWire) raw.on('message', (d) => onWire(JSON.parse(String(d))));
      u.raw = raw;
      return raw as unknown as WebSocketLike;
    },
  });
}

async function lanes<T>(items: T[], n: number, fn: (item: T) => Promise<void>) {
  const q = [...items];
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let x = q.shift(); x; x = q.shift()) await fn(x);
    }),
  );
}

async function handle(m: Record<string, any>): Promise<unknown> {
  switch (m.cmd) {
    case 'connect': {
      serverUrl = m.url;
      for (const c of m.clients as StormClient[]) users.push({ c, cursors: new MemoryCursorStore() });
      await lanes(users, 50, async (u) => {
        u.client = makeClient(serverUrl, u);
        await u.client.connect();
        await u.client.joinRoom(u.c.room).catch((err: { code?: string }) => {
          if (err.code !== 'ALREADY_MEMBER') throw err;
        });
        // The join event sets the cursor: from here on the client has a position to resume from.
        while (u.client.position[u.c.room] === undefined) await new Promise((r) => setTimeout(r, 10));
      });
      return { connected: users.length };
    }
    case 'drop':
      // Like a network failure: the sockets die without a close handshake; the apps stop.
      for (const u of users) {
        u.raw?.terminate();
        u.client?.close();
      }
      return { dropped: users.length };
    case 'reconnect': {
      const expected = m.expected as Record<string, number[]>;
      const timeoutMs = Number(m.timeoutMs ?? 60_000);
      const report: StormReport = {
        clients: users.length,
        complete: 0,
        doneAt: Number.NaN,
        lost: 0,
        duplicated: 0,
        outOfOrder: 0,
        wireDuplicates: 0,
        paged: 0,
      };
      let lastDone = 0;
      const waits = users.map((u) => {
        const want = new Set(expected[u.c.room] ?? []);
        const seen = new Set<number>();
        const startCursor = u.cursors.load()[u.c.room] ?? 0;
        let wireMax = startCursor;
        let max = 0;
        let got = 0;
        return new Promise<void>((resolve) => {
          const finish = () => {
            report.complete++;
            lastDone = Math.max(lastDone, now());
            resolve();
          };
          if (want.size === 0) {
            finish();
            return;
          }
          u.client = makeClient(serverUrl, u, (f) => {
            if (f.type !== 'new_message' || typeof f.seq !== 'number') return;
            if (f.seq <= wireMax) report.wireDuplicates++;
            wireMax = Math.max(wireMax, f.seq);
          });
          u.client.on('room_behind', () => void report.paged++);
          u.client.on('new_message', (e) => {
            if (e.roomId !== u.c.room) return;
            if (seen.has(e.seq)) report.duplicated++;
            else if (e.seq < max) report.outOfOrder++;
            seen.add(e.seq);
            max = Math.max(max, e.seq);
            if (want.has(e.seq) && ++got === want.size) finish();
          });
          const timer = setTimeout(() => {
            for (const s of want) if (!seen.has(s)) report.lost++;
            resolve();
          }, timeoutMs);
          timer.unref();
        });
      });
      // All at once: every client opens its socket in this same turn.
      for (const u of users) void u.client?.connect().catch(() => {});
      await Promise.all(waits);
      report.doneAt = report.complete === users.length ? lastDone : Number.NaN;
      return report;
    }
    case 'close':
      for (const u of users) u.client?.close();
      return {};
  }
  throw new Error(`unknown command ${m.cmd}`);
}

process.on('message', (raw) => {
  const { seq, body } = raw as { seq: number; body: Record<string, unknown> };
  handle(body).then(
    (result) => process.send?.({ seq, ok: true, result }),
    (err: Error) => process.send?.({ seq, ok: false, error: err.message }),
  );
});
process.send?.({ ready: true });
