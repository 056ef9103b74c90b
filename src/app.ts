import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { type Agents, createAgents } from './agents/create-agents.js';
import { AssistantService } from './ai/assistant.service.js';
import { createAi } from './ai/create-ai.js';
import { AnnouncementsService } from './announcements/announcements.service.js';
import { AttachmentsService } from './attachments/attachments.service.js';
import { createBlobStore } from './attachments/create-blob-store.js';
import { UrlSigner } from './attachments/url-signer.js';
import { AccessTokens } from './auth/access-tokens.js';
import { AuthService } from './auth/auth.service.js';
import { ExternalIssuer } from './auth/external-issuer.js';
import { type Backends, createBackends } from './backends.js';
import { type Bridges, createBridges } from './bridges/create-bridges.js';
import type { Bus } from './bus/bus.js';
import { ClientErrorsRepository } from './client-errors/client-errors.repository.js';
import { ClientErrorsService } from './client-errors/client-errors.service.js';
import type { Config } from './config/config.js';
import { requestSerializer } from './http/log-redaction.js';
import { type App, buildHttpServer } from './http/server.js';
import { MessagesService } from './messages/messages.service.js';
import { Metrics } from './metrics/metrics.js';
import type { AiModerationHook } from './moderation/ai-moderation.js';
import { ContentPolicy } from './moderation/content-policy.js';
import { ModerationService } from './moderation/moderation.service.js';
import { PollsService } from './polls/polls.service.js';
import { PresenceService } from './presence/presence.service.js';
import type { JobQueue } from './queue/job-queue.js';
import { Hub } from './realtime/hub.js';
import { Realtime } from './realtime/realtime.js';
import { SharedLogReader } from './realtime/shared-log-reader.js';
import { ReceiptsService } from './receipts/receipts.service.js';
import { RetentionService } from './retention/retention.service.js';
import { JoinRequestsService } from './rooms/join-requests.service.js';
import { RoomsService } from './rooms/rooms.service.js';
import { createDatabase } from './store/create-database.js';
import { migrateToLatest } from './store/migrate.js';
import { Store } from './store/store.js';
import { WebSocketGateway } from './transport/websocket-gateway.js';
import { TypingService } from './typing/typing.service.js';
import { UsersService } from './users/users.service.js';
import { createWebhooks, type Webhooks } from './webhooks/create-webhooks.js';

export interface Switchboard {
  config: Config;
  logger: Logger;
  store: Store;
  bus: Bus;
  /** Background jobs (AI answers, agent runs, webhooks). */
  queue: JobQueue;
  metrics: Metrics;
  auth: AuthService;
  users: UsersService;
  rooms: RoomsService;
  messages: MessagesService;
  receipts: ReceiptsService;
  presence: PresenceService;
  realtime: Realtime;
  moderation: ModerationService;
  /** Deletes messages past their room's retention; runs every RETENTION_INTERVAL_MS. */
  retention: RetentionService;
  attachments: AttachmentsService;
  /** The AI assistant (bot user, triggers, answer jobs, /ask, usage). */
  ai: AssistantService;
  /** The agent worker's domain: jobs from the conversation, published sites, the in-process worker. */
  agents: Agents;
  /** Bridges to Telegram, Slack and Discord, POST /message and its API keys. */
  bridges: Bridges;
  /** Outgoing webhooks: registration, signed deliveries through the job queue. */
  webhooks: Webhooks;
  http: App;
  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number>;
  close(): Promise<void>;
}

export interface BuildOptions {
  /** Replaces the pino logger (tests pass a silent one). */
  logger?: Logger;
  /** PostgreSQL schema to isolate a test run. */
  pgSchema?: string;
  /** Clock for services (ms since epoch). */
  now?: () => number;
  /**
   * AI classifier for rooms with moderationLevel `strict`. Default: the LLM classifier over the
   * configured AI providers; with none, `strict` rooms get the local filter only.
   */
  aiModeration?: AiModerationHook;
}

