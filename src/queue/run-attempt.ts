import { type Job, JobAbortedError, type JobHandler } from './job-queue.js';

export type AttemptOutcome = { ok: true } | { ok: false; error: unknown; cancelled: boolean };

/**
 * Runs one attempt of a job. `controller` is the job's abort switch (cancel, lost lease, hard stop);
 * a timeout aborts it too. A run whose signal was aborted before it settled counts as failed with the
 * abort reason, even if the handler resolved: its work cannot be trusted to be complete.
 */
export async function runAttempt<T>(
  handler: JobHandler<T>,
  job: Job<T>,
  controller: AbortController,
  timeoutMs: number | null,
): Promise<AttemptOutcome> {
  const timer =
    timeoutMs === null
      ? undefined
      : setTimeout(
          () => controller.abort(new JobAbortedError('timeout', `job timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
  const { signal } = controller;
  try {
    await handler(job, signal);
    if (!signal.aborted) return { ok: true };
    return { ok: false, error: signal.reason, cancelled: isCancel(signal.reason) };
  } catch (err) {
    const error = signal.aborted ? signal.reason : err;
    return { ok: false, error, cancelled: isCancel(error) };
  } finally {
    clearTimeout(timer);
  }
}

function isCancel(reason: unknown): boolean {
  return reason instanceof JobAbortedError && reason.kind === 'cancelled';
}

/** Error text kept with a failed job (bounded). */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.length > 2000 ? `${text.slice(0, 2000)}...` : text;
}

export function cancelledError(): JobAbortedError {
  return new JobAbortedError('cancelled', 'job was cancelled');
}
