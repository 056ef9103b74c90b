import { type JobOptions, PRIORITIES, type Priority } from './job-queue.js';

/** JobOptions with defaults applied and checked. */
export interface ResolvedJobOptions {
  priority: Priority;
  attempts: number;
  backoffMs: number;
  delayMs: number;
  timeoutMs: number | null;
  key: string | null;
  jobId: string | null;
}

export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_MS = 1000;

const NAME = /^[A-Za-z0-9_.-]{1,200}$/;

/** Queue names and job ids: safe as Redis key parts and BullMQ ids (no `:`, not all digits). */
export function checkName(what: 'queue' | 'jobId', value: string): void {
  if (!NAME.test(value) || /^\d+$/.test(value)) {
    throw new TypeError(`${what} must be 1-200 letters, digits, '_', '-', '.', not all digits: ${value}`);
  }
}

function checkInt(what: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min)
    throw new TypeError(`${what} must be an integer >= ${min}`);
  return value;
}

export function resolveJobOptions(opts: JobOptions = {}): ResolvedJobOptions {
  const priority = opts.priority ?? 'normal';
  if (!PRIORITIES.includes(priority)) throw new TypeError(`unknown priority ${String(priority)}`);
  if (opts.jobId !== undefined) checkName('jobId', opts.jobId);
  return {
    priority,
    attempts: checkInt('attempts', opts.attempts ?? DEFAULT_ATTEMPTS, 1),
    backoffMs: checkInt('backoffMs', opts.backoffMs ?? DEFAULT_BACKOFF_MS, 0),
    delayMs: checkInt('delayMs', opts.delayMs ?? 0, 0),
    timeoutMs: opts.timeoutMs === undefined ? null : checkInt('timeoutMs', opts.timeoutMs, 1),
    key: opts.key ?? null,
    jobId: opts.jobId ?? null,
  };
}

export function checkConcurrency(concurrency: number): void {
  checkInt('concurrency', concurrency, 1);
}

/** Delay before retry number `failedAttempts` (1 = first retry): backoffMs, then doubling. */
export function retryDelayMs(backoffMs: number, failedAttempts: number): number {
  return backoffMs * 2 ** Math.max(0, failedAttempts - 1);
}
