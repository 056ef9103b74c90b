import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { SignJWT } from 'jose';
import type { TargetKind } from './drivers.js';
import type { WorkerCommand, WorkerReport } from './load-worker.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
const TSX = ['--import', 'tsx'];

/** External-issuer settings the bench signs its own tokens with (no password hashing per user). */
const ISSUER = {
  iss: 'switchboard-bench',
  aud: 'switchboard',
  secret: 'bench-secret-bench-secret-bench-secret-0123',
};

export interface Target {
  kind: TargetKind;
  url: string;
  /** The server process, for CPU and memory readings. */
  pid: number;
  token(user: string): Promise<string>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function waitForMessage<T>(child: ChildProcess, pred: (m: T) => boolean, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: unknown) => {
      if (pred(m as T)) {
        child.off('message', onMsg);
        resolve(m as T);
      }
    };
    child.on('message', onMsg);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts a server to measure. Switchboard runs `switchboard serve` on a fresh SQLite file (or
 * `DATABASE_URL` from `env`) with limits opened up for load; the peers are the files in bench/peers.
 */
export async function startTarget(kind: TargetKind, env: Record<string, string> = {}): Promise<Target> {
  const port = await freePort();
  if (kind !== 'switchboard') {
    const file = join(root, 'bench', 'peers', kind === 'rawws' ? 'raw-ws-server.ts' : 'socketio-server.ts');
    const child = fork(file, [], {
      execArgv: TSX,
      env: { ...process.env, PORT: String(port) },
      stdio: 'inherit',
    });
    await waitForMessage<{ ready?: boolean }>(child, (m) => m.ready === true, kind);
    return {
      kind,
      url: `http://127.0.0.1:${port}`,
      pid: child.pid!,
      token: async () => '',
      stop: () => stopChild(child),
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  // BENCH_CPU_PROF=<dir>: write a V8 CPU profile of the server (open it in Chrome DevTools or speedscope).
  const prof = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const child = fork(join(root, 'src', 'cli', 'main.ts'), ['serve'], {
    execArgv: [...TSX, ...prof],
    stdio: 'inherit',
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      JWT_SECRET: 'bench-jwt-secret-bench-jwt-secret-012345',
      AUTH_EXTERNAL_ISSUER: ISSUER.iss,
      AUTH_EXTERNAL_AUDIENCE: ISSUER.aud,
      AUTH_EXTERNAL_SECRET: ISSUER.secret,
      SEND_RATE_LIMIT: '1000000',
      API_RATE_LIMIT: '1000000',
      AUTH_RATE_LIMIT: '1000000',
      WS_FRAME_RATE: '1000000',
      WS_MAX_BUFFERED_BYTES: String(64 * 1024 * 1024),
      RESUME_WAIT_MS: '100',
      ...env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`switchboard exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 600) throw new Error('switchboard did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  const key = new TextEncoder().encode(ISSUER.secret);
  return {
    kind,
    url,
    pid: child.pid!,
    token: (user) =>
      new SignJWT({ preferred_username: user })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user)
        .setIssuer(ISSUER.iss)
        .setAudience(ISSUER.aud)
        .setExpirationTime('2h')
        .sign(key),
    stop: async () => {
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface LoadWorker {
  call<T = unknown>(cmd: WorkerCommand | { cmd: string; [k: string]: unknown }): Promise<T>;
  pid: number;
  stop(): Promise<void>;
}

/** Forks a load generator: `load-worker.ts` by default, or another script in bench/harness. */
export async function startWorker(script = 'load-worker.ts'): Promise<LoadWorker> {
  const child = fork(join(here, script), [], { execArgv: TSX, stdio: 'inherit' });
  await waitForMessage<{ ready?: boolean }>(child, (m) => m.ready === true, 'load worker');
  let seq = 0;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  child.on('message', (m) => {
    const r = m as { seq?: number; ok?: boolean; result?: unknown; error?: string };
    if (r.seq === undefined) return;
    const p = pending.get(r.seq);
    pending.delete(r.seq);
    if (r.ok) p?.resolve(r.result);
    else p?.reject(new Error(r.error));
  });
  return {
    pid: child.pid!,
    call: <T>(body: WorkerCommand | { cmd: string; [k: string]: unknown }) =>
      new Promise<T>((resolve, reject) => {
        const s = ++seq;
        pending.set(s, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ seq: s, body });
      }),
    stop: () => stopChild(child),
  };
}

/** Merges the workers' histograms (microseconds) into one. */
export function mergeReports(reports: WorkerReport[]): { received: number; histogram: hdr.Histogram } {
  const total = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let received = 0;
  for (const r of reports) {
    received += r.received;
    total.add(hdr.decodeFromCompressedBase64(r.histogram));
  }
  return { received, histogram: total };
}

/** CPU seconds (user+system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8') as string;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Resident memory of a process in bytes, from /proc. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8') as string;
    const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
