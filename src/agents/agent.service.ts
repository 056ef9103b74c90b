import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';
import type { Bus } from '../bus/bus.js';
import { type AppError, Errors, isAppError } from '../errors/errors.js';
import type { MessageView } from '../messages/message-model.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { JobQueue } from '../queue/job-queue.js';
import { loadRoom, requireMember } from '../rooms/room-access.js';
import { atLeast } from '../rooms/room-model.js';
import { newId } from '../shared/ids.js';
import type { Store } from '../store/store.js';
import { parseAgentCommand } from './agent-commands.js';
import type { AgentJobsRepository } from './agent-jobs.repository.js';
import {
  AGENT_QUEUE,
  type AgentJobKind,
  type AgentJobRow,
  type AgentJobView,
  branchFor,
  MAX_INSTRUCTION_LENGTH,
  ownershipKey,
  PROJECT_ID_RE,
  type StopReason,
  toJobView,
} from './agent-model.js';
import { AgentProgress } from './agent-progress.js';
import {
  type AgentBot,
  type AgentResults,
  fullResult,
  stoppedResult,
  stoppedState,
} from './agent-results.js';
import { AGENT_JOB_ATTEMPTS, type AgentSettings } from './agent-settings.js';
import type { AgentJobData } from './agent-worker.js';
import { checkRepoUrl } from './repo-url.js';

/** A request for a job, from REST, a frame or a chat command (seed 001's InputMessage, minus userId). */
export interface CreateJobInput {
  roomId: string;
  instruction: string;
  /** @default 'site' */
  kind?: AgentJobKind;
  /** Default: the project of the room's latest job, else one named after the room. */
  projectId?: string;
  /** Needed the first time for a project; later jobs reuse the project's repository. */
  repoUrl?: string;
  /** A message of the room; its thread root becomes the job's thread. Default: a new thread. */
  threadId?: string;
  /** @default the thread id */
  sessionId?: string;
  /** Idempotency key per user: repeating it returns the first job. @default a new id */
  commandId?: string;
  /** Start a new thread branch from this commit instead of the default branch. */
  previousCommit?: string;
}

export interface AgentServiceDeps {
  store: Store;
  repo: AgentJobsRepository;
  queue: JobQueue;
  bus: Bus;
  messages: MessagesService;
  results: AgentResults;
  bot: () => Promise<AgentBot>;
  settings: AgentSettings;
  logger: Logger;
  now?: () => number;
}

const ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Agent jobs from the conversation: checks who may ask (members of the room that owns the project),
 * records the job, queues it under its project+user key, and stops older unfinished jobs of the same
 * thread (a newer instruction replaces them). Also reads and cancels jobs, and turns `/agent` and
 * `/report` chat commands into jobs.
 */
export class AgentService {
  private readonly now: () => number;

  constructor(private readonly d: AgentServiceDeps) {
    this.now = d.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.d.settings.enabled;
  }

