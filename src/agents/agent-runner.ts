import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentJobKind, AgentJobRow, AgentResult } from './agent-model.js';
import type { AgentProgress } from './agent-progress.js';
import type { AgentSettings } from './agent-settings.js';
import { buildArgv, type Placeholder } from './command-template.js';
import { GitWorkspace, StepAborted, StepError } from './git-workspace.js';
import { runCommand } from './process-runner.js';
import type { SiteStore } from './site-store.js';
import { parseAgentLine } from './stream-json.js';

export interface RunnerDeps {
  settings: AgentSettings;
  sites: SiteStore;
  /** The worker's environment without Switchboard's secrets (agent-env.ts). */
  env: NodeJS.ProcessEnv;
  /** Where sites are stored: reported as s3Bucket when it is a bucket. */
  s3Bucket?: string;
  now?: () => number;
}

export interface RunInput {
  job: AgentJobRow;
  repoUrl: string;
  /** The requester's username, for the commit message. */
  username: string;
}

/** What a run did, without the job's identity fields (the worker adds them). */
export type RunResult = Omit<AgentResult, 'jobId' | 'kind' | 'commandId' | 'sessionId'>;

export interface RunOutcome {
  result: RunResult;
  /** Report files (absolute path and repository path) to attach. */
  reportFiles: { path: string; abs: string }[];
  /** Stopped through the signal: `result` holds what was done so far. */
  aborted: boolean;
}

/**
 * One run of a job, clone to push: workspace, agent, build, publish, commit, push. Expected
 * failures (bad repository, agent or build failing, nothing to publish, push refused) end in a failed
 * result; the run never throws. The next run of the key resets the checkout, so a failed or stopped
 * run leaves nothing behind.
 */
export class AgentRunner {
  private readonly now: () => number;

  constructor(private readonly d: RunnerDeps) {
    this.now = d.now ?? Date.now;
  }

  workspaceRoot(projectId: string, userId: string): string {
    return join(this.d.settings.workspaceDir, projectId, userId);
  }

  async run(input: RunInput, signal: AbortSignal, progress: AgentProgress): Promise<RunOutcome> {
    const { job } = input;
    const s = this.d.settings;
    const ws = new GitWorkspace({
      root: this.workspaceRoot(job.project_id, job.user_id),
      baseEnv: this.d.env,
      signal,
      killGraceMs: s.killGraceMs,
      git: {
        token: s.gitToken,
        username: s.gitUsername,
        authorName: s.gitAuthorName,
        authorEmail: s.gitAuthorEmail,
      },
    });
    const done: RunResult = { success: false, summary: '', branch: job.branch };
    const reportFiles: { path: string; abs: string }[] = [];
    try {
      await ws.acquire(job.id);
      progress.enter('workspace', `Preparing ${job.branch}`);
      await ws.prepare(input.repoUrl, job.branch, job.previous_commit ?? undefined);
      progress.enter('agent');
      const agent = await this.runAgent(ws, job, signal, progress);
      if (agent.truncated) done.outputTruncated = true;
      await ws.secure(job.branch);
      if (job.kind === 'site') await this.buildAndPublish(ws, job, signal, progress, done);
      progress.enter('commit');
      done.filesChanged = await ws.stage();
      const commitId = await ws.commit(commitMessage(input));
      if (commitId) done.commitId = commitId;
      if (job.kind === 'report') {
        for (const path of await ws.changedUnder(s.reportDir)) {
          reportFiles.push({ path, abs: join(ws.repoDir, path) });
        }
        if (reportFiles.length === 0) {
          throw new StepError('report', `The agent wrote no report file in ${s.reportDir}/`);
        }
      }
      if (commitId) {
        progress.enter('push', `Pushing ${job.branch}`);
        await ws.push(input.repoUrl, job.branch);
      }
      done.success = true;
      done.summary = agent.summary || defaultSummary(job.kind as AgentJobKind, done.filesChanged.length);
      return { result: done, reportFiles, aborted: false };
    } catch (err) {
      if (err instanceof StepAborted || signal.aborted)
        return { result: done, reportFiles: [], aborted: true };
      const message =
        err instanceof StepError ? err.message : `Internal error: ${(err as Error).message ?? String(err)}`;
      return {
        result: { ...done, success: false, summary: message, error: message },
        reportFiles: [],
        aborted: false,
      };
    } finally {
      await ws.release().catch(() => {});
    }
  }

  private values(ws: GitWorkspace, job: AgentJobRow): Record<Placeholder, string> {
    const s = this.d.settings;
    const hint =
      job.kind === 'report'
        ? `\n\nSave the finished report as a file in the ${s.reportDir}/ directory of the repository.`
        : '';
    return {
      instruction: job.instruction + hint,
      jobId: job.id,
      threadId: job.thread_id,
      projectId: job.project_id,
      userId: job.user_id,
      branch: job.branch,
      kind: job.kind,
      workspace: ws.repoDir,
      reportDir: s.reportDir,
    };
  }

