import type { KeyObject } from 'node:crypto';
import type { Bus } from '../bus/bus.js';
import type { Config } from '../config/config.js';
import { Errors } from '../errors/errors.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { Metrics } from '../metrics/metrics.js';
import type { JobQueue, JobWorker } from '../queue/job-queue.js';
import type { RateLimiter } from '../ratelimit/rate-limiter.js';
import type { RoomsService } from '../rooms/rooms.service.js';
import type { Store } from '../store/store.js';
import type { UsersService } from '../users/users.service.js';
import { ApiKeys } from './api-keys.js';
import { BridgeService } from './bridge.service.js';
import type { Platform, PlatformSender } from './bridge-model.js';
import { BRIDGE_OUT_QUEUE, BridgeOutbox, type OutboundJob } from './bridge-outbox.js';
import { type BridgeSettings, bridgeSettings } from './bridge-settings.js';
import { BridgesRepository } from './bridges.repository.js';
import { BridgesAdmin, type PlatformStatus } from './bridges-admin.js';
import { MessageApi } from './message-api.js';
import { OutboundRunner } from './outbound-runner.js';
import { ApiCallbackSender, type CallbackPost } from './platforms/api-callback.js';
import { DiscordSender, parseDiscordMessage } from './platforms/discord.js';
import { DiscordGateway } from './platforms/discord-gateway.js';
import { SlackSender } from './platforms/slack.js';
import { TelegramSender } from './platforms/telegram.js';
import { discordPublicKey } from './signatures.js';

/** Finished outbox rows are kept this long for GET /admin views and debugging, ms. */
const OUTBOX_KEEP_MS = 7 * 24 * 60 * 60 * 1000;
const PURGE_EVERY_MS = 60 * 60 * 1000;
/** How often other nodes' first API key is noticed (the outbox switches on), ms. */
const KEYS_REFRESH_MS = 10_000;
/** Name lookups (Slack users.info) must not hold up a webhook answer that Slack wants within 3 s. */
const LOOKUP_TIMEOUT_MS = 1500;

export interface BridgesDeps {
  config: Config;
  store: Store;
  bus: Bus;
  queue: JobQueue;
  rooms: RoomsService;
  messages: MessagesService;
  users: UsersService;
  metrics: Metrics;
  /** Per API key, per second. */
  messageApiLimiter: RateLimiter;
  /** Refuses callback URLs into private networks (the webhooks' SSRF guard). */
  checkCallbackUrl?: (url: string) => Promise<void>;
  /** Sends callbacks connected to the checked address (the webhooks' pinned sender). */
  postCallback?: CallbackPost;
  logger: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
  now: () => number;
}

