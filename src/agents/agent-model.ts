import type { AgentJobsTable } from '../store/database.js';

/** `site`: edit the repository (and build + publish it); `report`: write a report file and attach it. */
export const AGENT_JOB_KINDS = ['site', 'report'] as const;
export type AgentJobKind = (typeof AGENT_JOB_KINDS)[number];

export const AGENT_JOB_STATES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'interrupted',
  'cancelled',
] as const;
export type AgentJobState = (typeof AGENT_JOB_STATES)[number];

/** States a job never leaves. */
export const FINAL_STATES: readonly AgentJobState[] = ['succeeded', 'failed', 'interrupted', 'cancelled'];

/** Why a job was stopped before finishing. */
export type StopReason = 'interrupted' | 'cancelled';

/** The job queue every agent job goes through. */
export const AGENT_QUEUE = 'agent';

/** Project ids end up in paths, URLs and queue keys: a conservative alphabet. */
export const PROJECT_ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Longest instruction, in characters. */
export const MAX_INSTRUCTION_LENGTH = 10_000;

/**
 * What starts a job: seed 001's InputMessage. `userId` is always the authenticated caller;
 * `threadId` is the message id of the thread's root in the room.
 */
export interface AgentInput {
  sessionId: string;
  threadId: string;
  projectId: string;
  userId: string;
  instruction: string;
  repoUrl?: string;
  commandId: string;
  previousCommit?: string;
}

/** What a job answers: seed 001's OutputMessage, plus Switchboard's job id and kind. */
export interface AgentResult {
  jobId: string;
  kind: AgentJobKind;
  commandId: string;
  sessionId: string;
  success: boolean;
  /** Human-readable summary (the agent's own, when it gives one). */
  summary: string;
  /** Where the published site is served (`/sites/<projectId>/` by default). */
  siteUrl?: string;
  /** Set when sites are published to an S3 bucket (FILE_STORAGE=s3). */
  s3Bucket?: string;
  s3Url?: string;
  /** Epoch ms of the publication. */
  deploymentTime?: number;
  branch?: string;
  commitId?: string;
  filesChanged?: string[];
  /** Attachment ids of the report files (report jobs). */
  attachmentIds?: string[];
  error?: string;
  interrupted?: boolean;
  /** The agent's output went past AGENT_MAX_OUTPUT_BYTES and was cut. */
  outputTruncated?: boolean;
}

export type AgentJobRow = AgentJobsTable;

/** A job as the API shows it. */
export interface AgentJobView {
  jobId: string;
  roomId: string;
  threadId: string;
  projectId: string;
  userId: string;
  sessionId: string;
  commandId: string;
  kind: AgentJobKind;
  instruction: string;
  repoUrl: string | null;
  previousCommit: string | null;
  branch: string;
  state: AgentJobState;
  /** Runs so far (a run taken over from a worker that died counts). */
  attempt: number;
  result: AgentResult | null;
  resultMessageId: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export function toJobView(r: AgentJobRow): AgentJobView {
  return {
    jobId: r.id,
    roomId: r.room_id,
    threadId: r.thread_id,
    projectId: r.project_id,
    userId: r.user_id,
    sessionId: r.session_id,
    commandId: r.command_id,
    kind: r.kind as AgentJobKind,
    instruction: r.instruction,
    repoUrl: r.repo_url,
    previousCommit: r.previous_commit,
    branch: r.branch,
    state: r.state as AgentJobState,
    attempt: Number(r.attempt),
    result: r.result ? (JSON.parse(r.result) as AgentResult) : null,
    resultMessageId: r.result_message_id,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

/** One worker at a time holds a project+user key; jobs of one key run in order. */
export function ownershipKey(projectId: string, userId: string): string {
  return `${projectId}+${userId}`;
}

export function branchFor(threadId: string): string {
  return `thread-${threadId}`;
}

/** The job's input as seed 001 names it. */
export function inputOf(r: AgentJobRow): AgentInput {
  return {
    sessionId: r.session_id,
    threadId: r.thread_id,
    projectId: r.project_id,
    userId: r.user_id,
    instruction: r.instruction,
    ...(r.repo_url ? { repoUrl: r.repo_url } : {}),
    commandId: r.command_id,
    ...(r.previous_commit ? { previousCommit: r.previous_commit } : {}),
  };
}
