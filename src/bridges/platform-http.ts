import { PlatformError } from './bridge-model.js';

/** One platform API call's time limit, ms. */
export const PLATFORM_TIMEOUT_MS = 15_000;
/** Longest platform answer read, bytes: every API answer we use is small. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export interface PlatformResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: unknown;
  text: string;
}

/**
 * Calls a platform API with a time limit and the job's signal. Network failures and timeouts are
 * retryable PlatformErrors; the caller maps statuses and bodies (each platform says "error" its own way).
 */
export async function platformRequest(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  signal: AbortSignal,
  timeoutMs = PLATFORM_TIMEOUT_MS,
): Promise<PlatformResponse> {
  let res: Response;
  try {
    res = await fetch(url, {
      ...init,
      redirect: 'manual',
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw new PlatformError(`request failed: ${(err as Error).message}`, true);
  }
  const text = await readCapped(res);
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) throw new PlatformError('answer too large', true, undefined, res.status);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `Retry-After` in seconds (Slack, RFC 9110) as ms. */
export function retryAfterHeader(headers: Headers): number | undefined {
  const v = headers.get('retry-after');
  if (!v || !/^\d+(\.\d+)?$/.test(v)) return undefined;
  return Math.ceil(Number(v) * 1000);
}

/** The generic reading of an HTTP status: 429 and 5xx are worth retrying, other 4xx are not. */
export function statusError(
  what: string,
  status: number,
  detail: string,
  retryAfterMs?: number,
): PlatformError {
  const retryable = status === 429 || status >= 500 || status === 408;
  return new PlatformError(
    `${what} answered ${status}: ${detail}`.slice(0, 500),
    retryable,
    retryAfterMs,
    status,
  );
}