export interface Bridges {
  settings: BridgeSettings;
  service: BridgeService;
  apiKeys: ApiKeys;
  messageApi: MessageApi;
  admin: BridgesAdmin;
  outbox: BridgeOutbox;
  repo: BridgesRepository;
  messageApiLimiter: RateLimiter;
  discordKey: KeyObject | undefined;
  gateway: DiscordGateway | undefined;
  counters: { received(platform: string, outcome: 'posted' | 'refused' | 'failed'): void };
  now: () => number;
  /** The seq after which a bridged room's messages are AI context (its 24 h session). */
  contextFloor(roomId: string): Promise<number | undefined>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the bridges (src/bridges): inbound adapters, the message API, the outbox and its worker. */
export function createBridges(d: BridgesDeps): Bridges {
  const settings = bridgeSettings(d.config);
  const repo = new BridgesRepository(d.store.db);
  const slack = settings.slack ? new SlackSender(settings.slack.apiUrl, settings.slack.botToken) : undefined;
  const service = new BridgeService(
    {
      store: d.store,
      repo,
      bus: d.bus,
      rooms: d.rooms,
      messages: d.messages,
      lookupName: async (platform, externalId) =>
        platform === 'slack' && slack
          ? slack.userName(externalId, AbortSignal.timeout(LOOKUP_TIMEOUT_MS))
          : undefined,
      logger: d.logger,
      now: d.now,
    },
    {
      botUsername: d.config.bridgeBotUsername,
      botName: d.config.bridgeBotName,
      aiReplies: d.config.bridgeAiReplies,
    },
  );
  const checkUrl = d.checkCallbackUrl ?? defaultUrlCheck;
  let keysExist = false;
  const apiKeys = new ApiKeys(repo, d.users, d.now, checkUrl, () => {
    keysExist = true;
  });
  const platformsOn = Boolean(settings.telegram || settings.slack || settings.discord);
  const outbox = new BridgeOutbox(
    repo,
    d.queue,
    {
      attempts: d.config.bridgeOutboundAttempts,
      backoffMs: d.config.bridgeOutboundBackoffMs,
      timeoutMs: 120_000,
      relayIntervalMs: d.config.bridgeRelayIntervalMs,
    },
    () => platformsOn || keysExist,
    d.now,
    (err) => d.logger.warn({ err }, 'bridge outbox relay failed; the next pass retries'),
  );
  d.store.addLogTap(outbox);

  const senders: Partial<Record<Platform, PlatformSender>> = {
    api: new ApiCallbackSender((id) => apiKeys.callbackFor(id), d.now, checkUrl, d.postCallback),
  };
  if (settings.telegram)
    senders.telegram = new TelegramSender(settings.telegram.apiUrl, settings.telegram.token);
  if (slack) senders.slack = slack;
  if (settings.discord && (settings.discord.botToken || settings.discord.applicationId)) {
    senders.discord = new DiscordSender(
      settings.discord.apiUrl,
      settings.discord.botToken,
      settings.discord.applicationId,
      d.now,
    );
  }
  const sent = d.metrics.bridgeSent;
  const runner = new OutboundRunner(
    d.store,
    repo,
    senders,
    {
      sent: (p) => sent.labels(p, 'sent').inc(),
      failed: (p, retrying) => sent.labels(p, retrying ? 'retrying' : 'failed').inc(),
      skipped: (p) => sent.labels(p, 'skipped').inc(),
    },
    d.logger,
    d.now,
  );

  let botUserId: string | undefined = settings.discord?.applicationId;
  const gateway =
    settings.discord?.gateway && settings.discord.botToken
      ? new DiscordGateway({
          url: settings.discord.gatewayUrl,
          token: settings.discord.botToken,
          logger: d.logger,
          onReady: (id) => {
            botUserId = id;
          },
          onMessage: (raw) => {
            const m = parseDiscordMessage(raw, botUserId);
            if (m) void ingestWithRetry(() => service.ingest(m), d.logger, counters);
          },
        })
      : undefined;
  const counters = {
    received: (platform: string, outcome: 'posted' | 'refused' | 'failed') =>
      d.metrics.bridgeReceived.labels(platform, outcome).inc(),
  };

  const status = (): PlatformStatus[] => [
    {
      platform: 'telegram',
      configured: Boolean(settings.telegram),
      inbound: settings.telegram ? ['webhook'] : [],
      outbound: Boolean(senders.telegram),
    },
    {
      platform: 'slack',
      configured: Boolean(settings.slack),
      inbound: settings.slack ? ['events'] : [],
      outbound: Boolean(senders.slack),
    },
    {
      platform: 'discord',
      configured: Boolean(settings.discord),
      inbound: [...(settings.discord?.publicKey ? ['interactions'] : []), ...(gateway ? ['gateway'] : [])],
      outbound: Boolean(senders.discord),
      ...(gateway ? { gatewayConnected: gateway.ready } : {}),
    },
    { platform: 'api', configured: true, inbound: ['POST /message'], outbound: true },
  ];

  let worker: JobWorker | undefined;
  let keysTimer: NodeJS.Timeout | undefined;
  let purgeTimer: NodeJS.Timeout | undefined;
  const refreshKeys = async () => {
    if (!keysExist) keysExist = (await repo.countActiveKeys()) > 0;
  };

  return {
    settings,
    service,
    apiKeys,
    messageApi: new MessageApi(d.store, repo, service),
    admin: new BridgesAdmin({
      store: d.store,
      repo,
      users: d.users,
      rooms: d.rooms,
      bus: d.bus,
      bridge: service,
      status,
      now: d.now,
    }),
    outbox,
    repo,
    messageApiLimiter: d.messageApiLimiter,
    discordKey: settings.discord?.publicKey ? discordPublicKey(settings.discord.publicKey) : undefined,
    gateway,
    counters,
    now: d.now,
    async contextFloor(roomId) {
      return (await repo.sessionFloor(roomId))?.startSeq;
    },
    async start() {
      await service.start();
      await refreshKeys();
      keysTimer = setInterval(() => void refreshKeys().catch(() => {}), KEYS_REFRESH_MS);
      keysTimer.unref();
      purgeTimer = setInterval(
        () => void repo.purgeOutbox(d.now() - OUTBOX_KEEP_MS).catch(() => {}),
        PURGE_EVERY_MS,
      );
      purgeTimer.unref();
      outbox.start();
      if (d.config.bridgeWorkerConcurrency > 0) {
        const attempts = d.config.bridgeOutboundAttempts;
        worker = d.queue.process<OutboundJob>(
          BRIDGE_OUT_QUEUE,
          (job, signal) => runner.run(job, signal, attempts),
          {
            concurrency: d.config.bridgeWorkerConcurrency,
          },
        );
      }
      gateway?.start();
    },
    async close() {
      gateway?.close();
      if (keysTimer) clearInterval(keysTimer);
      if (purgeTimer) clearInterval(purgeTimer);
      await outbox.close();
      // Sends in flight go back to the queue; another node (or this one after a restart) retries them.
      await worker?.stop({ abandon: true });
    },
  };
}

/** Without the webhooks' guard: http(s) URLs without credentials. */
async function defaultUrlCheck(url: string): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw Errors.validation('callbackUrl is not a valid URL');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw Errors.validation('callbackUrl must be http or https');
  if (u.username || u.password) throw Errors.validation('callbackUrl must not hold credentials');
}

/**
 * The gateway does not redeliver a message we failed to store: retry a few times (the store may be
 * restarting), then give up loudly.
 */
async function ingestWithRetry(
  ingest: () => Promise<unknown>,
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void },
  counters: { received(platform: string, outcome: 'posted' | 'refused' | 'failed'): void },
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ingest();
      counters.received('discord', 'posted');
      return;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status !== undefined && status < 500) {
        counters.received('discord', 'refused');
        logger.warn({ code: (err as { code?: string }).code }, 'bridged Discord message refused');
        return;
      }
      if (attempt >= 5) {
        counters.received('discord', 'failed');
        logger.error({ err: (err as Error).message }, 'could not store a Discord gateway message');
        return;
      }
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}
