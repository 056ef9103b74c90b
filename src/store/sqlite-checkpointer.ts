import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the commit that
 * crosses the threshold, on the thread that commits: it copies the WAL into the database file and
 * fsyncs it, stalling every request for that time (a third of the SQLite send path under load).
 * Here one worker thread per process holds its own connection to each open database file and runs
 * PASSIVE checkpoints on a timer; PASSIVE never blocks the writer, and once the WAL is fully copied
 * the next commit starts it over from the beginning, so it stays small.
 *
 * Durability is unchanged: with synchronous=NORMAL a commit is in the WAL either way. If the worker
 * cannot start or dies, every database falls back to SQLite's automatic checkpoint.
 */
export interface CheckpointTarget {
  path: string;
  /** Turns SQLite's automatic checkpoint back on for this connection. */
  fallBack(): void;
}

/** Checkpoint period: a few MB of WAL at most between two, at full write load. */
const PERIOD_MS = 200;

// The worker is plain CommonJS in a string, so it runs the same from src (tsx, vitest) and dist.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.driver);
const open = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'attach') {
    try {
      const db = new SQLite(m.path, { fileMustExist: true });
      db.pragma('busy_timeout = 0');
      open.set(m.id, db);
    } catch (err) {
      parentPort.postMessage({ type: 'failed', id: m.id, error: String(err) });
    }
  } else if (m.type === 'detach') {
    const db = open.get(m.id);
    open.delete(m.id);
    try { db?.close(); } catch {}
    parentPort.postMessage({ type: 'detached', id: m.id });
  }
});
setInterval(() => {
  for (const [id, db] of open) {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch (err) {
      // SQLITE_BUSY: another checkpoint or a WAL restart is under way; the next tick retries.
      if (err && err.code === 'SQLITE_BUSY') continue;
      open.delete(id);
      try { db.close(); } catch {}
      parentPort.postMessage({ type: 'failed', id, error: String(err) });
    }
  }
}, ${PERIOD_MS});
`;

let worker: Worker | undefined;
let broken = false;
let nextId = 1;
const targets = new Map<number, CheckpointTarget>();
const detaching = new Map<number, () => void>();

function start(): Worker | undefined {
  if (worker || broken) return worker;
  try {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver } });
    w.on('message', (m: { type: string; id: number }) => {
      if (m.type === 'failed') {
        targets.get(m.id)?.fallBack();
        targets.delete(m.id);
      } else if (m.type === 'detached') {
        detaching.get(m.id)?.();
        detaching.delete(m.id);
        if (detaching.size === 0) w.unref();
      }
    });
    const lost = () => {
      broken = true;
      worker = undefined;
      for (const t of targets.values()) t.fallBack();
      targets.clear();
      for (const done of detaching.values()) done();
      detaching.clear();
    };
    w.on('error', lost);
    w.on('exit', lost);
    w.unref(); // never what keeps the process alive (after the listeners, which would ref it again)
    worker = w;
  } catch {
    broken = true;
  }
  return worker;
}

/**
 * Checkpoints `target.path` in the background from now on. Returns undefined when background
 * checkpoints are unavailable (the caller keeps SQLite's automatic ones), else an id for
 * detachCheckpointer, to call before the main connection closes.
 */
export function attachCheckpointer(target: CheckpointTarget): number | undefined {
  const w = start();
  if (!w) return undefined;
  const id = nextId++;
  targets.set(id, target);
  w.postMessage({ type: 'attach', id, path: target.path });
  return id;
}

/** Stops checkpointing a database; resolves once the worker's connection is closed. */
export function detachCheckpointer(id: number): Promise<void> {
  const w = worker;
  if (!targets.delete(id) || !w) return Promise.resolve();
  return new Promise<void>((resolve) => {
    detaching.set(id, resolve);
    w.ref(); // an answer is awaited: the process must not exit before it comes
    w.postMessage({ type: 'detach', id });
  });
}
