import type { Config } from '../config/config.js';
import { Errors } from '../errors/errors.js';
import type { Metrics } from '../metrics/metrics.js';
import type { JobQueue, JobWorker } from '../queue/job-queue.js';
import type { Store } from '../store/store.js';
import type { UsersService } from '../users/users.service.js';
import { TargetChecker, TargetRefusedError, TargetUnresolvedError } from './target-check.js';
import { type DeliveryJob, WEBHOOK_QUEUE, WebhookOutbox } from './webhook-outbox.js';
import { WebhookRunner } from './webhook-runner.js';
import { postPinned } from './webhook-sender.js';
import { WebhooksRepository } from './webhooks.repository.js';
import { WebhooksService } from './webhooks.service.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const PURGE_EVERY_MS = 60 * 60 * 1000;
/** How often webhooks made on other nodes are noticed (the delivery tap switches on), ms. */
const ACTIVE_REFRESH_MS = 10_000;

export interface WebhooksDeps {
  config: Config;
  store: Store;
  queue: JobQueue;
  users: UsersService;
  metrics: Metrics;
  logger: { warn(obj: object, msg: string): void };
  now: () => number;
}

export interface Webhooks {
  service: WebhooksService;
  outbox: WebhookOutbox;
  repo: WebhooksRepository;
  checker: TargetChecker;
  /** The SSRF guard as a validation check (API-key callback URLs of src/bridges use it too). */
  checkUrl(url: string): Promise<void>;
  /**
   * POSTs to a URL that passes the SSRF guard, connected to the address that was checked (API-key
   * callbacks). Throws TargetRefusedError / TargetUnresolvedError, or the request's error.
   */
  postChecked(
    url: string,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal,
  ): Promise<{ status: number; text: string }>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the outgoing webhooks (src/webhooks): registration, the delivery outbox and its worker. */
export function createWebhooks(d: WebhooksDeps): Webhooks {
  const c = d.config;
  const repo = new WebhooksRepository(d.store.db);
  const checker = new TargetChecker({
    allowPrivate: c.webhookAllowPrivate,
    allowedHosts: c.webhookAllowedHosts,
  });
  // The tap costs a query per committed batch only while some webhook is on (any node's: refreshed).
  let anyActive = false;
  const refresh = async () => {
    anyActive = (await repo.countActive()) > 0;
  };
  const outbox = new WebhookOutbox(
    repo,
    d.queue,
    {
      attempts: c.webhookMaxAttempts,
      backoffMs: c.webhookBackoffMs,
      jobTimeoutMs: c.webhookTimeoutMs + 30_000,
      relayIntervalMs: c.webhookRelayIntervalMs,
    },
    () => anyActive,
    d.now,
    (err) => d.logger.warn({ err }, 'webhook outbox relay failed; the next pass retries'),
  );
  d.store.addLogTap(outbox);
  const service = new WebhooksService({
    store: d.store,
    repo,
    users: d.users,
    checker,
    limits: {
      maxPerRoom: c.webhookMaxPerRoom,
      maxGlobal: c.webhookMaxGlobal,
      attempts: c.webhookMaxAttempts,
    },
    changed: () => {
      // Switch the tap on at once (a message right after creating a webhook is delivered), then
      // settle on the stored truth; and relay a ping or redelivery row without waiting for a pass.
      anyActive = true;
      void refresh().catch(() => {});
      outbox.nudge();
    },
    now: d.now,
  });
  const counter = d.metrics.webhookDeliveries;
  const runner = new WebhookRunner(
    repo,
    checker,
    postPinned,
    { outcome: (event, outcome) => counter.labels(event, outcome).inc() },
    { timeoutMs: c.webhookTimeoutMs, disableAfterFailures: c.webhookDisableAfterFailures },
    d.logger,
    d.now,
  );

  let worker: JobWorker | undefined;
  let refreshTimer: NodeJS.Timeout | undefined;
  let purgeTimer: NodeJS.Timeout | undefined;
  return {
    service,
    outbox,
    repo,
    checker,
    async checkUrl(url) {
      try {
        await checker.check(url);
      } catch (err) {
        if (err instanceof TargetRefusedError || err instanceof TargetUnresolvedError)
          throw Errors.validation(`callbackUrl refused: ${err.message}`);
        throw err;
      }
    },
    async postChecked(url, headers, body, signal) {
      const target = await checker.check(url);
      const res = await postPinned(target, headers, body, c.webhookTimeoutMs, signal);
      return { status: res.status, text: res.body };
    },
    async start() {
      await refresh();
      refreshTimer = setInterval(() => void refresh().catch(() => {}), ACTIVE_REFRESH_MS);
      refreshTimer.unref();
      const purge = () =>
        void repo.purgeDeliveries(d.now() - c.webhookDeliveryRetentionDays * DAY_MS).catch(() => {});
      purgeTimer = setInterval(purge, PURGE_EVERY_MS);
      purgeTimer.unref();
      outbox.start();
      if (c.webhookWorkerConcurrency > 0) {
        worker = d.queue.process<DeliveryJob>(
          WEBHOOK_QUEUE,
          (job, signal) => runner.run(job, signal, c.webhookMaxAttempts),
          { concurrency: c.webhookWorkerConcurrency },
        );
      }
    },
    async close() {
      if (refreshTimer) clearInterval(refreshTimer);
      if (purgeTimer) clearInterval(purgeTimer);
      await outbox.close();
      // Attempts in flight go back to the queue; a delivery row is only final once marked.
      await worker?.stop({ abandon: true });
    },
  };
}
