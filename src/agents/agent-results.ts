import type { MessagesService } from '../messages/messages.service.js';
import type { BotIdentity } from '../users/bot-users.js';
import type { AgentJobsRepository } from './agent-jobs.repository.js';
import type { AgentJobRow, AgentJobState, AgentResult } from './agent-model.js';
import type { RunResult } from './agent-runner.js';

/** The agent's user (see ensureBotUser). */
export type AgentBot = BotIdentity;

/** The idempotency key of the message reporting a job: a job is reported once however often it runs. */
export function resultClientMsgId(jobId: string): string {
  return `agent:${jobId}`;
}

/**
 * Ends jobs: records the final state and result once (the first writer wins), then posts the result
 * into the job's thread as an `agent_result` message whose `metadata.agentResult` is the result.
 */
export class AgentResults {
  constructor(
    private readonly repo: AgentJobsRepository,
    private readonly messages: MessagesService,
    private readonly bot: () => Promise<AgentBot>,
    private readonly opts: { maxMessageLength: number; secrets: readonly string[] },
    private readonly now: () => number = Date.now,
  ) {}

  /** False when the job had already finished (then someone else reports it). */
  async finish(job: AgentJobRow, state: AgentJobState, result: AgentResult): Promise<boolean> {
    const clean = this.redact(result);
    if (!(await this.repo.finish(job.id, state, JSON.stringify(clean), this.now()))) return false;
    await this.post(job, clean, state);
    return true;
  }

  /** Posts (again: idempotent) the result of a finished job and remembers the message. */
  async post(job: AgentJobRow, result: AgentResult, state: AgentJobState): Promise<string> {
    const bot = await this.bot();
    const r = await this.messages.postAsServer(job.room_id, bot.userId, {
      content: this.fit(formatResult(result, state)),
      type: 'agent_result',
      replyTo: job.thread_id,
      clientMsgId: resultClientMsgId(job.id),
      metadata: { agentResult: result },
      ...(result.attachmentIds?.length ? { attachmentIds: result.attachmentIds } : {}),
    });
    await this.repo.setResultMessage(job.id, r.message.messageId);
    return r.message.messageId;
  }

  /** No configured secret (the git token) ever reaches a stored result, even inside an error text. */
  private redact(result: AgentResult): AgentResult {
    const secrets = this.opts.secrets.filter((s) => s.length >= 4);
    if (secrets.length === 0) return result;
    let json = JSON.stringify(result);
    for (const s of secrets) json = json.split(JSON.stringify(s).slice(1, -1)).join('***');
    return JSON.parse(json) as AgentResult;
  }

  private fit(text: string): string {
    const max = Math.min(this.opts.maxMessageLength, 4000);
    const points = [...text];
    return points.length <= max ? text : `${points.slice(0, max - 1).join('')}…`;
  }
}

/** The readable message for a result. */
export function formatResult(r: AgentResult, state: AgentJobState): string {
  if (state === 'interrupted') return 'Interrupted: a newer instruction in this thread replaced this one.';
  if (state === 'cancelled') return 'Cancelled before it finished.';
  if (!r.success) return `Failed: ${r.error ?? r.summary}`;
  const lines = [`Done: ${r.summary}`];
  if (r.commitId) lines.push(`Branch ${r.branch}, commit ${r.commitId.slice(0, 12)}`);
  else if (r.branch) lines.push(`Branch ${r.branch} (no new commit)`);
  const files = r.filesChanged ?? [];
  if (files.length > 0) {
    const shown = files.slice(0, 10).join(', ');
    lines.push(`Files changed: ${shown}${files.length > 10 ? ` and ${files.length - 10} more` : ''}`);
  }
  if (r.siteUrl) lines.push(`Site: ${r.siteUrl}`);
  if (r.attachmentIds?.length) lines.push(`Report attached (${r.attachmentIds.length} file(s)).`);
  if (r.outputTruncated)
    lines.push('(The agent printed more than AGENT_MAX_OUTPUT_BYTES; the rest was not kept.)');
  return lines.join('\n');
}

/** A run's result with the job's identity fields (seed 001's OutputMessage echoes commandId and sessionId). */
export function fullResult(job: AgentJobRow, result: RunResult): AgentResult {
  return {
    jobId: job.id,
    kind: job.kind as AgentResult['kind'],
    commandId: job.command_id,
    sessionId: job.session_id,
    ...result,
  };
}

/** The result of a job stopped by a newer instruction or a cancel, with whatever it had done. */
export function stoppedResult(job: AgentJobRow, done: Partial<RunResult>): RunResult {
  const interrupted = job.stop_reason === 'interrupted';
  return {
    branch: job.branch,
    ...done,
    success: false,
    interrupted: true,
    summary: interrupted
      ? 'Interrupted by a newer instruction in this thread.'
      : 'Cancelled before it finished.',
    error: interrupted ? 'interrupted by a newer instruction' : 'cancelled',
  };
}

/** The final state of a stopped job. */
export function stoppedState(job: AgentJobRow): AgentJobState {
  return job.stop_reason === 'interrupted' ? 'interrupted' : 'cancelled';
}
