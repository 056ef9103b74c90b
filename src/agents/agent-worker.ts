import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import type { AttachmentsService } from '../attachments/attachments.service.js';
import type { Bus } from '../bus/bus.js';
import {
  type Job,
  JobAbortedError,
  type JobQueue,
  type JobWorker,
  type StopOptions,
} from '../queue/job-queue.js';
import type { Store } from '../store/store.js';
import type { AgentJobsRepository } from './agent-jobs.repository.js';
import {
  AGENT_QUEUE,
  type AgentJobRow,
  type AgentJobState,
  type AgentResult,
  FINAL_STATES,
} from './agent-model.js';
import { AgentProgress } from './agent-progress.js';
import {
  type AgentBot,
  type AgentResults,
  fullResult,
  stoppedResult,
  stoppedState,
} from './agent-results.js';
import type { AgentRunner, RunOutcome, RunResult } from './agent-runner.js';
import type { AgentSettings } from './agent-settings.js';
import { contentTypeOf } from './site-store.js';

/** What the queue carries: the job's row holds everything else. */
export interface AgentJobData {
  jobId: string;
}

export interface AgentWorkerDeps {
  queue: JobQueue;
  store: Store;
  repo: AgentJobsRepository;
  runner: AgentRunner;
  results: AgentResults;
  attachments: AttachmentsService;
  bus: Bus;
  bot: () => Promise<AgentBot>;
  settings: AgentSettings;
  logger: Logger;
  now?: () => number;
}

/** Report files attached to one result, at most. */
const MAX_REPORT_FILES = 5;
/** A job whose row has not moved for this long is checked against the queue (see reconcile). */
const STALE_MS = 60_000;
const RECONCILE_EVERY_MS = 30_000;
const TOUCH_EVERY_MS = 15_000;

/** The job's own time limit ran out (AGENT_JOB_TIMEOUT). */
class JobTimeout extends Error {}

/**
 * Runs agent jobs from the queue in this process. The queue's per-key ordering and leases give the
 * ownership rule: one worker holds a project+user key at a time, in enqueue order, and a job whose
 * worker died is taken over once its lease runs out (the new run first stops whatever the dead one
 * left running in the workspace). A stop request (a newer instruction, a cancel) reaches the run
 * through the queue's cancel, on whichever node it runs.
 */
export class AgentWorker {
  private worker: JobWorker | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling = false;
  private readonly inflight = new Set<Promise<void>>();
  private readonly now: () => number;

  constructor(private readonly d: AgentWorkerDeps) {
    this.now = d.now ?? Date.now;
  }

  get running(): boolean {
    return this.worker !== undefined;
  }

  start(): void {
    if (this.worker) return;
    this.worker = this.d.queue.process<AgentJobData>(
      AGENT_QUEUE,
      (job, signal) => {
        const run = this.handle(job, signal);
        const tracked = run.catch(() => {}).finally(() => this.inflight.delete(tracked));
        this.inflight.add(tracked);
        return run;
      },
      { concurrency: Math.max(1, this.d.settings.workerConcurrency) },
    );
    this.reconcileTimer = setInterval(() => void this.reconcile(), RECONCILE_EVERY_MS);
    this.reconcileTimer.unref();
  }

