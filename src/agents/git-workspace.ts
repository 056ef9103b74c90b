import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { groupAlive, killGroup, type RunResult, runCommand } from './process-runner.js';
import { GIT_ALLOWED_PROTOCOLS } from './repo-url.js';

/** A step of a job failed in an expected way (bad repository, failed push, ...): a failed result. */
export class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
    this.name = 'StepError';
  }
}

/** The run was stopped (interrupted, cancelled, timed out, lease lost) while in a step. */
export class StepAborted extends Error {
  constructor() {
    super('aborted');
    this.name = 'StepAborted';
  }
}

export interface WorkspaceOptions {
  /** `<AGENT_WORKSPACE_DIR>/<projectId>/<userId>`: one per ownership key. */
  root: string;
  /** Environment for git (already scrubbed of Switchboard's secrets). */
  baseEnv: NodeJS.ProcessEnv;
  signal: AbortSignal;
  killGraceMs: number;
  git: { token?: string; username: string; authorName: string; authorEmail: string };
  /** Each process group started, so a worker that takes the key over can stop stragglers. */
  onSpawn?: (pgid: number) => void;
}

/** git's well-known empty tree: the base of a branch with no history. */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const SAFETY = [
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'credential.helper=',
  '-c',
  'protocol.ext.allow=never',
  '-c',
  'core.quotepath=false',
];

interface LockInfo {
  host: string;
  workerPid: number;
  pgid: number | null;
  jobId: string;
}

/**
 * The git side of a job, in the workspace of its project+user key. The repository lives in
 * `<root>/repo`; beside it: the trusted copy of `.git/config`, the askpass script (which reads the
 * token from git's environment, so no secret is ever written to disk or into a remote URL) and the
 * lock that names the running process group. The agent never sees the token: only git processes get it.
 */
export class GitWorkspace {
  readonly repoDir: string;
  private readonly snapshot: string;
  private readonly lockFile: string;
  private readonly askpass: string;
  private base: string | null = null;
  private jobId = '';

  constructor(private readonly o: WorkspaceOptions) {
    this.repoDir = join(o.root, 'repo');
    this.snapshot = join(o.root, 'git-config.trusted');
    this.lockFile = join(o.root, 'lock.json');
    this.askpass = join(o.root, 'askpass.sh');
  }

  /** The commit the run started from (null for an empty repository). */
  get baseCommit(): string | null {
    return this.base;
  }

  /**
   * Takes the workspace for a run. We hold the key now, so a process group an earlier run left (its
   * worker died or lost its lease, on this host) is stale: it is stopped first, so two agents never
   * edit one checkout.
   */
  async acquire(jobId: string): Promise<void> {
    this.jobId = jobId;
    await mkdir(this.o.root, { recursive: true });
    const old = await readLock(this.lockFile);
    if (old?.pgid && old.host === hostname() && groupAlive(old.pgid)) {
      killGroup(old.pgid, 'SIGTERM');
      for (let waited = 0; groupAlive(old.pgid) && waited < this.o.killGraceMs; waited += 50) await sleep(50);
      killGroup(old.pgid, 'SIGKILL');
      for (let waited = 0; groupAlive(old.pgid) && waited < 2000; waited += 50) await sleep(50);
    }
    await this.writeLock(null);
  }

  /** Records the process group now running in this workspace. */
  async track(pgid: number | null): Promise<void> {
    await this.writeLock(pgid);
  }

  async release(): Promise<void> {
    await rm(this.lockFile, { force: true });
  }

