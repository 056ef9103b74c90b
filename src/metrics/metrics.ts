import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one node, served at `/metrics`. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'switchboard_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly messagesSent = new Counter({
    name: 'switchboard_messages_sent_total',
    help: 'Messages committed to room logs (not counting idempotent retries)',
    registers: [this.registry],
  });
  readonly eventsPublished = new Counter({
    name: 'switchboard_room_events_total',
    help: 'Room log events committed and published, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  /** AI provider calls that produced an answer or failed for good (src/ai), by kind and outcome. */
  readonly aiRequests = new Counter({
    name: 'switchboard_ai_requests_total',
    help: 'AI provider calls by kind (ask, summarize, translate, api, moderation), provider, model and status (ok, failed, cancelled)',
    labelNames: ['kind', 'provider', 'model', 'status'] as const,
    registers: [this.registry],
  });
  readonly aiTokens = new Counter({
    name: 'switchboard_ai_tokens_total',
    help: 'Tokens reported by AI providers, by direction (input, output)',
    labelNames: ['provider', 'model', 'direction'] as const,
    registers: [this.registry],
  });
  readonly aiLatency = new Histogram({
    name: 'switchboard_ai_latency_seconds',
    help: 'Duration of successful AI provider calls (request sent to stream finished)',
    labelNames: ['provider', 'model'] as const,
    buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 40, 60, 120],
    registers: [this.registry],
  });
  readonly aiProviderFailures = new Counter({
    name: 'switchboard_ai_provider_failures_total',
    help: 'Failed AI provider attempts (before a fallback), by provider and code',
    labelNames: ['provider', 'code'] as const,
    registers: [this.registry],
  });
  readonly aiRejected = new Counter({
    name: 'switchboard_ai_rejected_total',
    help: 'AI requests refused before reaching a provider, by reason (busy, rate_limited, not_configured)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  /** Platform messages that reached a bridge (src/bridges), by outcome (posted, refused, failed). */
  readonly bridgeReceived = new Counter({
    name: 'switchboard_bridge_messages_received_total',
    help: 'Messages from platforms (telegram, slack, discord, api) by outcome: posted, refused (by room rules), failed',
    labelNames: ['platform', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly bridgeSent = new Counter({
    name: 'switchboard_bridge_messages_sent_total',
    help: 'Messages sent out to platforms by outcome: sent, retrying, failed, skipped',
    labelNames: ['platform', 'outcome'] as const,
    registers: [this.registry],
  });
  /** Webhook delivery attempts (src/webhooks) by outcome: delivered, retrying, failed. */
  readonly webhookDeliveries = new Counter({
    name: 'switchboard_webhook_deliveries_total',
    help: 'Outgoing webhook delivery attempts by event type and outcome: delivered, retrying (failed, will retry), failed (for good)',
    labelNames: ['event', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly aiActive = new Gauge({
    name: 'switchboard_ai_active_jobs',
    help: 'AI answers this node is working on',
    registers: [this.registry],
  });

  constructor(collectDefaults = true) {
    if (collectDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_' });
  }
}
