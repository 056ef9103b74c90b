import { randomBytes } from 'node:crypto';
import type { RoomEvent } from '../events/room-event.js';
import type { Audience, Bus, BusListener, BusMessage } from './bus.js';
import type { RedisBackendLogger, RedisLike } from './redis-like.js';

export interface RedisBusOptions {
  /** Channel prefix shared by every node of one deployment. @default 'sb' */
  prefix?: string;
  /** A label for this node (e.g. the host name) in the origin id of the messages it publishes. @default 'node' */
  nodeId?: string;
  /** Where dropped publishes and connection errors are reported (at most one line per 5 s each). @default console */
  logger?: RedisBackendLogger;
}

/**
 * What goes on a channel: the bus message, its origin node and that node's publish counter.
 * One publish can reach a node on several channels (a `user_joined` on the room's and the user's, a frame
 * for several users); the counter lets the node drop the repeats.
 */
interface Envelope {
  origin: string;
  n: number;
  msg: BusMessage;
}

interface Watch {
  promise: Promise<void>;
  failed: boolean;
}

/** Ms between two log lines about the same kind of trouble. */
const LOG_INTERVAL_MS = 5000;
/** Origins remembered for de-duplication (nodes seen since start, restarts included). */
const MAX_ORIGINS = 1000;
/** Channels per SUBSCRIBE command when re-subscribing everything. */
const SUBSCRIBE_CHUNK = 1000;

/**
 * Cross-node fan-out over Redis pub/sub. Channels: `<prefix>:room:<roomId>`, `<prefix>:user:<userId>`
 * and `<prefix>:all`; a node subscribes to the rooms and users it has local connections for, plus `all`.
 * Every message, this node's own included, arrives through Redis, so all nodes see one order per channel.
 * Needs one Redis server (standalone or Sentinel-managed), not Redis Cluster: dropping repeats relies on
 * one publisher's messages reaching a subscriber in publish order across channels.
 */
