import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

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

  constructor(collectDefaults = true) {
    if (collectDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_' });
  }
}