/** The store location: DATABASE_URL, or the SQLite file in DATA_DIR. */
export function databaseUrl(config: Config): string {
  return config.databaseUrl ?? join(config.dataDir, 'switchboard.db');
}

/**
 * The composition root: reads the validated config and builds every backend and service.
 * Nothing else in the code base reads `process.env` or chooses implementations.
 */
export async function buildSwitchboard(config: Config, opts: BuildOptions = {}): Promise<Switchboard> {
  const logger =
    opts.logger ??
    pino({
      level: config.logLevel,
      redact: {
        paths: ['req.headers.authorization', '*.password', '*.refreshToken', '*.accessToken'],
        censor: '***',
      },
      serializers: { req: requestSerializer },
    });
  const now = opts.now ?? Date.now;
  const handle = createDatabase({
    url: databaseUrl(config),
    poolSize: config.databasePoolSize,
    pgSchema: opts.pgSchema ?? config.databaseSchema,
    onIdleError: (err) => logger.warn({ err: err.message }, 'database connection lost; the pool reconnects'),
  });
  const store = new Store(handle);
  try {
    const { applied } = await migrateToLatest(handle.db);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  } catch (err) {
    await store.close();
    throw err;
  }

  let backends: Backends;
  try {
    backends = await createBackends(config, logger, store);
  } catch (err) {
    await store.close();
    throw err;
  }
  const bus = backends.bus;
  const metrics = new Metrics();
  // Set once the bridges exist: this node committed new messages, so their outbox rows may be waiting.
  let newMessagesCommitted = () => {};
  // Set once the webhooks exist: this node committed events, so delivery rows may be waiting.
  let eventsCommitted = () => {};
  // Counted where events are published: with Redis a node only receives the rooms it watches.
  const publish = bus.publish.bind(bus);
  bus.publish = (events) => {
    let messages = false;
    for (const e of events) {
      metrics.eventsPublished.labels(e.type).inc();
      if (e.type === 'new_message') {
        metrics.messagesSent.inc();
        messages = true;
      }
    }
    publish(events);
    if (messages) newMessagesCommitted();
    if (events.length > 0) eventsCommitted();
  };

  const tokens = new AccessTokens(jwtSecretFor(config, logger), config.accessTokenTtl);
  const external = config.externalIssuer
    ? new ExternalIssuer({
        issuer: config.externalIssuer,
        audience: config.externalAudience!,
        jwksUrl: config.externalJwksUrl,
        secret: config.externalSecret,
        usernameClaim: config.externalUsernameClaim,
      })
    : undefined;
  const users = new UsersService(store, now);
  const auth = new AuthService(
    store,
    users,
    tokens,
    external,
    { allowRegistration: config.allowRegistration, refreshTtl: config.refreshTokenTtl },
    now,
  );
  const rooms = new RoomsService(
    store,
    bus,
    { maxFileSize: config.maxFileSize, retentionDays: config.messageRetentionDays },
    now,
  );
  const aiParts = createAi(
    config,
    store,
    metrics,
    (err) => logger.warn({ err }, 'AI usage not recorded'),
    now,
  );
  const messages = new MessagesService(
    store,
    bus,
    rooms,
    backends.limiter('send', { points: config.sendRateLimit, duration: 1 }),
    new ContentPolicy(opts.aiModeration ?? aiParts.moderation, logger),
    {
      maxMessageLength: config.maxMessageLength,
      groupCommit: { maxBatch: config.groupCommitMaxBatch, maxWaitMs: config.groupCommitMaxWaitMs },
    },
    now,
  );
  messages.onListenerError = (err) => logger.warn({ err }, 'a message listener failed');
  const receipts = new ReceiptsService(
    store,
    bus,
    { fanoutMaxMembers: config.presenceFanoutMaxMembers },
    now,
  );
  const presence = new PresenceService(
    backends.presence,
    store,
    bus,
    {
      fanoutMaxMembers: config.presenceFanoutMaxMembers,
      offlineGraceMs: config.presenceOfflineGraceMs,
      // Only shared presence can hold connections of a node that died; sweep twice per TTL.
      sweepIntervalMs: backends.kind === 'redis' ? (config.presenceTtl * 1000) / 2 : 0,
    },
    now,
  );
  const typing = new TypingService(bus, { timeoutMs: config.typingTimeout }, now);
  const authLimiter = backends.limiter('auth', { points: config.authRateLimit, duration: 60 });
  const apiLimiter = backends.limiter('api', { points: config.apiRateLimit, duration: 1 });
  const moderation = new ModerationService(store, bus, now);
  const joinRequests = new JoinRequestsService(store, bus, rooms, now);
  const blobs = createBlobStore(config);
  const attachments = new AttachmentsService(
    store,
    blobs,
    new UrlSigner(jwtSecretFor(config, logger)),
    {
      maxFileSize: config.maxFileSize,
      uploadUrlTtlSec: config.uploadUrlTtl,
      fileUrlTtlSec: config.fileUrlTtl,
      maxPendingUploads: config.maxPendingUploads,
    },
    logger,
    now,
  );
  messages.purgeFiles = () => attachments.purgeDeleted();
  const retention = new RetentionService(store, { files: attachments });
  const announcements = new AnnouncementsService(users, rooms, messages, bus);
  const polls = new PollsService(store, bus, messages, now);
  const clientErrors = new ClientErrorsService(
    new ClientErrorsRepository(store.db),
    users,
    backends.limiter('client-errors', { points: config.clientErrorRateLimit, duration: 60 }),
    { onCleanupError: (err) => logger.warn({ err }, 'client error cleanup failed') },
    now,
  );

  const webhooks = createWebhooks({ config, store, queue: backends.queue, users, metrics, logger, now });
  eventsCommitted = () => {
    if (webhooks.outbox.active()) webhooks.outbox.nudge();
  };
  const bridges = createBridges({
    config,
    store,
    bus,
    queue: backends.queue,
    rooms,
    messages,
    users,
    metrics,
    messageApiLimiter: backends.limiter('message-api', { points: config.messageApiRateLimit, duration: 1 }),
    checkCallbackUrl: (url) => webhooks.checkUrl(url),
    postCallback: (url, headers, body, signal) => webhooks.postChecked(url, headers, body, signal),
    logger,
    now,
  });
  newMessagesCommitted = () => bridges.outbox.nudge();

  const ai = new AssistantService(
    {
      store,
      bus,
      queue: backends.queue,
      messages,
      rooms,
      users,
      metrics,
      repo: aiParts.repo,
      usage: aiParts.usage,
      chain: aiParts.chain,
      limits: {
        user: backends.limiter('ai-user', { points: config.aiUserRateLimit, duration: 60 }),
        room: backends.limiter('ai-room', { points: config.aiRoomRateLimit, duration: 60 }),
        notice: backends.limiter('ai-notice', { points: 1, duration: 60 }),
      },
      logger,
      now,
      contextFloor: (roomId) => bridges.contextFloor(roomId),
    },
    {
      botUsername: config.aiBotUsername,
      botName: config.aiBotName,
      systemPrompt: config.aiSystemPrompt,
      contextTokens: config.aiContextTokens,
      queueMax: config.aiQueueMax,
      workerConcurrency: config.aiWorkerConcurrency,
      jobAttempts: config.aiJobAttempts,
      retryBackoffMs: config.aiRetryBackoffMs,
      responseTimeoutMs: config.aiResponseTimeout,
      streamIntervalMs: config.aiStreamIntervalMs,
      maxMessageLength: config.maxMessageLength,
    },
  );
  await ai.start();
  await bridges.start();
  await webhooks.start();
  const agents = createAgents({
    config,
    store,
    bus,
    queue: backends.queue,
    messages,
    attachments,
    blobs,
    logger,
    // Agent commands start from this process's environment, less Switchboard's own secrets.
    env: process.env,
    now,
  });

  const hub = new Hub({ bus, roomHeads: (userId) => store.repos.rooms.roomHeads(userId) });
  const realtime = new Realtime(
    hub,
    { attachments, messages, rooms, receipts, typing, presence, clientErrors, polls, agents: agents.service },
    // After a reconnect wave every member of a room asks for the same missed events: read them once.
    new SharedLogReader(store.repos.events, { ttlMs: 2000, maxEvents: 50_000 }),
    logger,
    {
      replayPerRoom: config.replayPerRoom,
      replayTotal: config.replayTotal,
      maxBufferedBytes: config.wsMaxBufferedBytes,
      autoStartMs: config.resumeWaitMs,
      frameRate: config.wsFrameRate,
      maxFrameBytes: config.wsMaxFrameBytes,
      heartbeatMs: config.wsHeartbeatInterval,
    },
  );
  const http = await buildHttpServer(
    {
      config,
      attachments,
      store,
      metrics,
      auth,
      users,
      rooms,
      messages,
      polls,
      receipts,
      presence,
      realtime,
      authLimiter,
      apiLimiter,
      announcements,
      clientErrors,
      moderation,
      joinRequests,
      ai,
      agents: agents.service,
      sites: agents.sites,
      bridges,
      webhooks,
    },
    logger,
  );
  const gateway = new WebSocketGateway(http.server, realtime, auth, logger, {
    paths: ['/ws', '/chat'],
    allowedOrigins: config.corsOrigins,
    heartbeatMs: config.wsHeartbeatInterval,
    idleTimeoutMs: config.websocketIdleTimeout * 1000,
    authTimeoutMs: 10_000,
    hardMaxFrameBytes: config.wsMaxFrameBytes * 4,
  });

  // Every node may run it: the deletes are idempotent.
  let retentionRunning = false;
  const retentionTimer =
    config.retentionIntervalMs > 0
      ? setInterval(() => {
          if (retentionRunning) return;
          retentionRunning = true;
          retention
            .run(now())
            .then((r) => {
              if (r.messages > 0 || r.events > 0 || r.files > 0) logger.info(r, 'message retention applied');
            })
            .catch((err) => logger.warn({ err }, 'message retention failed'))
            .finally(() => {
              retentionRunning = false;
            });
        }, config.retentionIntervalMs)
      : undefined;
  retentionTimer?.unref();
  // `serve` runs agent jobs too unless AGENT_WORKER_CONCURRENCY=0 (or the agent is off).
  await agents.start();

  let closed = false;
  return {
    config,
    logger,
    store,
    bus,
    queue: backends.queue,
    metrics,
    auth,
    users,
    rooms,
    messages,
    receipts,
    presence,
    realtime,
    moderation,
    retention,
    attachments,
    ai,
    agents,
    bridges,
    webhooks,
    http,
    async listen() {
      await http.listen({ port: config.port, host: config.host, backlog: config.listenBacklog });
      const addr = http.server.address();
      return typeof addr === 'object' && addr ? addr.port : config.port;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (retentionTimer) clearInterval(retentionTimer);
      await gateway.close();
      // Requests in flight get a grace period; then keep-alive sockets (a finished download whose
      // client keeps the connection, say) are cut so shutdown never waits for keepAliveTimeout.
      const cut = setTimeout(() => http.server.closeAllConnections(), 5000);
      await http.close();
      clearTimeout(cut);
      hub.close();
      typing.close();
      presence.close();
      await agents.close();
      await webhooks.close();
      await bridges.close();
      await ai.close();
      await messages.close();
      await backends.close();
      await blobs.close();
      await store.close();
    },
  };
}

/** JWT_SECRET, or a secret generated once and kept in the data directory so tokens survive restarts. */
export function jwtSecretFor(config: Config, logger?: Logger): string {
  if (config.jwtSecret) return config.jwtSecret;
  const file = join(config.dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(config.dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  logger?.info({ file }, 'generated a JWT secret; set JWT_SECRET to share one across nodes');
  return secret;
}
