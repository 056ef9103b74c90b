import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Aborting stops the whole process group: SIGTERM, then SIGKILL after `killGraceMs`. */
  signal: AbortSignal;
  /** Ms between SIGTERM and SIGKILL. */
  killGraceMs: number;
  /** Bytes of output (stdout and stderr together) handed to `onLine`; the rest is dropped. */
  maxOutputBytes: number;
  /** Each complete output line (without its newline), until the limit. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** The new process group's id (= the child's pid), once spawned. */
  onSpawn?: (pgid: number) => void;
}

export interface RunResult {
  /** Exit code, or null when killed by a signal or not started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The run was stopped through `signal`. */
  aborted: boolean;
  /** Why the command could not start (ENOENT, EACCES, ...). */
  spawnError?: string;
  /** The last lines of output, for error messages (bounded). */
  tail: string[];
  truncated: boolean;
}

const TAIL_LINES = 30;
const MAX_LINE = 16_384;

/**
 * Runs argv (never through a shell) as the leader of a new process group, so the command and every
 * process it starts can be stopped together. When the command exits, stragglers left in its group
 * are killed too. Output is read to the end but only `maxOutputBytes` of it is passed on.
 */
export function runCommand(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    const tail: string[] = [];
    let seen = 0;
    let truncated = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const pushTail = (line: string) => {
      tail.push(line.length > 500 ? `${line.slice(0, 500)}...` : line);
      if (tail.length > TAIL_LINES) tail.shift();
    };
    if (opts.signal.aborted) {
      resolve({ code: null, signal: null, aborted: true, tail, truncated });
      return;
    }
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pgid = child.pid;
    const onAbort = () => {
      aborted = true;
      if (pgid === undefined) return;
      killGroup(pgid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(pgid, 'SIGKILL'), opts.killGraceMs);
    };
    const line = (stream: 'stdout' | 'stderr') => {
      let partial = '';
      const emit = (text: string) => {
        pushTail(text);
        if (truncated) return;
        seen += Buffer.byteLength(text) + 1;
        if (seen > opts.maxOutputBytes) {
          truncated = true;
          return;
        }
        try {
          opts.onLine?.(text, stream);
        } catch {
          // a listener's failure must not stop the command
        }
      };
      return {
        data(chunk: string) {
          partial += chunk;
          let nl = partial.indexOf('\n');
          while (nl >= 0) {
            emit(partial.slice(0, nl).replace(/\r$/, ''));
            partial = partial.slice(nl + 1);
            nl = partial.indexOf('\n');
          }
          // An endless line is passed on in pieces rather than held in memory.
          while (partial.length > MAX_LINE) {
            emit(partial.slice(0, MAX_LINE));
            partial = partial.slice(MAX_LINE);
          }
        },
        end() {
          if (partial) emit(partial);
          partial = '';
        },
      };
    };
    const out = line('stdout');
    const err = line('stderr');
    child.stdout!.setEncoding('utf8').on('data', out.data);
    child.stderr!.setEncoding('utf8').on('data', err.data);

    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let streamsOpen = 2;
    const finish = (spawnError?: string) => {
      opts.signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      out.end();
      err.end();
      resolve({
        code: exit?.code ?? null,
        signal: exit?.signal ?? null,
        aborted,
        ...(spawnError ? { spawnError } : {}),
        tail,
        truncated,
      });
    };
    const closed = () => {
      if (--streamsOpen === 0 && exit) finish();
    };
    child.stdout!.on('close', closed);
    child.stderr!.on('close', closed);
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (pgid === undefined) {
        finish(e.code === 'ENOENT' ? `${argv[0]}: command not found` : e.message);
      }
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Whatever the command left running in its group goes with it; the output pipes then close.
      if (pgid !== undefined) killGroup(pgid, 'SIGKILL');
      if (streamsOpen === 0) finish();
    });
    if (pgid !== undefined) opts.onSpawn?.(pgid);
    opts.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Signals a process group; a group that is already gone is fine. */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: gone already
  }
}

/** True while any process of the group is alive (zombies count as gone). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  // The leader may be a zombie waiting for a parent that never reaps it (the worker that started it died).
  return !isZombie(pgid) || hasOtherMembers(pgid);
}

/** True if a process with this pid runs (a zombie is not running). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

function hasOtherMembers(pgid: number): boolean {
  // Without /proc we cannot tell; assume the group is gone once its leader is a zombie.
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === pgid) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
      } catch {
        // the process ended meanwhile
      }
    }
  } catch {
    return false;
  }
  return false;
}