  async create(p: Principal, input: CreateJobInput): Promise<{ job: AgentJobView; duplicate: boolean }> {
    if (!this.enabled) throw Errors.agentDisabled();
    const now = this.now();
    const access = await loadRoom(this.d.store.repos, p, input.roomId, now);
    const member = requireMember(access);
    if (member.muted_until !== null && member.muted_until > now) throw Errors.muted();
    if (access.room.type === 'announcement' && !atLeast(member.role, 'admin')) throw Errors.readOnlyRoom();

    const instruction = input.instruction.trim();
    if (
      instruction.length === 0 ||
      instruction.length > MAX_INSTRUCTION_LENGTH ||
      instruction.includes('\0')
    ) {
      throw Errors.validation(`instruction must be 1-${MAX_INSTRUCTION_LENGTH} characters`);
    }
    for (const [name, v] of [
      ['commandId', input.commandId],
      ['sessionId', input.sessionId],
    ] as const) {
      if (v !== undefined && !ID_RE.test(v))
        throw Errors.validation(`${name} must be 1-64 of A-Z a-z 0-9 _ . : -`);
    }
    if (input.commandId) {
      const existing = await this.d.repo.findByCommand(p.userId, input.commandId);
      if (existing) return { job: toJobView(existing), duplicate: true };
    }
    if (input.previousCommit !== undefined && !/^[0-9a-f]{7,64}$/i.test(input.previousCommit)) {
      throw Errors.validation('previousCommit must be a commit SHA (7-64 hex digits)');
    }
    const repoUrl =
      input.repoUrl === undefined ? undefined : checkRepoUrl(input.repoUrl, this.d.settings.repoAllowlist);
    const existingThread = input.threadId ? await this.threadRoot(input.roomId, input.threadId) : undefined;
    const projectId = await this.projectFor(p, input.roomId, input.projectId, repoUrl);
    const threadId = existingThread ?? (await this.newThread(p, input.roomId, instruction, input.commandId));

    const counts = await this.d.queue.counts(AGENT_QUEUE);
    if (counts.waiting >= this.d.settings.queueMax) throw Errors.agentBusy();

    const id = newId('agj');
    const row: AgentJobRow = {
      id,
      room_id: input.roomId,
      thread_id: threadId,
      project_id: projectId,
      user_id: p.userId,
      session_id: input.sessionId ?? threadId,
      command_id: input.commandId ?? id,
      kind: input.kind ?? 'site',
      instruction,
      repo_url: repoUrl ?? null,
      previous_commit: input.previousCommit ?? null,
      branch: branchFor(threadId),
      state: 'queued',
      stop_reason: null,
      stopped_by: null,
      attempt: 0,
      result: null,
      result_message_id: null,
      created_at: now,
      started_at: null,
      finished_at: null,
      updated_at: now,
    };
    try {
      await this.d.repo.insertJob(row);
    } catch (err) {
      // The same commandId sent twice at once: the second finds the first.
      const existing = input.commandId && (await this.d.repo.findByCommand(p.userId, input.commandId));
      if (existing) return { job: toJobView(existing), duplicate: true };
      throw err;
    }
    try {
      await this.d.queue.add<AgentJobData>(
        AGENT_QUEUE,
        row.kind,
        { jobId: id },
        { jobId: id, key: ownershipKey(projectId, p.userId), attempts: AGENT_JOB_ATTEMPTS, backoffMs: 5000 },
      );
    } catch (err) {
      const error = 'The job could not be queued';
      await this.d.results
        .finish(row, 'failed', fullResult(row, { success: false, summary: error, error, branch: row.branch }))
        .catch(() => {});
      this.d.logger.error({ err, jobId: id }, 'queueing an agent job failed');
      throw Errors.unavailable(error);
    }
    await this.interruptThread(row);
    new AgentProgress(
      this.d.bus,
      { roomId: row.room_id, jobId: id, threadId, projectId },
      this.d.settings.progressIntervalMs,
      this.now,
    ).enter('queued', instruction.length > 200 ? `${instruction.slice(0, 200)}...` : instruction);
    return { job: toJobView(row), duplicate: false };
  }

  /** A job, for members of its room. */
  async get(p: Principal, jobId: string): Promise<AgentJobView> {
    return toJobView(await this.readable(p, jobId));
  }

  /** The room's jobs, newest first. */
  async list(p: Principal, roomId: string, limit: number): Promise<AgentJobView[]> {
    requireMember(await loadRoom(this.d.store.repos, p, roomId, this.now()));
    return (await this.d.repo.listByRoom(roomId, limit)).map(toJobView);
  }

  /** Stops a job (its requester or a room moderator): it answers `interrupted: true`. */
  async cancel(p: Principal, jobId: string): Promise<AgentJobView> {
    const row = await this.readable(p, jobId);
    if (row.user_id !== p.userId) {
      const member = requireMember(await loadRoom(this.d.store.repos, p, row.room_id, this.now()));
      if (!atLeast(member.role, 'moderator')) {
        throw Errors.forbidden('Only the requester or a moderator can cancel this job');
      }
    }
    await this.stop(row, 'cancelled', p.userId);
    return toJobView((await this.d.repo.findJob(jobId)) ?? row);
  }

  /** The `/agent` and `/report` chat commands (a MessagesService `onSent` listener). */
  readonly onMessage = async (e: { message: MessageView; authorId: string }): Promise<void> => {
    const m = e.message;
    if (!m.content.startsWith('/')) return;
    const cmd = parseAgentCommand(m.content);
    if (!cmd) return;
    if (m.isAnonymous) return this.notice(m, 'The agent takes no anonymous instructions.', 'anonymous');
    if (cmd.kind === 'usage') return this.notice(m, cmd.help, 'usage');
    if (!this.enabled) return this.notice(m, Errors.agentDisabled().message, 'AGENT_DISABLED');
    const user = await this.d.store.repos.users.findById(e.authorId);
    if (!user) return;
    try {
      await this.create(
        { userId: user.id, username: user.username, isAdmin: user.is_admin === 1 },
        {
          roomId: m.roomId,
          instruction: cmd.instruction,
          kind: cmd.jobKind,
          projectId: cmd.projectId,
          repoUrl: cmd.repoUrl,
          threadId: m.replyTo ?? m.messageId,
          commandId: m.messageId,
        },
      );
    } catch (err) {
      if (!isAppError(err)) throw err;
      await this.notice(m, `The agent cannot take this: ${err.message}`, (err as AppError).code);
    }
  };

