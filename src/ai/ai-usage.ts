import type { Metrics } from '../metrics/metrics.js';
import { newId } from '../shared/ids.js';
import { iso } from '../shared/json.js';
import type { AiRepository, UsageTotalsRow } from './ai.repository.js';
import type { AiAttempt, AiError } from './providers/ai-errors.js';
import type { AiAnswer } from './providers/ai-provider-chain.js';

/** What a provider call was for. */
export type UsageKind = 'ask' | 'summarize' | 'translate' | 'api' | 'moderation';

export interface UsageContext {
  jobId?: string | null;
  roomId?: string | null;
  userId?: string | null;
}

export interface UsageReport {
  since: string;
  totals: {
    requests: number;
    failures: number;
    cancelled: number;
    inputTokens: number;
    outputTokens: number;
  };
  byProvider: UsageTotalsRow[];
  recent: {
    id: string;
    kind: string;
    provider: string;
    model: string;
    status: string;
    errorCode: string | null;
    inputTokens: number;
    outputTokens: number;
    latencyMs: number;
    roomId: string | null;
    userId: string | null;
    jobId: string | null;
    createdAt: string;
  }[];
}

/**
 * Usage accounting: one `ai_usage` row per answer (tokens in/out, provider, model, latency, outcome)
 * and the matching Prometheus series. Failed attempts before a fallback count in
 * `switchboard_ai_provider_failures_total`. Recording never fails the answer: errors go to `onError`.
 */
export class AiUsage {
  constructor(
    private readonly repo: AiRepository,
    private readonly metrics: Metrics,
    private readonly onError: (err: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  async answered(kind: UsageKind, ctx: UsageContext, a: AiAnswer): Promise<void> {
    this.countAttempts(a.attempts);
    this.metrics.aiRequests.labels(kind, a.provider, a.model, 'ok').inc();
    this.metrics.aiTokens.labels(a.provider, a.model, 'input').inc(a.inputTokens);
    this.metrics.aiTokens.labels(a.provider, a.model, 'output').inc(a.outputTokens);
    this.metrics.aiLatency.labels(a.provider, a.model).observe(a.latencyMs / 1000);
    await this.insert(kind, ctx, {
      provider: a.provider,
      model: a.model,
      status: 'ok',
      errorCode: null,
      inputTokens: a.inputTokens,
      outputTokens: a.outputTokens,
      latencyMs: a.latencyMs,
    });
  }

  /** A call that ended without an answer: every provider failed, or it was cancelled. */
  async failed(kind: UsageKind, ctx: UsageContext, err: AiError, latencyMs: number): Promise<void> {
    this.countAttempts(err.attempts);
    const last = err.attempts.at(-1);
    const provider = last?.provider ?? 'none';
    const model = last?.model ?? 'none';
    const status = err.code === 'AI_CANCELLED' ? 'cancelled' : 'failed';
    this.metrics.aiRequests.labels(kind, provider, model, status).inc();
    await this.insert(kind, ctx, {
      provider,
      model,
      status,
      errorCode: err.code,
      inputTokens: 0,
      outputTokens: 0,
      latencyMs,
    });
  }

  rejected(reason: 'busy' | 'rate_limited' | 'not_configured'): void {
    this.metrics.aiRejected.labels(reason).inc();
  }

  async report(since: number, limit: number): Promise<UsageReport> {
    const [byProvider, recent] = await Promise.all([
      this.repo.usageTotals(since),
      this.repo.recentUsage(since, limit),
    ]);
    const sum = (f: (r: UsageTotalsRow) => number) => byProvider.reduce((n, r) => n + f(r), 0);
    return {
      since: iso(since),
      totals: {
        requests: sum((r) => r.requests),
        failures: sum((r) => r.failures),
        cancelled: sum((r) => r.cancelled),
        inputTokens: sum((r) => r.inputTokens),
        outputTokens: sum((r) => r.outputTokens),
      },
      byProvider,
      recent: recent.map((r) => ({
        id: r.id,
        kind: r.kind,
        provider: r.provider,
        model: r.model,
        status: r.status,
        errorCode: r.error_code,
        inputTokens: r.input_tokens,
        outputTokens: r.output_tokens,
        latencyMs: r.latency_ms,
        roomId: r.room_id,
        userId: r.user_id,
        jobId: r.job_id,
        createdAt: iso(r.created_at),
      })),
    };
  }

  private countAttempts(attempts: readonly AiAttempt[]): void {
    for (const a of attempts) this.metrics.aiProviderFailures.labels(a.provider, a.code).inc();
  }

  private async insert(
    kind: UsageKind,
    ctx: UsageContext,
    u: {
      provider: string;
      model: string;
      status: string;
      errorCode: string | null;
      inputTokens: number;
      outputTokens: number;
      latencyMs: number;
    },
  ): Promise<void> {
    try {
      await this.repo.insertUsage({
        id: newId('aiu'),
        kind,
        job_id: ctx.jobId ?? null,
        room_id: ctx.roomId ?? null,
        user_id: ctx.userId ?? null,
        provider: u.provider,
        model: u.model,
        status: u.status,
        error_code: u.errorCode,
        input_tokens: Math.max(0, Math.round(u.inputTokens)),
        output_tokens: Math.max(0, Math.round(u.outputTokens)),
        latency_ms: Math.max(0, Math.round(u.latencyMs)),
        created_at: this.now(),
      });
    } catch (err) {
      this.onError(err);
    }
  }
}
