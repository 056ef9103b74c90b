import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { TestApp, TestUser } from '../helpers/test-app.js';

/** Shared set-up for the agent suites: a local bare repository as the remote, the stand-in agent, waits. */

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const FAKE_AGENT = join(FIXTURES, 'fake-agent.mjs');
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Remote {
  /** Temp directory holding the remote, the workspaces and scratch files. */
  dir: string;
  /** The bare repository. */
  bare: string;
  url: string;
  /** AGENT_REPO_ALLOWLIST entry that admits repositories in `dir`. */
  allow: string;
  cleanup(): void;
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Fixture',
  GIT_AUTHOR_EMAIL: 'fixture@example.invalid',
  GIT_COMMITTER_NAME: 'Fixture',
  GIT_COMMITTER_EMAIL: 'fixture@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

/** `git --git-dir=<bare> ...` on the remote. */
export function remoteGit(r: Remote, ...args: string[]): string {
  return git(r.dir, `--git-dir=${r.bare}`, ...args);
}

/** A bare repository seeded with the fixture site (package.json with a real build step) on `main`. */
export function makeRemote(): Remote {
  const dir = mkdtempSync(join(tmpdir(), 'sb-agent-'));
  const seed = join(dir, 'seed');
  cpSync(join(FIXTURES, 'site'), seed, { recursive: true });
  renameSync(join(seed, 'gitignore.txt'), join(seed, '.gitignore'));
  git(seed, 'init', '-q', '-b', 'main');
  git(seed, 'add', '-A');
  git(seed, 'commit', '-q', '-m', 'Fixture site');
  const bare = join(dir, 'remote.git');
  git(dir, 'init', '-q', '--bare', '-b', 'main', bare);
  git(seed, 'push', '-q', bare, 'main');
  return {
    dir,
    bare,
    url: `file://${bare}`,
    allow: `file://${dir}/`,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Server settings that run the stand-in agent against repositories of `remote`. */
export function agentEnv(remote: Remote, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AGENT_ENABLED: 'true',
    AGENT_COMMAND: `"${process.execPath}" "${FAKE_AGENT}" -p {instruction}`,
    AGENT_BUILD_COMMAND: 'npm run build --silent',
    AGENT_REPO_ALLOWLIST: remote.allow,
    AGENT_WORKSPACE_DIR: join(remote.dir, 'workspaces'),
    AGENT_PROGRESS_INTERVAL_MS: '50',
    AGENT_KILL_GRACE_MS: '500',
    AGENT_WORKER_CONCURRENCY: '2',
    ...extra,
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const FINAL = ['succeeded', 'failed', 'interrupted', 'cancelled'];

export async function getJob(t: TestApp, user: TestUser, jobId: string): Promise<any> {
  const r = await t.api('GET', `/v1/agent/jobs/${jobId}`, { token: user.token });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.data;
}

/** Waits until the job is finished and its result message is posted; returns the job. */
export async function finished(t: TestApp, user: TestUser, jobId: string, ms = 30_000): Promise<any> {
  return until(
    `job ${jobId} to finish`,
    async () => {
      const job = await getJob(t, user, jobId);
      return FINAL.includes(job.state) && job.resultMessageId ? job : undefined;
    },
    ms,
  );
}

export async function startJob(t: TestApp, user: TestUser, body: Record<string, unknown>): Promise<any> {
  const r = await t.api('POST', '/v1/agent/jobs', { token: user.token, body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.data.job;
}

/** The room's message with this id, as `user` reads it. */
export async function messageById(
  t: TestApp,
  user: TestUser,
  roomId: string,
  messageId: string,
): Promise<any> {
  const r = await t.api('GET', `/v1/chat/rooms/${roomId}/messages/${messageId}`, { token: user.token });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.data;
}

/** True while the process runs (zombies count as gone). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' });
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
