import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { expectError, history, send } from '../http/http-helpers.js';
import { closeAll, is, live, type WsClient } from '../realtime/ws-client.js';
import {
  agentEnv,
  alive,
  finished,
  makeRemote,
  messageById,
  type Remote,
  remoteGit,
  startJob,
  until,
} from './agent-helpers.js';

const backends = await availableBackends();
for (const backend of backends) {
  // Scenarios that do not depend on the store run against the first backend only.
  const once = backend === backends[0];
  describe(`agent jobs: bad input and failures (${backend})`, () => {
    let t: TestApp;
    let remote: Remote;
    let owner: TestUser;
    let room: { roomId: string };
    const clients: WsClient[] = [];
    const project = `fail-${backend}`;

    beforeAll(async () => {
      remote = makeRemote();
      t = await startTestApp(
        backend,
        agentEnv(remote, { AGENT_MAX_OUTPUT_BYTES: '4096', AGENT_BUILD_COMMAND: 'node build.mjs' }),
      );
      owner = await t.newUser();
      room = await t.newRoom(owner);
    });
    afterAll(async () => {
      await closeAll(clients);
      await t?.close();
      remote?.cleanup();
    });

    /** Runs one instruction on the project and returns the finished job. */
    const run = async (instruction: string, extra: Record<string, unknown> = {}) => {
      const job = await startJob(t, owner, {
        roomId: room.roomId,
        projectId: project,
        instruction,
        ...extra,
      });
      return finished(t, owner, job.jobId);
    };

    it('refuses bad input at the edge: unknown repositories, credentials in URLs, bad ids', async () => {
      const post = (body: Record<string, unknown>) =>
        t.api('POST', '/v1/agent/jobs', { token: owner.token, body: { roomId: room.roomId, ...body } });
      expectError(
        await post({ instruction: 'x', repoUrl: 'https://github.com/acme/site.git' }),
        400,
        'VALIDATION_FAILED',
      );
      expectError(await post({ instruction: 'x', repoUrl: '/etc' }), 400, 'VALIDATION_FAILED');
      expectError(
        await post({ instruction: 'x', repoUrl: 'ext::sh -c touch% /tmp/pwned' }),
        400,
        'VALIDATION_FAILED',
      );
      expectError(
        await post({ instruction: 'x', repoUrl: `file://user:secret@localhost${remote.bare}` }),
        400,
        'VALIDATION_FAILED',
      );
      expectError(await post({ instruction: 'x', projectId: '../etc' }), 400, 'VALIDATION_FAILED');
      expectError(await post({ instruction: '' }), 400, 'VALIDATION_FAILED');
      expectError(
        await post({ instruction: 'x', threadId: 'msg_0000000000000000000000' }),
        404,
        'MESSAGE_NOT_FOUND',
      );
      // A project nobody gave a repository yet.
      expectError(await post({ instruction: 'x', projectId: 'no-repo-yet' }), 400, 'VALIDATION_FAILED');
      // The same through `/agent`: a readable refusal in the thread.
      const m = await send(t, owner, room.roomId, '/agent --project=also-no-repo do something');
      const notice = await until('the refusal', async () =>
        (await history(t, owner, room.roomId)).find((x) => x.replyTo === m.messageId),
      );
      expect(notice.type).toBe('system');
      expect(notice.content).toContain('No repository is known for project also-no-repo');
      const usage = await send(t, owner, room.roomId, '/agent');
      const help = await until('usage', async () =>
        (await history(t, owner, room.roomId)).find((x) => x.replyTo === usage.messageId),
      );
      expect(help.content).toContain('Usage: /agent');
    });

    it('a clone failure, an agent exiting 1, a failed build: each a clear failed result; the key still works', async () => {
      const clone = await run('nochange', { repoUrl: `file://${remote.dir}/missing.git` });
      expect(clone.state).toBe('failed');
      expect(clone.result).toMatchObject({
        success: false,
        error: expect.stringContaining('Could not clone'),
      });
      const msg = await messageById(t, owner, room.roomId, clone.resultMessageId);
      expect(msg.content).toMatch(/^Failed: Could not clone/);
      expect(msg.metadata.agentResult.error).toContain('missing.git');

      const failing = await run('fail', { repoUrl: remote.url });
      expect(failing.result).toMatchObject({
        success: false,
        error: expect.stringContaining('The agent exited with code 1: fake agent: failing as asked'),
      });
      expect(failing.result.commitId).toBeUndefined();

      const broken = await run('break-build');
      expect(broken.result).toMatchObject({
        success: false,
        error: expect.stringContaining('The build failed'),
      });
      expect(broken.result.error).toContain('src/BROKEN is not allowed');
      // Nothing of a failed run reached the remote.
      expect(() => remoteGit(remote, 'rev-parse', '--verify', `refs/heads/${broken.branch}`)).toThrow();

      // The next job on the same key starts from a clean checkout and succeeds.
      const ok = await run('make the header green');
      expect(ok.result).toMatchObject({ success: true, filesChanged: ['src/style.css'] });
      expect(remoteGit(remote, 'show', `${ok.branch}:src/style.css`)).toContain('color: green');
      expect(() => remoteGit(remote, 'show', `${ok.branch}:src/BROKEN`)).toThrow();
      const site = await fetch(`${t.baseUrl}/sites/${project}/style.css`);
      expect(await site.text()).toContain('color: green');
    });

    it.runIf(once)(
      'output past AGENT_MAX_OUTPUT_BYTES is dropped from progress; the job still completes',
      async () => {
        const ws = await live(t, owner);
        clients.push(ws);
        const job = await run('flood=200000 nochange');
        expect(job.result).toMatchObject({ success: true, outputTruncated: true });
        const frames = ws.all((f) => f.type === 'agent_progress' && f.jobId === job.jobId);
        const text = frames.map((f) => f.text ?? '').join('');
        expect(text.length).toBeLessThan(20_000);
      },
    );

    it.runIf(once)(
      'a job that takes longer than AGENT_JOB_TIMEOUT fails with a clear error and its agent is stopped',
      async () => {
        const other = makeRemote();
        const t2 = await startTestApp(
          backend,
          agentEnv(other, { AGENT_JOB_TIMEOUT: '3000', AGENT_BUILD_COMMAND: 'node build.mjs' }),
        );
        try {
          const u = await t2.newUser();
          const r = await t2.newRoom(u);
          const pidfile = join(other.dir, 'slow.pid');
          const job = await startJob(t2, u, {
            roomId: r.roomId,
            projectId: 'slow',
            repoUrl: other.url,
            instruction: `pidfile=${pidfile} sleep=60000`,
          });
          const done = await finished(t2, u, job.jobId);
          expect(done.state).toBe('failed');
          expect(done.result.error).toContain('AGENT_JOB_TIMEOUT');
          expect(existsSync(pidfile)).toBe(true);
          const { readFileSync } = await import('node:fs');
          const pid = Number(readFileSync(pidfile, 'utf8'));
          await until('the agent to be gone', () => !alive(pid));
          // The key is free again.
          const next = await startJob(t2, u, {
            roomId: r.roomId,
            projectId: 'slow',
            instruction: 'nochange',
          });
          expect((await finished(t2, u, next.jobId)).result.success).toBe(true);
        } finally {
          await t2.close();
          other.cleanup();
        }
      },
    );

    it.runIf(once)('with the agent off, triggers are refused with AGENT_DISABLED', async () => {
      const t3 = await startTestApp(backend, {});
      try {
        const u = await t3.newUser();
        const r = await t3.newRoom(u);
        expectError(
          await t3.api('POST', '/v1/agent/jobs', {
            token: u.token,
            body: { roomId: r.roomId, instruction: 'x' },
          }),
          503,
          'AGENT_DISABLED',
        );
        const ws = await live(t3, u);
        clients.push(ws);
        const err = await ws.request({ type: 'report_request', roomId: r.roomId, instruction: 'x' });
        expect(err).toMatchObject({ type: 'error', code: 'AGENT_DISABLED' });
        const m = await send(t3, u, r.roomId, '/agent make it so');
        const notice = await until('the notice', async () =>
          (await history(t3, u, r.roomId)).find((x) => x.replyTo === m.messageId),
        );
        expect(notice.content).toContain('not enabled');
        expect(ws.all(is('agent_progress'))).toEqual([]);
      } finally {
        await t3.close();
      }
    });
  });
}