  /**
   * Clone (first time, or when the project's repository changed) or fetch; then check out
   * `branch` from the remote's branch if it exists, else from `previousCommit` or the default
   * branch, and reset and clean the checkout: whatever an earlier run left is gone.
   */
  async prepare(repoUrl: string, branch: string, previousCommit: string | undefined): Promise<void> {
    if (existsSync(join(this.repoDir, '.git'))) {
      await this.restoreConfig();
      const origin = await this.git(['config', '--get', 'remote.origin.url'], { allowFail: true });
      if (origin.code !== 0 || origin.out[0] !== repoUrl)
        await rm(this.repoDir, { recursive: true, force: true });
    }
    if (existsSync(join(this.repoDir, '.git'))) {
      await this.removeStaleLocks();
      const f = await this.git(['fetch', '--prune', '--quiet', 'origin'], { allowFail: true });
      if (f.code !== 0) throw new StepError('fetch', `Could not fetch ${repoUrl}: ${gitError(f)}`);
    } else {
      await this.clone(repoUrl);
    }
    this.base =
      (await this.commitOf(`refs/remotes/origin/${branch}`)) ??
      (previousCommit && /^[0-9a-f]{7,64}$/i.test(previousCommit)
        ? await this.commitOf(previousCommit)
        : undefined) ??
      (await this.defaultHead()) ??
      null;
    if (this.base) {
      await this.mustGit('checkout', ['checkout', '-q', '-f', '--no-track', '-B', branch, this.base]);
      await this.mustGit('checkout', ['reset', '-q', '--hard', this.base]);
    } else {
      // An empty repository: start the branch with no history.
      await this.mustGit('checkout', ['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
      await this.git(['rm', '-r', '-q', '--cached', '--ignore-unmatch', '.'], { allowFail: true });
    }
    await this.mustGit('checkout', ['clean', '-q', '-ffd']);
    await copyFile(join(this.repoDir, '.git', 'config'), this.snapshot);
  }

  /**
   * After the agent ran: git settings it may have planted (hooks, a changed remote, credential
   * helpers, `insteadOf` rewrites) are undone before git runs with the token, and HEAD is back on
   * the job's branch.
   */
  async secure(branch: string): Promise<void> {
    await this.restoreConfig();
    await rm(join(this.repoDir, '.git', 'hooks'), { recursive: true, force: true });
    await this.removeStaleLocks();
    const head = await this.git(['symbolic-ref', '-q', 'HEAD'], { allowFail: true });
    if (head.out[0] !== `refs/heads/${branch}`) {
      await this.mustGit('commit', ['checkout', '-q', '-B', branch]);
    }
  }

  /** Stages everything; the paths that differ from the base (committed by the agent or not). */
  async stage(): Promise<string[]> {
    await this.mustGit('commit', ['add', '-A']);
    const r = await this.mustGit('commit', ['diff', '--cached', '--name-only', this.base ?? EMPTY_TREE]);
    return r.out.filter(Boolean);
  }

  /** Commits what is staged (if anything); the branch's head if it moved past the base, else undefined. */
  async commit(message: string): Promise<string | undefined> {
    const staged = await this.git(['diff', '--cached', '--quiet'], { allowFail: true });
    if (staged.code !== 0) {
      await this.mustGit('commit', ['commit', '-q', '--no-verify', '--no-gpg-sign', '-m', message]);
    }
    const head = await this.commitOf('HEAD');
    return head && head !== this.base ? head : undefined;
  }

  /** Paths added or changed since the base under `dir` (report files). */
  async changedUnder(dir: string): Promise<string[]> {
    if (!(await this.commitOf('HEAD'))) return [];
    const r = await this.mustGit('commit', [
      'diff',
      '--name-only',
      '--diff-filter=AMR',
      this.base ?? EMPTY_TREE,
      'HEAD',
      '--',
      dir,
    ]);
    return r.out.filter(Boolean);
  }

  /** Pushes HEAD to the job's branch, to the project's URL (not whatever `origin` says now). */
  async push(repoUrl: string, branch: string): Promise<void> {
    const r = await this.git(['push', '--no-verify', '--quiet', repoUrl, `HEAD:refs/heads/${branch}`], {
      allowFail: true,
      auth: true,
    });
    if (r.code !== 0) throw new StepError('push', `Could not push ${branch}: ${gitError(r)}`);
  }

  private async clone(repoUrl: string): Promise<void> {
    const tmp = join(this.o.root, `clone-${randomBytes(4).toString('hex')}`);
    try {
      const r = await this.git(['clone', '--quiet', '--', repoUrl, tmp], {
        allowFail: true,
        auth: true,
        cwd: this.o.root,
      });
      if (r.code !== 0) throw new StepError('clone', `Could not clone ${repoUrl}: ${gitError(r)}`);
      await rm(this.repoDir, { recursive: true, force: true });
      await rename(tmp, this.repoDir);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private async defaultHead(): Promise<string | undefined> {
    for (const ref of [
      'refs/remotes/origin/HEAD',
      'refs/remotes/origin/main',
      'refs/remotes/origin/master',
    ]) {
      const c = await this.commitOf(ref);
      if (c) return c;
    }
    const r = await this.git(['for-each-ref', '--count=1', '--format=%(objectname)', 'refs/remotes/origin'], {
      allowFail: true,
    });
    return r.out[0] || undefined;
  }

  private async commitOf(rev: string): Promise<string | undefined> {
    const r = await this.git(['rev-parse', '-q', '--verify', `${rev}^{commit}`], { allowFail: true });
    return r.code === 0 && r.out[0] ? r.out[0] : undefined;
  }

  private async restoreConfig(): Promise<void> {
    if (existsSync(this.snapshot) && existsSync(join(this.repoDir, '.git'))) {
      await copyFile(this.snapshot, join(this.repoDir, '.git', 'config'));
    }
  }

  /** Lock files a killed git left behind; nothing else runs git here while we hold the key. */
  private async removeStaleLocks(): Promise<void> {
    for (const f of ['index.lock', 'HEAD.lock', 'config.lock', 'shallow.lock']) {
      await rm(join(this.repoDir, '.git', f), { force: true });
    }
  }

  private async mustGit(step: string, args: string[], auth = false): Promise<{ out: string[] }> {
    const r = await this.git(args, { allowFail: true, auth });
    if (r.code !== 0) throw new StepError(step, `git ${args[0]} failed: ${gitError(r)}`);
    return r;
  }

  private async git(
    args: string[],
    opts: { allowFail?: boolean; auth?: boolean; cwd?: string } = {},
  ): Promise<RunResult & { out: string[] }> {
    const out: string[] = [];
    const r = await runCommand(['git', ...SAFETY, ...args], {
      cwd: opts.cwd ?? this.repoDir,
      env: await this.gitEnv(opts.auth === true),
      signal: this.o.signal,
      killGraceMs: this.o.killGraceMs,
      maxOutputBytes: 4 * 1024 * 1024,
      onLine: (line, stream) => {
        if (stream === 'stdout') out.push(line);
      },
      onSpawn: (pgid) => void this.track(pgid).catch(() => {}),
    });
    if (r.aborted || this.o.signal.aborted) throw new StepAborted();
    if (r.spawnError) throw new StepError('git', `git could not start: ${r.spawnError}`);
    return { ...r, out };
  }

  private async gitEnv(auth: boolean): Promise<NodeJS.ProcessEnv> {
    const { git } = this.o;
    const env: NodeJS.ProcessEnv = {
      ...this.o.baseEnv,
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_ALLOW_PROTOCOL: GIT_ALLOWED_PROTOCOLS,
      GIT_AUTHOR_NAME: git.authorName,
      GIT_AUTHOR_EMAIL: git.authorEmail,
      GIT_COMMITTER_NAME: git.authorName,
      GIT_COMMITTER_EMAIL: git.authorEmail,
      GIT_SSH_COMMAND: this.o.baseEnv.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
      LC_ALL: 'C',
    };
    if (auth && git.token) {
      if (!existsSync(this.askpass)) {
        await writeFile(
          this.askpass,
          '#!/bin/sh\ncase "$1" in\n  Username*) printf \'%s\\n\' "$SB_GIT_USERNAME" ;;\n  *) printf \'%s\\n\' "$SB_GIT_TOKEN" ;;\nesac\n',
          { mode: 0o700 },
        );
        await chmod(this.askpass, 0o700);
      }
      env.GIT_ASKPASS = this.askpass;
      env.SB_GIT_USERNAME = git.username;
      env.SB_GIT_TOKEN = git.token;
    }
    return env;
  }

  private async writeLock(pgid: number | null): Promise<void> {
    const info: LockInfo = { host: hostname(), workerPid: process.pid, pgid, jobId: this.jobId };
    await writeFile(this.lockFile, JSON.stringify(info));
  }
}

async function readLock(file: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

/** The useful part of git's complaint (its last lines). */
function gitError(r: RunResult): string {
  const lines = r.tail.filter((l) => l.trim() !== '');
  return lines.slice(-4).join(' / ') || (r.code === null ? `killed by ${r.signal}` : `exit code ${r.code}`);
}
