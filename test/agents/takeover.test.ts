import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config/config-schema.js';
import { availableBackends, PG_URL } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import {
  agentEnv,
  alive,
  finished,
  getJob,
  makeRemote,
  type Remote,
  ROOT,
  startJob,
  until,
} from './agent-helpers.js';

const JWT_SECRET = 'test-secret-test-secret-test-secret-0123';

/** The environment without any Switchboard setting of the machine running the tests. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const spec of Object.values(SETTINGS)) delete env[spec.env];
  delete env.SWITCHBOARD_CONFIG;
  delete env.NODE_OPTIONS;
  return env;
}

// One backend is enough here (it takes a few seconds): PostgreSQL when available, the scale-out case;
// the lease takeover itself is proven per backend by test/contracts/job-queue.contract.test.ts.
for (const backend of (await availableBackends()).slice(-1)) {
  describe(`agent jobs: a worker that dies (${backend})`, () => {
    let t: TestApp;
    let remote: Remote;
    let owner: TestUser;
    let child: ChildProcess | undefined;
    let childLog = '';

    beforeAll(async () => {
      remote = makeRemote();
      // This server runs no agent jobs itself until the test says so.
      t = await startTestApp(
        backend,
        agentEnv(remote, {
          AGENT_WORKER_CONCURRENCY: '0',
          JOB_LEASE_MS: '1000',
          AGENT_BUILD_COMMAND: 'node build.mjs',
        }),
      );
      owner = await t.newUser();
    });
    afterAll(async () => {
      child?.kill('SIGKILL');
      await t?.close();
      remote?.cleanup();
    });

    it('`switchboard worker` holds the job; killed, its job is taken over after the lease, the orphaned agent stopped', async () => {
      const room = await t.newRoom(owner);
      const database: Record<string, string> = { DATA_DIR: t.sb.config.dataDir };
      if (backend === 'postgres') {
        const { rows } = await sql<{ s: string }>`select current_schema() as s`.execute(t.sb.store.db);
        Object.assign(database, { DATABASE_URL: PG_URL, DATABASE_SCHEMA: rows[0]!.s });
      }
      child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'worker'], {
        cwd: ROOT,
        env: {
          ...cleanEnv(),
          ...agentEnv(remote, {
            AGENT_WORKER_CONCURRENCY: '1',
            JOB_LEASE_MS: '1000',
            AGENT_BUILD_COMMAND: 'node build.mjs',
          }),
          ...database,
          JWT_SECRET,
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (d) => (childLog += d));
      child.stderr!.on('data', (d) => (childLog += d));
      const exited = new Promise((resolve) => child!.once('exit', resolve));

      const pidfile = join(remote.dir, `agent-${backend}.pid`);
      const marker = join(remote.dir, `slept-${backend}`);
      const job = await startJob(t, owner, {
        roomId: room.roomId,
        projectId: `takeover-${backend}`,
        repoUrl: remote.url,
        // The first run sleeps (and is orphaned); the run that takes over finds the marker and goes on.
        instruction: `pidfile=${pidfile} sleep-once=60000:${marker} make the header navy`,
      });
      const agentPid = await until(
        'the child worker to start the agent',
        () => {
          try {
            return Number(readFileSync(pidfile, 'utf8')) || undefined;
          } catch {
            return undefined;
          }
        },
        30_000,
      ).catch((err) => {
        throw new Error(`${(err as Error).message}; worker output:\n${childLog}`);
      });
      expect(await getJob(t, owner, job.jobId)).toMatchObject({ state: 'running', attempt: 1 });

      // The worker dies without releasing anything.
      child.kill('SIGKILL');
      await exited;
      expect(alive(agentPid)).toBe(true);

      // Another worker (this server's) takes the key over once the lease has run out.
      t.sb.agents.worker.start();
      const done = await finished(t, owner, job.jobId);
      expect(done).toMatchObject({ state: 'succeeded', attempt: 2 });
      expect(done.result).toMatchObject({ success: true, summary: 'Made the header navy.' });
      // The dead worker's agent was stopped before the new run touched the workspace.
      expect(alive(agentPid)).toBe(false);
      // One result message for the job however many runs it took.
      const messages = (
        await t.api('GET', `/v1/chat/rooms/${room.roomId}/messages?limit=100`, { token: owner.token })
      ).body.data.messages.filter((m: any) => m.type === 'agent_result');
      expect(messages).toHaveLength(1);
    });
  });
}