  /**
   * Stops taking jobs and waits for the running ones; with `abandon`, stops their processes instead
   * (waiting only for that) and leaves the jobs to be taken over by a worker once their lease is over.
   */
  async stop(opts?: StopOptions): Promise<void> {
    clearInterval(this.reconcileTimer);
    const w = this.worker;
    this.worker = undefined;
    await w?.stop(opts);
    if (opts?.abandon && this.inflight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.inflight]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.d.settings.killGraceMs + 3000);
        }),
      ]);
      clearTimeout(timer);
    }
  }

  private async handle(qjob: Job<AgentJobData>, signal: AbortSignal): Promise<void> {
    const job = await this.d.repo.findJob(qjob.data.jobId);
    if (!job) return;
    if (FINAL_STATES.includes(job.state as AgentJobState)) {
      // Finished, but its report may not have been posted (the worker died in between).
      if (job.result && !job.result_message_id) {
        await this.d.results.post(job, JSON.parse(job.result) as AgentResult, job.state as AgentJobState);
      }
      return;
    }
    if (job.stop_reason || !(await this.d.repo.markRunning(job.id, qjob.attempt, this.now()))) {
      const current = (await this.d.repo.findJob(job.id)) ?? job;
      if (current.stop_reason) await this.finishStopped(current, {});
      return;
    }
    const progress = new AgentProgress(
      this.d.bus,
      { roomId: job.room_id, jobId: job.id, threadId: job.thread_id, projectId: job.project_id },
      this.d.settings.progressIntervalMs,
      this.now,
    );
    progress.enter('started', qjob.attempt > 1 ? 'Taking over from a worker that stopped' : undefined);
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new JobTimeout('job timeout')),
      this.d.settings.jobTimeoutMs,
    );
    const onAbort = () => controller.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const touch = setInterval(
      () => void this.d.repo.touch(job.id, this.now()).catch(() => {}),
      TOUCH_EVERY_MS,
    );
    try {
      const outcome = await this.run(job, controller.signal, progress);
      if (outcome.aborted) {
        const reason: unknown = controller.signal.reason;
        if (reason instanceof JobTimeout) {
          const secs = Math.round(this.d.settings.jobTimeoutMs / 1000);
          const error = `The job took longer than AGENT_JOB_TIMEOUT (${secs} s) and was stopped`;
          await this.finish(
            job,
            'failed',
            { ...outcome.result, success: false, summary: error, error },
            progress,
          );
        } else if (reason instanceof JobAbortedError && reason.kind !== 'cancelled') {
          // Lost lease or a hard stop: another worker runs the job again; report nothing.
          return;
        } else {
          await this.finishStopped((await this.d.repo.findJob(job.id)) ?? job, outcome.result, progress);
        }
        return;
      }
      const result = await this.attachReports(job, outcome);
      await this.finish(job, result.success ? 'succeeded' : 'failed', result, progress);
    } finally {
      clearTimeout(timer);
      clearInterval(touch);
      signal.removeEventListener('abort', onAbort);
      progress.close();
    }
  }

  private async run(job: AgentJobRow, signal: AbortSignal, progress: AgentProgress): Promise<RunOutcome> {
    const repoUrl = job.repo_url ?? (await this.d.repo.findProject(job.project_id))?.repo_url;
    if (!repoUrl) {
      const error = `No repository is known for project ${job.project_id}: give repoUrl (or --repo=<url>) once`;
      return {
        result: { success: false, summary: error, error, branch: job.branch },
        reportFiles: [],
        aborted: false,
      };
    }
    const user = await this.d.store.repos.users.findById(job.user_id);
    return this.d.runner.run({ job, repoUrl, username: user?.username ?? job.user_id }, signal, progress);
  }

  /** Stores the report files as attachments of the room and lists them in the result. */
  private async attachReports(job: AgentJobRow, outcome: RunOutcome): Promise<RunResult> {
    const result = outcome.result;
    if (!result.success || outcome.reportFiles.length === 0) return result;
    const bot = await this.d.bot();
    const ids: string[] = [];
    const skipped: string[] = [];
    for (const f of outcome.reportFiles.slice(0, MAX_REPORT_FILES)) {
      const size = (await stat(f.abs)).size;
      if (size > this.d.settings.maxFileSize) {
        skipped.push(f.path);
        continue;
      }
      const view = await this.d.attachments.storeServerFile(job.room_id, bot.userId, {
        fileName: basename(f.path),
        mimeType: contentTypeOf(f.path).split(';')[0]!,
        data: await readFile(f.abs),
      });
      ids.push(view.id);
    }
    const note = skipped.length > 0 ? ` (too large to attach: ${skipped.join(', ')})` : '';
    return { ...result, attachmentIds: ids, summary: result.summary + note };
  }

  private async finish(
    job: AgentJobRow,
    state: AgentJobState,
    result: RunResult,
    progress?: AgentProgress,
  ): Promise<void> {
    progress?.enter('finished', state);
    await this.d.results.finish(job, state, fullResult(job, result));
  }

  private finishStopped(job: AgentJobRow, done: Partial<RunResult>, progress?: AgentProgress): Promise<void> {
    return this.finish(job, stoppedState(job), stoppedResult(job, done), progress);
  }

  /**
   * Repairs jobs whose run ended without a report: a worker died after the queue gave up on the job,
   * a job was cancelled on a dead worker, a report failed to post. Runs every 30 s where a worker runs.
   */
  async reconcile(): Promise<void> {
    if (this.reconciling) return;
    this.reconciling = true;
    try {
      for (const row of await this.d.repo.stale(this.now() - STALE_MS, 50)) {
        try {
          if (FINAL_STATES.includes(row.state as AgentJobState)) {
            if (row.result)
              await this.d.results.post(
                row,
                JSON.parse(row.result) as AgentResult,
                row.state as AgentJobState,
              );
            continue;
          }
          const status = await this.d.queue.status(AGENT_QUEUE, row.id);
          if (status && status.state !== 'completed' && status.state !== 'failed') continue;
          if (row.stop_reason) await this.finishStopped(row, {});
          else {
            const error = `The job ended without a result (${status?.error ?? 'no worker finished it'})`;
            await this.finish(row, 'failed', { success: false, summary: error, error, branch: row.branch });
          }
        } catch (err) {
          this.d.logger.warn({ err, jobId: row.id }, 'agent job reconcile failed');
        }
      }
    } catch (err) {
      this.d.logger.warn({ err }, 'agent job reconcile failed');
    } finally {
      this.reconciling = false;
    }
  }
}
