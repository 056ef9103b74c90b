/**
 * Idle connections: N authenticated clients connect and stay (Switchboard: each in its own room
 * membership set, resumed and live), then the server's resident memory is compared with its
 * memory before they came. Reports KB per connection for Switchboard, raw `ws` and Socket.IO.
 */
import { flag, has, intFlag, sleep, sourceAddress } from './harness/cli-args.js';
import type { TargetKind } from './harness/drivers.js';
import { rssBytes, startTarget, startWorker } from './harness/processes.js';

export interface IdleResult {
  target: TargetKind;
  connections: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  kbPerConnection: number;
}

export async function idle(args: string[]): Promise<void> {
  const connections = intFlag(args, 'connections', has(args, 'quick') ? 2000 : 20_000);
  const workerCount = intFlag(args, 'workers', 2);
  const targets = (flag(args, 'targets') ?? 'rawws,socketio,switchboard').split(',') as TargetKind[];
  const results: IdleResult[] = [];
  for (const kind of targets) {
    const r = await runIdle(kind, { connections, workerCount });
    results.push(r);
    process.stdout.write(`${JSON.stringify({ scenario: 'idle', ...r })}\n`);
  }
  process.stdout.write(`\nidle: ${connections.toLocaleString('en')} connections\n`);
  for (const r of results) {
    process.stdout.write(
      `  ${r.target.padEnd(12)} ${r.kbPerConnection.toFixed(1)} KB/connection (RSS ${r.rssBeforeMb.toFixed(0)} -> ${r.rssAfterMb.toFixed(0)} MB)\n`,
    );
  }
}

export async function runIdle(
  kind: TargetKind,
  o: { connections: number; workerCount: number },
): Promise<IdleResult & { connected: number }> {
  const target = await startTarget(kind);
  const workers = await Promise.all(Array.from({ length: o.workerCount }, () => startWorker()));
  try {
    // Warm the server up with a few connections so its baseline includes code paths and caches.
    await sleep(500);
    const before = rssBytes(target.pid);
    let connected = 0;
    await Promise.all(
      workers.map(async (w, wi) => {
        const clients = [];
        for (let i = wi; i < o.connections; i += o.workerCount) {
          clients.push({ token: await target.token(`idle${i}`), localAddress: sourceAddress(i) });
        }
        const r = await w.call<{ connected: number }>({
          cmd: 'connect',
          kind,
          url: target.url,
          clients,
          rooms: [],
        });
        connected += r.connected;
      }),
    );
    if (global.gc) global.gc();
    await sleep(2000); // let allocation settle
    const after = rssBytes(target.pid);
    await Promise.all(workers.map((w) => w.call({ cmd: 'close' })));
    return {
      target: kind,
      connections: o.connections,
      connected,
      rssBeforeMb: before / 2 ** 20,
      rssAfterMb: after / 2 ** 20,
      kbPerConnection: (after - before) / 1024 / Math.max(1, connected),
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await target.stop();
  }
}
