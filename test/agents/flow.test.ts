import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { expectError, join as joinRoom, send } from '../http/http-helpers.js';
import { closeAll, is, live, type WsClient } from '../realtime/ws-client.js';
import {
  agentEnv,
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
  describe(`agent jobs: the happy path (${backend})`, () => {
    let t: TestApp;
    let remote: Remote;
    let owner: TestUser;
    let room: { roomId: string };
    const clients: WsClient[] = [];

    beforeAll(async () => {
      remote = makeRemote();
      // The package.json build through npm once; `node build.mjs` (the same script) elsewhere, faster.
      t = await startTestApp(
        backend,
        agentEnv(remote, { AGENT_BUILD_COMMAND: once ? 'npm run build --silent' : 'node build.mjs' }),
      );
      owner = await t.newUser();
      room = await t.newRoom(owner);
    });
    afterAll(async () => {
      await closeAll(clients);
      await t?.close();
      remote?.cleanup();
    });

    it('`/agent <instruction>`: progress streams, the site is built, published, committed, pushed and reported in the thread', async () => {
      const ws = await live(t, owner);
      clients.push(ws);
      const project = `site-${backend}`;
      const msg = await send(
        t,
        owner,
        room.roomId,
        `/agent --project=${project} --repo=${remote.url} make the header blue`,
      );

      const result = await ws.waitFor(
        (f) =>
          f.type === 'new_message' &&
          f.message.type === 'agent_result' &&
          f.message.replyTo === msg.messageId,
        30_000,
      );
      const r = result.message.metadata.agentResult;
      expect(r).toMatchObject({
        success: true,
        kind: 'site',
        summary: 'Made the header blue.',
        branch: `thread-${msg.messageId}`,
        commandId: msg.messageId,
        siteUrl: `/sites/${project}/`,
        filesChanged: ['src/style.css'],
      });
      expect(r.commitId).toMatch(/^[0-9a-f]{40}$/);
      expect(r.deploymentTime).toEqual(expect.any(Number));
      expect(result.message.content).toContain('Done: Made the header blue.');
      expect(result.message.authorName).toBe('Agent');

      // Progress came as ephemeral frames, step by step, with the agent's own lines.
      const steps = ws.all(is('agent_progress')).map((f) => f.step);
      for (const step of [
        'queued',
        'started',
        'workspace',
        'agent',
        'build',
        'publish',
        'commit',
        'push',
        'finished',
      ]) {
        expect(steps).toContain(step);
      }
      expect(ws.all(is('agent_progress')).some((f) => f.text?.includes('Edit: src/style.css'))).toBe(true);
      expect(
        ws.all(is('agent_progress')).every((f) => f.jobId === r.jobId && f.threadId === msg.messageId),
      ).toBe(true);

      // The commit is on the remote's thread branch, with the context in its message.
      const branch = `refs/heads/thread-${msg.messageId}`;
      expect(remoteGit(remote, 'rev-parse', branch)).toBe(r.commitId);
      const log = remoteGit(remote, 'log', '-1', '--format=%an%n%B', branch);
      expect(log).toContain('Switchboard Agent');
      expect(log).toContain('make the header blue');
      expect(log).toContain(`Switchboard-Thread: ${msg.messageId}`);
      expect(log).toContain(`Switchboard-User: ${owner.username} (${owner.userId})`);
      expect(remoteGit(remote, 'show', `${branch}:src/style.css`)).toContain('header { color: blue; }');
      // The remote URL kept in the workspace is the plain one.
      expect(remoteGit(remote, 'rev-parse', 'main')).not.toBe(r.commitId);

      // The built site is served, sandboxed.
      const index = await fetch(`${t.baseUrl}/sites/${project}/`);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(index.headers.get('content-security-policy')).toContain('sandbox');
      expect(index.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await index.text()).toContain('<!-- built by build.mjs -->');
      const css = await fetch(`${t.baseUrl}/sites/${project}/style.css`);
      expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
      expect(await css.text()).toContain('header { color: blue; }');
      const bare = await fetch(`${t.baseUrl}/sites/${project}`, { redirect: 'manual' });
      expect(bare.status).toBe(301);
      expect(bare.headers.get('location')).toBe(`/sites/${project}/`);
      const dir = await fetch(`${t.baseUrl}/sites/${project}/docs`, { redirect: 'manual' });
      expect(dir.status).toBe(301);
      expect((await fetch(`${t.baseUrl}/sites/${project}/docs/`)).status).toBe(200);
      expect((await fetch(`${t.baseUrl}/sites/${project}/nope.html`)).status).toBe(404);
      expect((await fetch(`${t.baseUrl}/sites/${project}/..%2f..%2fetc%2fpasswd`)).status).toBe(404);
      expect((await fetch(`${t.baseUrl}/sites/no-such-site/`)).status).toBe(404);

      // The job record agrees.
      const job = await finished(t, owner, r.jobId);
      expect(job).toMatchObject({
        state: 'succeeded',
        projectId: project,
        attempt: 1,
        resultMessageId: result.message.messageId,
      });
    });

    it.runIf(once)(
      'a follow-up in the same thread builds on the thread branch; a new thread starts from main',
      async () => {
        const project = `site-${backend}`;
        const root = await send(t, owner, room.roomId, `/agent --project=${project} make the header red`);
        const first = await until('first job', async () =>
          (await jobsOf(t, owner, room.roomId)).find((j: any) => j.commandId === root.messageId),
        );
        const done1 = await finished(t, owner, first.jobId);
        expect(done1.result.success).toBe(true);
        // A reply in the thread: same branch, on top of the first commit.
        const reply = await send(t, owner, room.roomId, '/agent nochange', { replyTo: root.messageId });
        const second = await until('second job', async () =>
          (await jobsOf(t, owner, room.roomId)).find((j: any) => j.commandId === reply.messageId),
        );
        expect(second.threadId).toBe(root.messageId);
        expect(second.projectId).toBe(project);
        const done2 = await finished(t, owner, second.jobId);
        expect(done2.result).toMatchObject({
          success: true,
          filesChanged: [],
          branch: `thread-${root.messageId}`,
        });
        expect(done2.result.commitId).toBeUndefined();
        const resultMsg = await messageById(t, owner, room.roomId, done2.resultMessageId);
        expect(resultMsg.replyTo).toBe(root.messageId);
        expect(remoteGit(remote, 'show', `thread-${root.messageId}:src/style.css`)).toContain('color: red');
      },
    );

    it('a report_request frame runs a report job whose file is attached to the result', async () => {
      const ws = await live(t, owner);
      clients.push(ws);
      const ack = await ws.ok({
        type: 'report_request',
        roomId: room.roomId,
        instruction: 'monthly sales report',
        projectId: `reports-${backend}`,
        repoUrl: remote.url,
        commandId: 'cmd-report-1',
      });
      expect(ack).toMatchObject({ roomId: room.roomId, state: 'queued', duplicate: false });
      expect(ack.branch).toBe(`thread-${ack.threadId}`);
      const job = await finished(t, owner, ack.jobId);
      expect(job.result).toMatchObject({ success: true, kind: 'report', commandId: 'cmd-report-1' });
      expect(job.result.attachmentIds).toHaveLength(1);
      const message = await messageById(t, owner, room.roomId, job.resultMessageId);
      expect(message.type).toBe('agent_result');
      expect(message.replyTo).toBe(ack.threadId);
      expect(message.attachments).toHaveLength(1);
      expect(message.attachments[0]).toMatchObject({
        id: job.result.attachmentIds[0],
        fileName: `report-${ack.jobId}.md`,
        mimeType: 'text/markdown',
      });
      // The thread root is the bot's note of the request.
      const root = await messageById(t, owner, room.roomId, ack.threadId);
      expect(root.content).toContain('monthly sales report');
      // Members can download the report.
      const dl = await fetch(`${t.baseUrl}/v1/attachments/${message.attachments[0].id}`, {
        headers: { authorization: `Bearer ${owner.token}` },
      });
      expect(await dl.text()).toContain('Total: 42');
      // The report is committed on the thread branch.
      expect(remoteGit(remote, 'show', `thread-${ack.threadId}:reports/report-${ack.jobId}.md`)).toContain(
        'Total: 42',
      );

      // report_modification works in that thread; a repeated commandId is the same job.
      const again = await ws.ok({
        type: 'report_request',
        roomId: room.roomId,
        instruction: 'monthly sales report',
        commandId: 'cmd-report-1',
      });
      expect(again).toMatchObject({ jobId: ack.jobId, duplicate: true });
      const mod = await ws.ok({
        type: 'report_modification',
        roomId: room.roomId,
        threadId: ack.threadId,
        instruction: 'add the totals per region',
      });
      expect(mod.threadId).toBe(ack.threadId);
      const modJob = await finished(t, owner, mod.jobId);
      expect(modJob.result.success).toBe(true);
      expect(modJob.projectId).toBe(`reports-${backend}`);
      const bad = await ws.request({ type: 'report_modification', roomId: room.roomId, instruction: 'x' });
      expect(bad).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
    });

    it('jobs of one project+user key run one at a time in order; other keys run beside them', async () => {
      const trace = `${remote.dir}/order.txt`;
      const other = await t.newUser();
      await joinRoom(t, other, room.roomId);
      const project = `site-${backend}`;
      // Two threads, one key: the second waits for the first.
      const a = await startJob(t, owner, {
        roomId: room.roomId,
        projectId: project,
        instruction: `trace=${trace}:one sleep=300 nochange`,
      });
      const b = await startJob(t, owner, {
        roomId: room.roomId,
        projectId: project,
        instruction: `trace=${trace}:two nochange`,
      });
      // Another user's key runs while the first key is busy: it waits for a file the third job creates.
      const flag = `${remote.dir}/flag-${backend}`;
      const c = await startJob(t, owner, {
        roomId: room.roomId,
        projectId: project,
        instruction: `trace=${trace}:three nochange`,
      });
      const d = await startJob(t, other, {
        roomId: room.roomId,
        projectId: project,
        instruction: `waitfile=${flag} nochange`,
      });
      const e = await startJob(t, other, {
        roomId: room.roomId,
        projectId: project,
        instruction: 'nochange',
      });
      const [ja, jb, jc] = [
        await finished(t, owner, a.jobId),
        await finished(t, owner, b.jobId),
        await finished(t, owner, c.jobId),
      ];
      expect([ja, jb, jc].map((j) => j.result.success)).toEqual([true, true, true]);
      const { readFileSync } = await import('node:fs');
      expect(readFileSync(trace, 'utf8').trim().split('\n')).toEqual([
        'start one',
        'end one',
        'start two',
        'end two',
        'start three',
        'end three',
      ]);
      // d cannot finish before the flag exists; create it now: it then completes, then e.
      const { writeFileSync } = await import('node:fs');
      writeFileSync(flag, 'x');
      const jd = await finished(t, other, d.jobId);
      const je = await finished(t, other, e.jobId);
      expect([jd.result.success, je.result.success]).toEqual([true, true]);
      expect(Date.parse(je.startedAt)).toBeGreaterThanOrEqual(Date.parse(jd.finishedAt));
    });

    it('concurrency across keys: a job waiting on another key’s job completes while both run', async () => {
      const flag = `${remote.dir}/concurrent-${backend}`;
      const other = await t.newUser();
      await joinRoom(t, other, room.roomId);
      const project = `site-${backend}`;
      const waiter = await startJob(t, owner, {
        roomId: room.roomId,
        projectId: project,
        instruction: `waitfile=${flag} nochange`,
      });
      const toucher = await startJob(t, other, {
        roomId: room.roomId,
        projectId: project,
        instruction: `touch=${flag} nochange`,
      });
      const [w, to] = [await finished(t, owner, waiter.jobId), await finished(t, other, toucher.jobId)];
      expect(w.result.success).toBe(true);
      expect(to.result.success).toBe(true);
    });

    it.runIf(once)(
      'only members start, read, list or cancel jobs; projects belong to their room',
      async () => {
        const stranger = await t.newUser();
        const job = await startJob(t, owner, {
          roomId: room.roomId,
          instruction: 'nochange',
          projectId: `site-${backend}`,
        });
        expectError(
          await t.api('POST', '/v1/agent/jobs', {
            token: stranger.token,
            body: { roomId: room.roomId, instruction: 'x' },
          }),
          403,
          'NOT_A_MEMBER',
        );
        expectError(
          await t.api('GET', `/v1/agent/jobs/${job.jobId}`, { token: stranger.token }),
          404,
          'AGENT_JOB_NOT_FOUND',
        );
        expectError(
          await t.api('GET', `/v1/agent/jobs?roomId=${room.roomId}`, { token: stranger.token }),
          403,
          'NOT_A_MEMBER',
        );
        expectError(
          await t.api('POST', `/v1/agent/jobs/${job.jobId}/cancel`, { token: stranger.token }),
          404,
          'AGENT_JOB_NOT_FOUND',
        );
        expectError(await t.api('GET', `/v1/agent/jobs/${job.jobId}`), 401, 'UNAUTHENTICATED');
        // A private room's outsiders do not even learn it exists.
        const priv = await t.newRoom(owner, { type: 'private' });
        expectError(
          await t.api('POST', '/v1/agent/jobs', {
            token: stranger.token,
            body: { roomId: priv.roomId, instruction: 'x' },
          }),
          404,
          'ROOM_NOT_FOUND',
        );
        // Another room cannot use this room's project (and its repository and site).
        const theirs = await t.newRoom(stranger);
        expectError(
          await t.api('POST', '/v1/agent/jobs', {
            token: stranger.token,
            body: { roomId: theirs.roomId, instruction: 'x', projectId: `site-${backend}` },
          }),
          403,
          'FORBIDDEN',
        );
        // A plain member may not cancel someone else's job.
        const member = await t.newUser();
        await joinRoom(t, member, room.roomId);
        expectError(
          await t.api('POST', `/v1/agent/jobs/${job.jobId}/cancel`, { token: member.token }),
          403,
          'FORBIDDEN',
        );
        await finished(t, owner, job.jobId);
      },
    );
  });
}

async function jobsOf(t: TestApp, user: TestUser, roomId: string): Promise<any[]> {
  const r = await t.api('GET', `/v1/agent/jobs?roomId=${roomId}`, { token: user.token });
  return r.body.data.jobs;
}
