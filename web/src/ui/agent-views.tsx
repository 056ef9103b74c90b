import type { AgentStep } from '../../../src/client/index.js';
import type { AgentResult, Message } from '../api/types';
import type { AgentJob } from '../state/chat-store';
import { snippet } from './format';
import { RichText } from './rich-text';

const STEP_LABELS: Record<AgentStep, string> = {
  queued: 'Queued',
  started: 'Started',
  workspace: 'Checking out',
  agent: 'Agent at work',
  build: 'Building',
  publish: 'Publishing',
  commit: 'Committing',
  push: 'Pushing',
  finished: 'Finished',
};
/** Output lines a progress card shows (the newest). */
const CARD_LINES = 6;
/** Files a result lists before "and N more". */
const MAX_FILES = 10;

/** An absolute http(s) URL for `raw` (relative ones resolve against the page), or undefined. */
export function safeHttpUrl(raw: string): string | undefined {
  try {
    const u = new URL(raw, window.location.origin);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** `metadata.agentResult` of an `agent_result` message, checked field by field; undefined if unusable. */
export function agentResultOf(m: Message): AgentResult | undefined {
  const raw = m.metadata?.agentResult;
  if (!raw || typeof raw !== 'object') return undefined;
  const o = raw as Record<string, unknown>;
  if (typeof o.success !== 'boolean' || typeof o.summary !== 'string') return undefined;
  const list = (v: unknown) =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
  return {
    jobId: str(o.jobId) ?? '',
    kind: o.kind === 'report' ? 'report' : 'site',
    success: o.success,
    summary: o.summary,
    siteUrl: str(o.siteUrl),
    deploymentTime: typeof o.deploymentTime === 'number' ? o.deploymentTime : undefined,
    branch: str(o.branch),
    commitId: str(o.commitId),
    filesChanged: list(o.filesChanged),
    attachmentIds: list(o.attachmentIds),
    error: str(o.error),
    interrupted: o.interrupted === true,
    outputTruncated: o.outputTruncated === true,
  };
}

type Outcome = 'succeeded' | 'failed' | 'interrupted' | 'cancelled';

function outcomeOf(r: AgentResult): Outcome {
  if (r.success) return 'succeeded';
  if (r.interrupted) return r.error === 'cancelled' ? 'cancelled' : 'interrupted';
  return 'failed';
}

const OUTCOME_TEXT: Record<Outcome, { mark: string; label: string }> = {
  succeeded: { mark: '✓', label: 'Done' },
  failed: { mark: '✗', label: 'Failed' },
  interrupted: { mark: '■', label: 'Interrupted' },
  cancelled: { mark: '■', label: 'Cancelled' },
};

/**
 * A job's result: outcome, summary, error, branch, commit, files and the published site (a link only
 * for http(s) URLs). All of it as text; the report files are the message's attachments, shown below.
 */
export function AgentResultView({ r, log }: { r: AgentResult; log: string[] | undefined }) {
  const outcome = outcomeOf(r);
  const { mark, label } = OUTCOME_TEXT[outcome];
  const site = r.siteUrl ? safeHttpUrl(r.siteUrl) : undefined;
  const files = r.filesChanged ?? [];
  /** Failures carry the error (often the summary itself); an interruption's error says nothing more. */
  const error = outcome === 'failed' ? r.error : undefined;
  return (
    <div class={`agent-result agent-result--${outcome}`} data-testid="agent-result" data-outcome={outcome}>
      <p class="agent-result__status">
        <span aria-hidden="true">{mark} </span>
        {label}
        {r.kind === 'report' && <span class="muted"> · report</span>}
      </p>
      {!(error && error === r.summary) && (
        <p class="msg__text" data-testid="agent-summary">
          <RichText text={r.summary} />
        </p>
      )}
      {error && (
        <pre class="agent-result__error" data-testid="agent-error">
          {error}
        </pre>
      )}
      <dl class="agent-result__facts">
        {r.branch && (
          <>
            <dt>Branch</dt>
            <dd>
              <code data-testid="agent-branch">{r.branch}</code>
            </dd>
          </>
        )}
        {r.commitId ? (
          <>
            <dt>Commit</dt>
            <dd>
              <code data-testid="agent-commit" data-commit={r.commitId} title={r.commitId}>
                {r.commitId.slice(0, 12)}
              </code>
            </dd>
          </>
        ) : (
          r.success &&
          r.branch && (
            <>
              <dt>Commit</dt>
              <dd class="muted">none (nothing changed)</dd>
            </>
          )
        )}
        {files.length > 0 && (
          <>
            <dt>Files changed</dt>
            <dd>
              <ul class="agent-result__files" data-testid="agent-files">
                {files.slice(0, MAX_FILES).map((f) => (
                  <li key={f}>
                    <code>{f}</code>
                  </li>
                ))}
                {files.length > MAX_FILES && <li class="muted">and {files.length - MAX_FILES} more</li>}
              </ul>
            </dd>
          </>
        )}
        {r.siteUrl && (
          <>
            <dt>Site</dt>
            <dd>
              {site ? (
                <a href={site} target="_blank" rel="noopener noreferrer" data-testid="agent-site">
                  {site}
                </a>
              ) : (
                <code>{r.siteUrl}</code>
              )}
              {r.deploymentTime !== undefined && (
                <span class="muted">
                  {' '}
                  (published{' '}
                  <time dateTime={new Date(r.deploymentTime).toISOString()}>
                    {new Date(r.deploymentTime).toLocaleTimeString([], {
                      hour: '2-digit',
                      minute: '2-digit',
                    })}
                  </time>
                  )
                </span>
              )}
            </dd>
          </>
        )}
      </dl>
      {r.outputTruncated && (
        <p class="muted">The agent printed more than the output limit; the rest was cut.</p>
      )}
      {log && log.length > 0 && (
        <details class="agent-result__log">
          <summary>Progress log</summary>
          <pre class="job__log">{log.join('\n')}</pre>
        </details>
      )}
    </div>
  );
}

/**
 * A job at work: what was asked (a button back to the thread's first message), the steps so far and
 * the newest output lines. The log lines are left out of the live region so they are not read out.
 */
export function AgentJobCard({
  job,
  parent,
  onJump,
}: {
  job: AgentJob;
  parent: Message | undefined;
  onJump: (messageId: string) => void;
}) {
  const done = job.outcome !== undefined;
  const last = job.steps.length - 1;
  const asked = parent && !parent.isDeleted ? parent.content : job.instruction;
  return (
    <section
      class="msg msg--agent job"
      data-testid="agent-job"
      data-job-id={job.jobId}
      data-step={job.steps[last]}
      aria-busy={!done}
      aria-label={`Agent job on ${job.projectId}`}
    >
      <header class="msg__meta">
        <span class="msg__author">Agent</span> <span class="tag tag--ai">Agent</span>
        <span class="muted">{done ? `finished: ${job.outcome}` : `working on ${job.projectId}…`}</span>
      </header>
      {asked && (
        <button type="button" class="msg__quote" onClick={() => onJump(job.threadId)}>
          <span aria-hidden="true">↪ </span>
          {snippet(asked, 80)}
        </button>
      )}
      <ol class="job__steps" data-testid="agent-steps">
        {job.steps.map((s, i) => {
          const current = i === last && !done;
          return (
            <li
              key={s}
              class={current ? 'job__step job__step--current' : 'job__step'}
              aria-current={current ? 'step' : undefined}
            >
              <span aria-hidden="true">{current ? '◌ ' : '✓ '}</span>
              {STEP_LABELS[s] ?? s}
              <span class="visually-hidden">{current ? ' (in progress)' : ' (done)'}</span>
            </li>
          );
        })}
      </ol>
      {job.lines.length > 0 && (
        <pre class="job__log" aria-live="off" data-testid="agent-job-log">
          {job.lines.slice(-CARD_LINES).join('\n')}
        </pre>
      )}
    </section>
  );
}
