import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableBackends } from '../helpers/backends.js';
import { startTestApp, type TestApp, type TestUser } from '../helpers/test-app.js';
import { join as joinRoom, send, setRole } from '../http/http-helpers.js';
import { closeAll, live, type WsClient } from '../realtime/ws-client.js';
import {
  agentEnv,
  alive,
  finished,
  getJob,
  makeRemote,
  messageById,
  type Remote,
  startJob,
  until,
} from './agent-helpers.js';

const backends = await availableBackends();
for (const backend of backends) {
  // Process handling does not depend on the store: those scenarios run against the first backend only.
  const once = backend === backends[0];
  describe(`agent jobs: interruption and cancel (${backend})`, () => {
    let t: TestApp;
    let remote: Remote;
    let owner: TestUser;
    let room: { roomId: string };
    const clients: WsClient[] = [];

    beforeAll(async () => {
      remote = makeRemote();
      t = await startTestApp(
        backend,
        agentEnv(remote, { AGENT_KILL_GRACE_MS: '300', AGENT_BUILD_COMMAND: 'node build.mjs' }),
      );
      owner = await t.newUser();
      room = await t.newRoom(owner);
    });
    afterAll(async () => {
      await closeAll(clients);
      await t?.close();
      remote?.cleanup();
    });

    const pidOf = async (file: string) =>
      until(`pid in ${file}`, () => {
        try {
          return Number(readFileSync(file, 'utf8')) || undefined;
        } catch {
          return undefined;
        }
      });

    it('a newer instruction in the same thread stops the running agent, which answers interrupted; the new one runs', async () => {
      const ws = await live(t, owner);
      clients.push(ws);
      const pidfile = join(remote.dir, `first-${backend}.pid`);
      const root = await send(
        t,
        owner,
        room.roomId,
        `/agent --project=int-${backend} --repo=${remote.url} pidfile=${pidfile} child sleep=60000`,
      );
      const pid = await pidOf(pidfile);
      const child = await pidOf(`${pidfile}.child`);
      expect(alive(pid)).toBe(true);

      const newer = await send(t, owner, room.roomId, '/agent make the header purple', {
        replyTo: root.messageId,
      });
      const results = await ws.waitForCount(
        (f) =>
          f.type === 'new_message' &&
          f.message.type === 'agent_result' &&
          f.message.replyTo === root.messageId,
        2,
        30_000,
      );
      const [first, second] = results.map((f) => f.message);
      expect(first.metadata.agentResult).toMatchObject({
        success: false,
        interrupted: true,
        commandId: root.messageId,
      });
      expect(first.content).toContain('Interrupted');
      expect(second.metadata.agentResult).toMatchObject({
        success: true,
        commandId: newer.messageId,
        summary: 'Made the header purple.',
        branch: `thread-${root.messageId}`,
      });
      // The agent and what it started are gone.
      expect(alive(pid)).toBe(false);
      expect(alive(child)).toBe(false);
      const firstJob = await getJob(t, owner, first.metadata.agentResult.jobId);
      expect(firstJob).toMatchObject({ state: 'interrupted' });
    });

    it.runIf(once)('an agent that ignores SIGTERM is killed after the grace period', async () => {
      const pidfile = join(remote.dir, `stubborn-${backend}.pid`);
      const job = await startJob(t, owner, {
        roomId: room.roomId,
        projectId: `int-${backend}`,
        instruction: `pidfile=${pidfile} ignore-term sleep=60000`,
      });
      const pid = await pidOf(pidfile);
      const newer = await startJob(t, owner, {
        roomId: room.roomId,
        projectId: `int-${backend}`,
        threadId: job.threadId,
        instruction: 'nochange',
      });
      const stopped = await finished(t, owner, job.jobId);
      expect(stopped.state).toBe('interrupted');
      expect(alive(pid)).toBe(false);
      expect((await finished(t, owner, newer.jobId)).state).toBe('succeeded');
    });

    it('queued jobs of the thread are interrupted too, without running', async () => {
      const pidfile = join(remote.dir, `queued-${backend}.pid`);
      const running = await startJob(t, owner, {
        roomId: room.roomId,
        projectId: `int-${backend}`,
        instruction: `pidfile=${pidfile} sleep=60000`,
      });
      await pidOf(pidfile);
      const queued = await startJob(t, owner, {
        roomId: room.roomId,
        projectId: `int-${backend}`,
        threadId: running.threadId,
        instruction: 'make the header orange',
      });
      const latest = await startJob(t, owner, {
        roomId: room.roomId,
        projectId: `int-${backend}`,
        threadId: running.threadId,
        instruction: 'make the header teal',
      });
      const [a, b, c] = [
        await finished(t, owner, running.jobId),
        await finished(t, owner, queued.jobId),
        await finished(t, owner, latest.jobId),
      ];
      expect([a.state, b.state, c.state]).toEqual(['interrupted', 'interrupted', 'succeeded']);
      expect(b.startedAt).toBeNull();
      expect(c.result.summary).toBe('Made the header teal.');
    });

    it.runIf(once)('the requester or a moderator cancels a job; it answers interrupted', async () => {
      const pidfile = join(remote.dir, `cancel-${backend}.pid`);
      const job = await startJob(t, owner, {
        roomId: room.roomId,
        projectId: `int-${backend}`,
        instruction: `pidfile=${pidfile} sleep=60000`,
      });
      const pid = await pidOf(pidfile);
      const mod = await t.newUser();
      await joinRoom(t, mod, room.roomId);
      await setRole(t, owner, room.roomId, mod, 'moderator');
      const r = await t.api('POST', `/v1/agent/jobs/${job.jobId}/cancel`, { token: mod.token });
      expect(r.status).toBe(200);
      const done = await finished(t, owner, job.jobId);
      expect(done.state).toBe('cancelled');
      expect(done.result).toMatchObject({ success: false, interrupted: true, error: 'cancelled' });
      expect(alive(pid)).toBe(false);
      const msg = await messageById(t, owner, room.roomId, done.resultMessageId);
      expect(msg.content).toMatch(/^Cancelled/);
      // Cancelling a finished job changes nothing.
      const again = await t.api('POST', `/v1/agent/jobs/${job.jobId}/cancel`, { token: owner.token });
      expect(again.body.data.state).toBe('cancelled');
    });
  });
}
