/**
 * Errors of the AI provider layer. `code` is stable and machine-readable; the job that runs the assistant
 * maps it (e.g. `AI_CANCELLED` → drop silently, `AI_UNAVAILABLE` → retry the job later, honouring
 * `retryAfterMs` when present).
 */
export type AiErrorCode =
  /** No provider is configured, or a provider's settings are incomplete (missing key, model or base URL). */
  | 'AI_NOT_CONFIGURED'
  /** Every configured provider failed; `attempts` says how. */
  | 'AI_UNAVAILABLE'
  /** The caller's AbortSignal fired. Never followed by a fallback. */
  | 'AI_CANCELLED'
  /** Per attempt: the provider did not complete its answer within the timeout. */
  | 'AI_TIMEOUT'
  /** Per attempt: the provider answered 429 (or streamed a rate-limit error). */
  | 'AI_RATE_LIMITED'
  /** Per attempt: any other failure (HTTP error status, network error, mid-stream disconnect, bad stream). */
  | 'AI_PROVIDER_ERROR';

/** One failed provider attempt, in the order the chain tried them. */
export interface AiAttempt {
  provider: string;
  model: string;
  error: string;
  code: AiErrorCode;
  /** HTTP status of the failed call, when there was one. */
  status?: number;
  /** From `retry-after-ms` / `retry-after` of a 429. */
  retryAfterMs?: number;
  /** How long the attempt ran before it failed. */
  latencyMs: number;
}

export interface AiErrorDetails {
  attempts?: AiAttempt[];
  /** For `AI_UNAVAILABLE`: the smallest retry hint any rate-limited provider gave. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class AiError extends Error {
  readonly attempts: AiAttempt[];
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly code: AiErrorCode,
    message: string,
    details: AiErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AiError';
    this.attempts = details.attempts ?? [];
    this.retryAfterMs = details.retryAfterMs;
  }
}

export function isAiError(err: unknown, code?: AiErrorCode): err is AiError {
  return err instanceof AiError && (code === undefined || err.code === code);
}
