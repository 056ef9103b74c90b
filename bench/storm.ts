/**
 * Reconnect storm (issue 9, scenario 4): N SDK clients (default 5,000) in rooms of 10 are connected
 * and following their room, then all their sockets are killed; M messages (default 50,000) are sent
 * into their rooms while they are away; then every client reconnects at once and resumes from its
 * stored cursor. Reports the time from the reconnect until every client had every message, and the
 * lost / duplicated / out-of-order counts per client, which must be zero. Switchboard only: the peers
 * keep no history, so there is nothing for their clients to catch up from.
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { SwitchboardClient, type WebSocketLike } from '../src/client/index.js';
import { has, intFlag, sleep, sourceAddress } from './harness/cli-args.js';
import { now } from './harness/clock.js';
import { cpuSeconds, startTarget, startWorker } from './harness/processes.js';
import type { StormReport } from './harness/storm-worker.js';

export interface StormResult {
  clients: number;
  rooms: number;
  messages: number;
  /** Ms from the reconnect until every client had every message (NaN if some never did). */
  caughtUpMs: number;
  complete: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  wireDuplicates: number;
  paged: number;
  /** Persisted sends per second while the clients were away. */
  sendRate: number;
  serverCpuDuringCatchUp: number;
  loadAvg: number;
}

const TARGET_MS = 5000;

export async function storm(args: string[]): Promise<void> {
  const quick = has(args, 'quick');
  const r = await runStorm({
    clients: intFlag(args, 'clients', quick ? 500 : 5000),
    messages: intFlag(args, 'messages', quick ? 5000 : 50_000),
    // Two: a third process costs the server more CPU than it adds in parsing (6.1–7.6 s vs 4.9–5.3 s).
    workerCount: intFlag(args, 'workers', 2),
    replayPerRoom: intFlag(args, 'replay-per-room', 1000),
  });
  process.stdout.write(`${JSON.stringify({ scenario: 'storm', target: 'switchboard', ...r })}\n`);
  const ok = r.lost === 0 && r.duplicated === 0 && r.outOfOrder === 0 && r.complete === r.clients;
  process.stdout.write(
    `\nreconnect storm: ${r.clients.toLocaleString('en')} clients in ${r.rooms} rooms of 10, ${r.messages.toLocaleString('en')} messages sent while away (${Math.round(r.sendRate)} msgs/s persisted)\n` +
      `  caught up in ${r.caughtUpMs.toFixed(0)} ms (target < ${TARGET_MS} ms: ${r.caughtUpMs < TARGET_MS ? 'met' : 'missed'}); ${r.complete}/${r.clients} clients complete\n` +
      `  lost ${r.lost}, duplicated ${r.duplicated}, out of order ${r.outOfOrder} (${ok ? 'OK' : 'NOT ZERO'}); wire duplicates dropped by the SDK ${r.wireDuplicates}; rooms paged over REST ${r.paged}\n` +
      `  server CPU during catch-up ${(r.serverCpuDuringCatchUp * 100).toFixed(0)}%; load ${r.loadAvg.toFixed(2)}\n`,
  );
}

export async function runStorm(o: {
  clients: number;
  messages: number;
  workerCount: number;
  replayPerRoom?: number;
}): Promise<StormResult> {
  if (o.clients % 10 !== 0) throw new Error('--clients must be a multiple of 10');
  const target = await startTarget('switchboard', {
    REPLAY_PER_ROOM: String(o.replayPerRoom ?? 1000),
    PRESENCE_OFFLINE_GRACE_MS: '0',
  });
  const workers = await Promise.all(
    Array.from({ length: o.workerCount }, () => startWorker('storm-worker.ts')),
  );
  const factory = (u: string) => new WebSocket(u, { perMessageDeflate: false }) as unknown as WebSocketLike;
  const publisher = new SwitchboardClient({
    url: target.url,
    token: await target.token('publisher'),
    webSocket: factory,
    autoDelivered: false,
  });
  try {
    await publisher.connect();
    const rooms: string[] = [];
    const roomCount = o.clients / 10;
    const pubToken = await target.token('publisher');
    for (let i = 0; i < roomCount; i++) {
      const res = await fetch(`${target.url}/v1/chat/rooms`, {
        method: 'POST',
        headers: { authorization: `Bearer ${pubToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `storm-${i}-${Date.now()}`, type: 'public', maxMembers: 20 }),
      });
      if (res.status !== 201) throw new Error(`create room: ${res.status} ${await res.text()}`);
      rooms.push(((await res.json()) as { data: { roomId: string } }).data.roomId);
    }
    const tokens = await Promise.all(Array.from({ length: o.clients }, (_, i) => target.token(`s${i}`)));
    await Promise.all(
      workers.map(async (w, wi) => {
        const clients = [];
        for (let i = wi; i < o.clients; i += o.workerCount)
          clients.push({
            token: tokens[i]!,
            localAddress: sourceAddress(i),
            room: rooms[Math.floor(i / 10)]!,
          });
        await w.call({ cmd: 'connect', url: target.url, clients });
      }),
    );
    await sleep(500);
    await Promise.all(workers.map((w) => w.call({ cmd: 'drop' })));
    await sleep(500); // the server notices the dead sockets

    // Persisted sends with acks, many in flight; the acks' seqs are what each client must get.
    const expected: Record<string, number[]> = {};
    const pad = 'y'.repeat(80);
    let next = 0;
    const s0 = now();
    await Promise.all(
      Array.from({ length: 256 }, async () => {
        for (let i = next++; i < o.messages; i = next++) {
          const roomId = rooms[i % rooms.length]!;
          const ack = await publisher.send(`${i}|${pad}`, { roomId, clientMsgId: `m${i}` });
          const seqs = expected[roomId] ?? [];
          expected[roomId] = seqs;
          seqs.push(ack.seq);
        }
      }),
    );
    const sendRate = o.messages / ((now() - s0) / 1000);

    const cpu0 = cpuSeconds(target.pid);
    const t0 = now();
    const reports = await Promise.all(
      workers.map((w) => w.call<StormReport>({ cmd: 'reconnect', expected, timeoutMs: 120_000 })),
    );
    const doneAt = Math.max(...reports.map((r) => r.doneAt));
    const sum = (k: keyof StormReport) => reports.reduce((a, r) => a + r[k], 0);
    const result: StormResult = {
      clients: o.clients,
      rooms: roomCount,
      messages: o.messages,
      caughtUpMs: doneAt - t0,
      complete: sum('complete'),
      lost: sum('lost'),
      duplicated: sum('duplicated'),
      outOfOrder: sum('outOfOrder'),
      wireDuplicates: sum('wireDuplicates'),
      paged: sum('paged'),
      sendRate,
      serverCpuDuringCatchUp: (cpuSeconds(target.pid) - cpu0) / ((now() - t0) / 1000),
      loadAvg: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
    };
    await Promise.all(workers.map((w) => w.call({ cmd: 'close' })));
    return result;
  } finally {
    publisher.close();
    await Promise.all(workers.map((w) => w.stop()));
    await target.stop();
  }
}
