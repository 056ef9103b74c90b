import { signBody } from '../bridges/signatures.js';
import type { Job } from '../queue/job-queue.js';
import { type CheckedTarget, type TargetChecker, TargetRefusedError } from './target-check.js';
import type { DeliveryJob } from './webhook-outbox.js';
import type { SendResult } from './webhook-sender.js';
import type { DeliveryRow, WebhookRow, WebhooksRepository } from './webhooks.repository.js';

export const USER_AGENT = 'Switchboard-Webhooks/1';

export interface WebhookRunnerOptions {
  /** Ms a receiver has to answer. */
  timeoutMs: number;
  /** Deliveries failed for good in a row that turn a webhook off; 0: never. */
  disableAfterFailures: number;
}

export interface DeliveryCounters {
  outcome(event: string, outcome: 'delivered' | 'retrying' | 'failed'): void;
}

export type Post = (
  target: CheckedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal: AbortSignal,
) => Promise<SendResult>;

/** A failed attempt: thrown so the job queue retries it with backoff. */
class AttemptFailed extends Error {}

/**
 * Makes one attempt of a delivery. Idempotent per row: a row that is no longer pending (a job run
 * twice) does nothing. 2xx is delivered; 410 Gone turns the webhook off; anything else (other
 * statuses, timeouts, network errors) is thrown to be retried, and the last attempt marks the row
 * failed. The URL is checked again (SSRF guard) before every attempt and the checked address used.
 */
export class WebhookRunner {
  constructor(
    private readonly repo: WebhooksRepository,
    private readonly checker: TargetChecker,
    private readonly post: Post,
    private readonly counters: DeliveryCounters,
    private readonly opts: WebhookRunnerOptions,
    private readonly logger: { warn(obj: object, msg: string): void },
    private readonly now: () => number,
  ) {}

  async run(job: Job<DeliveryJob>, signal: AbortSignal, maxAttempts: number): Promise<void> {
    const row = await this.repo.findDelivery(job.data.deliveryId);
    if (row?.status !== 'pending') return;
    const hook = await this.repo.findWebhook(row.webhook_id);
    if (!hook) return;
    const last = job.attempt >= Math.min(maxAttempts, row.max_attempts);
    if (hook.active !== 1) return this.fail(hook, row, job.attempt, null, 'the webhook is disabled', '');

    let target: CheckedTarget;
    try {
      target = await this.checker.check(hook.url);
    } catch (err) {
      const msg = `target refused: ${(err as Error).message}`;
      if (err instanceof TargetRefusedError || last) return this.fail(hook, row, job.attempt, null, msg, '');
      return this.retry(hook, row, job.attempt, null, msg, '');
    }

    const now = this.now();
    const secrets = [hook.secret];
    if (hook.previous_secret && (hook.previous_secret_expires_at ?? 0) > now)
      secrets.push(hook.previous_secret);
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'x-switchboard-event': row.event_type,
      'x-switchboard-delivery': row.id,
      'x-switchboard-webhook': hook.id,
      'x-switchboard-attempt': String(job.attempt),
      'x-switchboard-signature': signBody(secrets, row.payload, now),
    };
    let res: SendResult;
    try {
      res = await this.post(target, headers, row.payload, this.opts.timeoutMs, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      const msg = `request failed: ${(err as Error).message}`;
      if (last) return this.fail(hook, row, job.attempt, null, msg, '');
      return this.retry(hook, row, job.attempt, null, msg, '');
    }
    if (res.status >= 200 && res.status < 300) {
      await this.repo.updateDelivery(row.id, {
        status: 'delivered',
        attempts: job.attempt,
        last_status_code: res.status,
        last_error: null,
        last_response: res.body,
        updated_at: this.now(),
        delivered_at: this.now(),
      });
      await this.repo.recordOutcome(hook.id, true, this.now());
      this.counters.outcome(row.event_type, 'delivered');
      return;
    }
    const why =
      res.status >= 300 && res.status < 400
        ? `answered ${res.status} (redirects are not followed)`
        : `answered ${res.status}`;
    if (res.status === 410) {
      await this.fail(hook, row, job.attempt, res.status, `${why}: the webhook was turned off`, res.body);
      await this.repo.updateWebhook(hook.id, {
        active: 0,
        disabled_reason: 'the receiver answered 410 Gone',
        updated_at: this.now(),
      });
      return;
    }
    if (last) return this.fail(hook, row, job.attempt, res.status, why, res.body);
    return this.retry(hook, row, job.attempt, res.status, why, res.body);
  }

  private async retry(
    hook: WebhookRow,
    row: DeliveryRow,
    attempt: number,
    status: number | null,
    error: string,
    body: string,
  ): Promise<never> {
    await this.repo.updateDelivery(row.id, {
      attempts: attempt,
      last_status_code: status,
      last_error: error,
      last_response: body,
      updated_at: this.now(),
    });
    this.counters.outcome(row.event_type, 'retrying');
    this.logger.warn(
      { webhookId: hook.id, deliveryId: row.id, attempt, status, err: error },
      'webhook delivery failed; retrying',
    );
    throw new AttemptFailed(error);
  }

  private async fail(
    hook: WebhookRow,
    row: DeliveryRow,
    attempt: number,
    status: number | null,
    error: string,
    body: string,
  ): Promise<void> {
    await this.repo.updateDelivery(row.id, {
      status: 'failed',
      attempts: attempt,
      last_status_code: status,
      last_error: error,
      last_response: body,
      updated_at: this.now(),
    });
    this.counters.outcome(row.event_type, 'failed');
    this.logger.warn(
      { webhookId: hook.id, deliveryId: row.id, attempt, status, err: error },
      'webhook delivery failed for good',
    );
    if (hook.active !== 1) return;
    const streak = await this.repo.recordOutcome(hook.id, false, this.now());
    const limit = this.opts.disableAfterFailures;
    if (limit > 0 && streak >= limit) {
      await this.repo.updateWebhook(hook.id, {
        active: 0,
        disabled_reason: `${streak} deliveries in a row failed`,
        updated_at: this.now(),
      });
      this.logger.warn({ webhookId: hook.id, streak }, 'webhook turned off after repeated failures');
    }
  }
}