  /** Stops the older unfinished jobs of the new job's thread. */
  private async interruptThread(newer: AgentJobRow): Promise<void> {
    for (const old of await this.d.repo.unfinishedInThread(newer.thread_id, newer.id)) {
      // Only older ones (same millisecond: the id decides), so two racing requests never stop each other.
      if (old.created_at > newer.created_at || (old.created_at === newer.created_at && old.id > newer.id)) {
        continue;
      }
      await this.stop(old, 'interrupted', newer.id).catch((err) =>
        this.d.logger.warn({ err, jobId: old.id }, 'interrupting an agent job failed'),
      );
    }
  }

  /**
   * Asks a job to stop. A running job's worker (on any node) sees the queue's cancel, stops the
   * agent and reports; a job that has not started is reported here.
   */
  private async stop(row: AgentJobRow, reason: StopReason, by: string): Promise<void> {
    if (!(await this.d.repo.requestStop(row.id, reason, by, this.now()))) return;
    await this.d.queue.cancel(AGENT_QUEUE, row.id);
    const current = await this.d.repo.findJob(row.id);
    if (current?.state === 'queued') {
      await this.d.results.finish(
        current,
        stoppedState(current),
        fullResult(current, stoppedResult(current, {})),
      );
    }
  }

  private async readable(p: Principal, jobId: string): Promise<AgentJobRow> {
    const row = ID_RE.test(jobId) ? await this.d.repo.findJob(jobId) : undefined;
    if (!row) throw Errors.agentJobNotFound();
    try {
      requireMember(await loadRoom(this.d.store.repos, p, row.room_id, this.now()));
    } catch {
      throw Errors.agentJobNotFound();
    }
    return row;
  }

  /** The project a job works on; the first job of a project binds it to its room. */
  private async projectFor(
    p: Principal,
    roomId: string,
    requested: string | undefined,
    repoUrl: string | undefined,
  ): Promise<string> {
    if (requested !== undefined && !PROJECT_ID_RE.test(requested)) {
      throw Errors.validation('projectId must be 1-64 of a-z 0-9 _ - (starting with a letter or digit)');
    }
    const id = requested ?? (await this.d.repo.latestProjectOfRoom(roomId)) ?? defaultProjectId(roomId);
    const now = this.now();
    let project = await this.d.repo.findProject(id);
    if (!project) {
      await this.d.repo.insertProject({
        id,
        room_id: roomId,
        repo_url: repoUrl ?? null,
        created_by: p.userId,
        created_at: now,
        updated_at: now,
      });
      project = await this.d.repo.findProject(id);
    }
    if (!project || project.room_id !== roomId) {
      throw Errors.forbidden(`Project ${id} belongs to another room; choose another projectId`);
    }
    if (repoUrl && project.repo_url !== repoUrl) await this.d.repo.setProjectRepo(id, repoUrl, now);
    if (!repoUrl && !project.repo_url) {
      throw Errors.validation(
        `No repository is known for project ${id}: give repoUrl (or --repo=<url>) once`,
      );
    }
    return id;
  }

  /** The root of the thread a message belongs to (replies point at their parent). */
  private async threadRoot(roomId: string, messageId: string): Promise<string> {
    let id = messageId;
    for (let hops = 0; hops < 20; hops++) {
      const msg = await this.d.store.repos.messages.findById(id);
      if (!msg || msg.room_id !== roomId)
        throw Errors.messageNotFound('threadId: no such message in this room');
      if (!msg.reply_to) return msg.id;
      id = msg.reply_to;
    }
    return id;
  }

  /** A job started outside a thread gets one: the bot posts the request, and the result replies to it. */
  private async newThread(
    p: Principal,
    roomId: string,
    instruction: string,
    commandId: string | undefined,
  ): Promise<string> {
    const bot = await this.d.bot();
    const text = `@${p.username} asked the agent: ${instruction}`;
    const max = Math.min(this.d.settings.maxMessageLength, 2000);
    const r = await this.d.messages.postAsServer(roomId, bot.userId, {
      content: text.length > max ? `${text.slice(0, max - 1)}…` : text,
      type: 'system',
      clientMsgId: `agent-request:${createHash('sha256')
        .update(`${p.userId}\n${commandId ?? newId('cmd')}`)
        .digest('hex')
        .slice(0, 40)}`,
      metadata: { agent: { status: 'requested', userId: p.userId } },
    });
    return r.message.messageId;
  }

  private async notice(m: MessageView, text: string, status: string): Promise<void> {
    const bot = await this.d.bot();
    await this.d.messages.postAsServer(m.roomId, bot.userId, {
      content: text,
      type: 'system',
      replyTo: m.messageId,
      clientMsgId: `agent-notice:${m.messageId}`,
      metadata: { agent: { status } },
    });
  }
}

/** A room's own project id when it names none: its id, which fits the project alphabet. */
export function defaultProjectId(roomId: string): string {
  const id = roomId
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '-')
    .slice(0, 64);
  return PROJECT_ID_RE.test(id) ? id : `p${id}`.slice(0, 64);
}