  private processEnv(job: AgentJobRow, values: Record<Placeholder, string>): NodeJS.ProcessEnv {
    return {
      ...this.d.env,
      SWITCHBOARD_JOB_ID: job.id,
      SWITCHBOARD_JOB_KIND: job.kind,
      SWITCHBOARD_THREAD_ID: job.thread_id,
      SWITCHBOARD_PROJECT_ID: job.project_id,
      SWITCHBOARD_BRANCH: job.branch,
      SWITCHBOARD_REPORT_DIR: values.reportDir,
      SWITCHBOARD_INSTRUCTION: values.instruction,
    };
  }

  private async runAgent(
    ws: GitWorkspace,
    job: AgentJobRow,
    signal: AbortSignal,
    progress: AgentProgress,
  ): Promise<{ summary: string; truncated: boolean }> {
    const s = this.d.settings;
    const values = this.values(ws, job);
    const argv = buildArgv(s.command, values);
    let result: string | undefined;
    let reportedError: string | undefined;
    let lastText: string | undefined;
    const plain: string[] = [];
    const r = await runCommand(argv, {
      cwd: ws.repoDir,
      env: this.processEnv(job, values),
      signal,
      killGraceMs: s.killGraceMs,
      maxOutputBytes: s.maxOutputBytes,
      onSpawn: (pgid) => void ws.track(pgid).catch(() => {}),
      onLine: (line) => {
        const p = parseAgentLine(line);
        if (p.result !== undefined) result = p.result;
        if (p.isError) reportedError = p.result ?? 'the agent reported an error';
        if (p.text) {
          lastText = p.text;
          progress.line(p.text);
        }
        if (!line.trimStart().startsWith('{') && line.trim()) {
          plain.push(line.trim());
          if (plain.length > 5) plain.shift();
        }
      },
    });
    await ws.track(null).catch(() => {});
    if (r.aborted || signal.aborted) throw new StepAborted();
    if (r.spawnError) {
      throw new StepError('agent', `The agent command could not start: ${r.spawnError} (see AGENT_COMMAND)`);
    }
    if (r.code !== 0) {
      const why = reportedError ?? (plain.join(' / ') || tailText(r.tail));
      const how = r.code === null ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
      throw new StepError('agent', `The agent ${how}${why ? `: ${clip(why, 600)}` : ''}`);
    }
    if (reportedError)
      throw new StepError('agent', `The agent reported an error: ${clip(reportedError, 600)}`);
    return { summary: clip(result ?? lastText ?? '', 2000), truncated: r.truncated };
  }

  private async buildAndPublish(
    ws: GitWorkspace,
    job: AgentJobRow,
    signal: AbortSignal,
    progress: AgentProgress,
    done: RunResult,
  ): Promise<void> {
    const s = this.d.settings;
    if (s.buildCommand) {
      progress.enter('build', s.buildCommand.join(' '));
      const values = this.values(ws, job);
      const r = await runCommand(buildArgv(s.buildCommand, values), {
        cwd: ws.repoDir,
        env: this.processEnv(job, values),
        signal,
        killGraceMs: s.killGraceMs,
        maxOutputBytes: s.maxOutputBytes,
        onSpawn: (pgid) => void ws.track(pgid).catch(() => {}),
        onLine: (line) => progress.line(line),
      });
      await ws.track(null).catch(() => {});
      if (r.aborted || signal.aborted) throw new StepAborted();
      if (r.spawnError) throw new StepError('build', `The build command could not start: ${r.spawnError}`);
      if (r.code !== 0) {
        const how = r.code === null ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
        throw new StepError(
          'build',
          `The build failed (${s.buildCommand.join(' ')} ${how}): ${tailText(r.tail)}`,
        );
      }
    }
    const out = join(ws.repoDir, s.outputDir);
    // Without a build step, a repository with no output directory simply has nothing to publish.
    if (!s.buildCommand && !existsSync(out)) return;
    progress.enter('publish', `Publishing ${s.outputDir}/`);
    const published = await this.d.sites.publish(job.project_id, out, signal);
    done.siteUrl = s.siteUrl.replaceAll('{projectId}', job.project_id);
    done.deploymentTime = published.publishedAt;
    if (this.d.s3Bucket) {
      done.s3Bucket = this.d.s3Bucket;
      done.s3Url = done.siteUrl;
    }
  }
}

function commitMessage({ job, username }: RunInput): string {
  const first = job.instruction.split('\n')[0]!.trim();
  return [
    `Agent: ${clip(first, 60)}`,
    '',
    clip(job.instruction, 4000),
    '',
    `Switchboard-Job: ${job.id}`,
    `Switchboard-Thread: ${job.thread_id}`,
    `Switchboard-Room: ${job.room_id}`,
    `Switchboard-Project: ${job.project_id}`,
    `Switchboard-User: ${username} (${job.user_id})`,
    `Switchboard-Command: ${job.command_id}`,
    `Switchboard-Session: ${job.session_id}`,
  ].join('\n');
}

function defaultSummary(kind: AgentJobKind, changed: number): string {
  if (changed === 0) return 'The agent finished without changing any file.';
  return kind === 'report' ? 'The report is ready.' : `The agent changed ${changed} file(s).`;
}

function tailText(tail: string[]): string {
  return clip(
    tail
      .filter((l) => l.trim())
      .slice(-5)
      .join(' / '),
    600,
  );
}

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