export class RedisBus implements Bus {
  private readonly prefix: string;
  private readonly origin: string;
  private readonly logger: RedisBackendLogger;
  private readonly listeners = new Set<BusListener>();
  private readonly reconnectListeners = new Set<() => void>();
  /** Channels this node wants, with the state of their subscription. */
  private readonly watched = new Map<string, Watch>();
  /** Channels whose UNSUBSCRIBE failed; a reconnect's auto-resubscribe may bring them back. */
  private readonly stale = new Set<string>();
  /** Highest publish counter delivered per origin node. */
  private readonly delivered = new Map<string, number>();
  private counter = 0;
  private lost = false;
  private closed = false;
  private readonly lastLog = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly publisher: RedisLike,
    private readonly subscriber: RedisLike,
    opts: RedisBusOptions = {},
  ) {
    this.prefix = opts.prefix ?? 'sb';
    // Random per instance: a restarted node's counter starts again at 1, which must not read as repeats.
    this.origin = `${opts.nodeId ?? 'node'}-${randomBytes(8).toString('hex')}`;
    this.logger = opts.logger ?? console;
    subscriber.on('message', this.onMessage);
    subscriber.on('close', this.onClose);
    subscriber.on('ready', this.onReady);
    subscriber.on('error', this.onSubscriberError);
    publisher.on('error', this.onPublisherError);
    void this.watch(this.allChannel());
  }

  /**
   * Resolves once this node receives `all` frames (the subscription made at construction is confirmed);
   * rejects if that subscription failed and has not been made again since.
   */
  ready(): Promise<void> {
    return this.watched.get(this.allChannel())?.promise ?? Promise.resolve();
  }

  publish(events: readonly RoomEvent[]): void {
    for (const event of events) {
      const channels = [this.roomChannel(event.roomId)];
      if (event.type === 'user_joined') {
        channels.push(this.userChannel((event as RoomEvent<'user_joined'>).body.user.userId));
      } else if (event.type === 'room_created' && event.actorId !== null) {
        channels.push(this.userChannel(event.actorId));
      }
      this.send(channels, { kind: 'event', event });
    }
  }

  publishEphemeral(to: Audience, frame: Record<string, unknown>): void {
    let channels: string[];
    if ('all' in to) channels = [this.allChannel()];
    else if ('userIds' in to) channels = to.userIds.map((u) => this.userChannel(u));
    else channels = [this.roomChannel(to.roomId)];
    if (channels.length > 0) this.send(channels, { kind: 'ephemeral', to, frame });
  }

  subscribe(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  watchRoom(roomId: string): Promise<void> {
    return this.watch(this.roomChannel(roomId));
  }

  unwatchRoom(roomId: string): void {
    this.unwatch(this.roomChannel(roomId));
  }

  watchUser(userId: string): Promise<void> {
    return this.watch(this.userChannel(userId));
  }

  unwatchUser(userId: string): void {
    this.unwatch(this.userChannel(userId));
  }

  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscriber.off('message', this.onMessage);
    this.subscriber.off('close', this.onClose);
    this.subscriber.off('ready', this.onReady);
    this.listeners.clear();
    this.reconnectListeners.clear();
    this.watched.clear();
    await Promise.all([quit(this.publisher), quit(this.subscriber)]);
  }

  private allChannel(): string {
    return `${this.prefix}:all`;
  }

  private roomChannel(roomId: string): string {
    return `${this.prefix}:room:${roomId}`;
  }

  private userChannel(userId: string): string {
    return `${this.prefix}:user:${userId}`;
  }

  /** Serializes once and publishes to each channel; never throws (the room log repairs what is lost). */
  private send(channels: readonly string[], msg: BusMessage): void {
    if (this.closed) return;
    let payload: string;
    try {
      const envelope: Envelope = { origin: this.origin, n: ++this.counter, msg };
      payload = JSON.stringify(envelope);
    } catch (err) {
      this.warn('serialize', err, 'bus message not serializable: dropped');
      return;
    }
    for (const channel of channels) {
      this.publisher.publish(channel, payload).catch((err: unknown) => {
        this.warn('publish', err, 'bus publish failed: dropped (receivers repair from the room log)');
      });
    }
  }

  private watch(channel: string): Promise<void> {
    const current = this.watched.get(channel);
    if (current && !current.failed) return current.promise;
    if (this.closed) return Promise.resolve();
    const watch: Watch = { promise: Promise.resolve(), failed: false };
    watch.promise = this.subscriber.subscribe(channel).then(
      () => {},
      (err: unknown) => {
        // Still wanted: the next `ready` subscribes it again, and a later watch call retries at once.
        watch.failed = true;
        this.warn('subscribe', err, 'bus subscribe failed: retried on reconnect');
        throw err;
      },
    );
    // Callers that await see the failure; one that doesn't (the hub links rooms in passing) must not
    // turn it into an unhandled rejection.
    watch.promise.catch(() => {});
    this.watched.set(channel, watch);
    return watch.promise;
  }

  private unwatch(channel: string): void {
    if (!this.watched.delete(channel) || this.closed) return;
    this.subscriber.unsubscribe(channel).catch((err: unknown) => {
      this.stale.add(channel); // unsubscribed again on the next `ready`
      this.warn('unsubscribe', err, 'bus unsubscribe failed');
    });
  }

  private readonly onMessage = (_channel: string, raw: string): void => {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch (err) {
      this.warn('parse', err, 'malformed bus message: dropped');
      return;
    }
    if (!isEnvelope(envelope)) {
      this.warn('parse', new Error('unexpected shape'), 'malformed bus message: dropped');
      return;
    }
    // One publisher's messages reach this connection in publish order, so a counter at or below the
    // last delivered one is a repeat of a message already received on another channel.
    const last = this.delivered.get(envelope.origin);
    if (last !== undefined && envelope.n <= last) return;
    if (last === undefined && this.delivered.size >= MAX_ORIGINS) {
      const oldest = this.delivered.keys().next().value;
      if (oldest !== undefined) this.delivered.delete(oldest);
    }
    this.delivered.set(envelope.origin, envelope.n);
    for (const listener of this.listeners) {
      try {
        listener(envelope.msg);
      } catch {
        // One faulty listener must not stop delivery to the others; the log repairs what it missed.
      }
    }
  };

  private readonly onClose = (): void => {
    this.lost = true;
  };

  /**
   * After a lost connection: subscribe every watched channel again (ioredis's autoResubscribe may
   * have done so already; subscribing twice is harmless, and this covers subscriptions that failed
   * while down), then tell listeners, once Redis has confirmed, to look for what they missed.
   */
  private readonly onReady = (): void => {
    if (!this.lost || this.closed) return;
    this.lost = false;
    const stale = [...this.stale].filter((c) => !this.watched.has(c));
    this.stale.clear();
    if (stale.length > 0) this.unwatchAll(stale);
    const channels = [...this.watched.keys()];
    const batches: Promise<unknown>[] = [];
    for (let i = 0; i < channels.length; i += SUBSCRIBE_CHUNK) {
      batches.push(this.subscriber.subscribe(...channels.slice(i, i + SUBSCRIBE_CHUNK)));
    }
    Promise.all(batches).then(
      () => {
        for (const channel of channels) {
          const watch = this.watched.get(channel);
          if (watch?.failed) this.watched.set(channel, { promise: Promise.resolve(), failed: false });
        }
        if (this.closed) return;
        for (const listener of this.reconnectListeners) {
          try {
            listener();
          } catch {
            // isolated like message listeners
          }
        }
      },
      (err: unknown) => {
        // Dropped again before confirming: the next `ready` retries.
        this.lost = true;
        this.warn('resubscribe', err, 'bus re-subscribe failed');
      },
    );
  };

  private unwatchAll(channels: readonly string[]): void {
    for (let i = 0; i < channels.length; i += SUBSCRIBE_CHUNK) {
      const chunk = channels.slice(i, i + SUBSCRIBE_CHUNK);
      this.subscriber.unsubscribe(...chunk).catch((err: unknown) => {
        for (const c of chunk) this.stale.add(c);
        this.warn('unsubscribe', err, 'bus unsubscribe failed');
      });
    }
  }

  private readonly onSubscriberError = (err: Error): void => {
    this.warn('subscriber', err, 'bus subscriber connection error');
  };

  private readonly onPublisherError = (err: Error): void => {
    this.warn('publisher', err, 'bus publisher connection error');
  };

  /** Logs at most one line per kind every LOG_INTERVAL_MS, with the count of those suppressed. */
  private warn(kind: string, err: unknown, msg: string): void {
    const now = Date.now();
    const last = this.lastLog.get(kind);
    if (last && now - last.at < LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    this.lastLog.set(kind, { at: now, suppressed: 0 });
    this.logger.warn({ err, suppressed: last?.suppressed ?? 0, origin: this.origin }, msg);
  }
}

function isEnvelope(v: unknown): v is Envelope {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Partial<Envelope>;
  if (typeof e.origin !== 'string' || typeof e.n !== 'number') return false;
  const m = e.msg as Partial<Record<string, unknown>> | undefined;
  if (typeof m !== 'object' || m === null) return false;
  if (m.kind === 'event') return typeof m.event === 'object' && m.event !== null;
  if (m.kind === 'ephemeral') return typeof m.to === 'object' && typeof m.frame === 'object';
  return false;
}

/** QUIT when connected (pending replies arrive first); otherwise stop reconnecting at once. */
async function quit(redis: RedisLike): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
