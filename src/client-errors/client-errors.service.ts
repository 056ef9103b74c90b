import type { Principal } from '../auth/principal.js';
import { Errors } from '../errors/errors.js';
import { enforceRateLimit } from '../ratelimit/enforce.js';
import type { RateLimiter } from '../ratelimit/rate-limiter.js';
import { newId } from '../shared/ids.js';
import type { UsersService } from '../users/users.service.js';
import {
  CLIENT_ERROR_LIMITS,
  type ClientErrorInput,
  type ClientErrorView,
  toClientErrorView,
} from './client-error-model.js';
import type { ClientErrorsRepository } from './client-errors.repository.js';
import { redactText, redactValue } from './redaction.js';

export interface ClientErrorsServiceOptions {
  /** Most reports kept per user; each new report deletes that user's older ones past it. @default 500 */
  maxPerUser?: number;
  /** Reports older than this many ms are deleted. @default 2_592_000_000 (30 days) */
  retentionMs?: number;
  /** Least ms between two age cleanups on this node; one runs with the first report after that. @default 3_600_000 */
  cleanupIntervalMs?: number;
  /** Told about a failed cleanup; the report itself was stored. */
  onCleanupError?: (err: unknown) => void;
}

/** Where a report came from; the User-Agent is known only for REST reports. */
export interface ReportOrigin {
  source: 'http' | 'websocket';
  userAgent?: string | null;
}

export interface ClientErrorPage {
  /** Newest first. */
  errors: ClientErrorView[];
  pagination: {
    hasMore: boolean;
    limit: number;
    /** `errorId` of the last report on the page: pass it as `before` for the next page. */
    before: string | null;
  };
}

const DAY_MS = 86_400_000;

/**
 * Error reports from clients: validated, rate-limited per user, redacted and stored; kept bounded
 * (per user and by age); listed for server admins. Reports are never logged, so stack traces and
 * whatever a client put in `context` stay out of the server log.
 */
export class ClientErrorsService {
  private readonly maxPerUser: number;
  private readonly retentionMs: number;
  private readonly cleanupIntervalMs: number;
  /** When the last age cleanup started on this node (epoch ms); none yet at start. */
  private lastCleanup = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly repo: ClientErrorsRepository,
    private readonly users: UsersService,
    private readonly limiter: RateLimiter,
    private readonly opts: ClientErrorsServiceOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxPerUser = opts.maxPerUser ?? 500;
    this.retentionMs = opts.retentionMs ?? 30 * DAY_MS;
    this.cleanupIntervalMs = opts.cleanupIntervalMs ?? 3_600_000;
  }

  async report(
    p: Principal,
    input: ClientErrorInput,
    origin: ReportOrigin,
  ): Promise<{ errorId: string; createdAt: string }> {
    if (input.message.trim() === '') throw Errors.validation('message must not be blank');
    let context: string | null = null;
    if (input.context !== undefined) {
      if (Object.keys(input.context).length > CLIENT_ERROR_LIMITS.contextKeys) {
        throw Errors.validation(`context has more than ${CLIENT_ERROR_LIMITS.contextKeys} keys`);
      }
      // Measured as sent; redaction only shortens it.
      if (Buffer.byteLength(JSON.stringify(input.context)) > CLIENT_ERROR_LIMITS.contextBytes) {
        throw Errors.validation(`context is larger than ${CLIENT_ERROR_LIMITS.contextBytes} bytes as JSON`);
      }
      context = JSON.stringify(redactValue(input.context));
    }
    await enforceRateLimit(this.limiter, p.userId, 'error reports');
    const now = this.now();
    const id = newId('cer');
    await this.repo.insert({
      id,
      user_id: p.userId,
      level: input.level ?? 'error',
      message: redactText(input.message),
      stack: input.stack === undefined ? null : redactText(input.stack),
      context,
      client_version: input.clientVersion ?? null,
      url: input.url === undefined ? null : redactText(input.url),
      user_agent: origin.userAgent ? origin.userAgent.slice(0, CLIENT_ERROR_LIMITS.userAgent) : null,
      source: origin.source,
      created_at: now,
    });
    await this.cleanup(p.userId, now);
    return { errorId: id, createdAt: new Date(now).toISOString() };
  }

  /** Server admins: reports newest first, optionally of one user, paged back by `errorId`. */
  async list(p: Principal, q: { userId?: string; limit: number; before?: string }): Promise<ClientErrorPage> {
    await this.users.requireServerAdmin(p.userId);
    let before: { createdAt: number; id: string } | undefined;
    if (q.before !== undefined) {
      const row = await this.repo.findById(q.before);
      if (!row) throw Errors.validation(`Unknown cursor ${q.before}`);
      before = { createdAt: row.created_at, id: row.id };
    }
    const rows = await this.repo.list({ userId: q.userId, before, limit: q.limit + 1 });
    const hasMore = rows.length > q.limit;
    const errors = rows.slice(0, q.limit).map(toClientErrorView);
    return { errors, pagination: { hasMore, limit: q.limit, before: errors.at(-1)?.errorId ?? null } };
  }

  /**
   * Keeps the reporting user at `maxPerUser` reports (one indexed step when under it) and, at most
   * once per `cleanupIntervalMs`, deletes everyone's reports past `retentionMs`.
   */
  private async cleanup(userId: string, now: number): Promise<void> {
    try {
      await this.repo.trimUser(userId, this.maxPerUser);
      if (now - this.lastCleanup >= this.cleanupIntervalMs) {
        this.lastCleanup = now;
        await this.repo.deleteOlderThan(now - this.retentionMs);
      }
    } catch (err) {
      this.opts.onCleanupError?.(err);
    }
  }
}
