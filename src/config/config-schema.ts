/**
 * The single declaration of every setting: its environment variable, type, default and meaning.
 * `loadConfig` validates against it and `docs/configuration.md` documents it (a test keeps them in step).
 */
export type SettingType = 'string' | 'int' | 'bool' | 'url' | 'enum' | 'list';

export interface SettingSpec {
  env: string;
  type: SettingType;
  default?: string | number | boolean | string[];
  description: string;
  /** For `enum`. */
  values?: readonly string[];
  /** For `int`: inclusive bounds. */
  min?: number;
  max?: number;
  /** Never printed or logged. */
  secret?: boolean;
}

export const SETTINGS = {
  port: {
    env: 'PORT',
    type: 'int',
    default: 8080,
    min: 0,
    max: 65535,
    description: 'TCP port to listen on.',
  },
  host: { env: 'HOST', type: 'string', default: '0.0.0.0', description: 'Interface to bind.' },
  logLevel: {
    env: 'LOG_LEVEL',
    type: 'enum',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    description: 'pino log level.',
  },
  dataDir: {
    env: 'DATA_DIR',
    type: 'string',
    default: './data',
    description: 'Directory for the SQLite file and the generated JWT secret (embedded default).',
  },
  databaseUrl: {
    env: 'DATABASE_URL',
    type: 'string',
    description:
      'Store. Unset: SQLite file `<DATA_DIR>/switchboard.db`. `sqlite:<path>` for another file, `postgres://...` for PostgreSQL.',
    secret: true,
  },
  databaseSchema: {
    env: 'DATABASE_SCHEMA',
    type: 'string',
    description:
      'PostgreSQL schema to keep the tables in (created if missing). Unset: the connection default (`public`).',
  },
  redisUrl: {
    env: 'REDIS_URL',
    type: 'string',
    secret: true,
    description:
      'Redis for scale-out: cross-node fan-out, presence and rate limits move to Redis (and the job queue, unless QUEUE says otherwise). Unset: all in process.',
  },
  redisPrefix: {
    env: 'REDIS_PREFIX',
    type: 'string',
    default: 'sb',
    description: 'Prefix of every Redis key and channel, so several clusters can share one Redis.',
  },
  queue: {
    env: 'QUEUE',
    type: 'enum',
    values: ['store', 'bullmq'],
    description:
      'Job queue backend: `store` (a table in the database) or `bullmq` (Redis). Unset: `bullmq` when REDIS_URL is set, else `store`.',
  },
  databasePoolSize: {
    env: 'DATABASE_POOL_SIZE',
    type: 'int',
    default: 10,
    min: 1,
    max: 200,
    description: 'PostgreSQL connection pool size per node.',
  },
  jwtSecret: {
    env: 'JWT_SECRET',
    type: 'string',
    secret: true,
    description:
      'HS256 secret for access tokens (at least 32 characters). Unset: generated once and kept in `<DATA_DIR>/jwt-secret`. Set it on every node of a cluster.',
  },
  accessTokenTtl: {
    env: 'ACCESS_TOKEN_TTL',
    type: 'int',
    default: 900,
    min: 30,
    max: 86_400,
    description: 'Access token lifetime in seconds.',
  },
  refreshTokenTtl: {
    env: 'REFRESH_TOKEN_TTL',
    type: 'int',
    default: 2_592_000,
    min: 300,
    max: 31_536_000,
    description: 'Refresh token lifetime in seconds (30 days by default).',
  },
  allowRegistration: {
    env: 'ALLOW_REGISTRATION',
    type: 'bool',
    default: true,
    description: 'Allow anyone to create an account with `POST /v1/auth/register`.',
  },
  externalIssuer: {
    env: 'AUTH_EXTERNAL_ISSUER',
    type: 'string',
    description: 'Accept JWTs from this issuer (`iss`), creating users on first sight.',
  },
  externalAudience: {
    env: 'AUTH_EXTERNAL_AUDIENCE',
    type: 'string',
    description: 'Required `aud` of external JWTs (required when AUTH_EXTERNAL_ISSUER is set).',
  },
  externalJwksUrl: {
    env: 'AUTH_EXTERNAL_JWKS_URL',
    type: 'url',
    description: 'JWKS URL that verifies external JWTs (RS/ES/EdDSA). One of this or AUTH_EXTERNAL_SECRET.',
  },
  externalSecret: {
    env: 'AUTH_EXTERNAL_SECRET',
    type: 'string',
    secret: true,
    description: 'HS256/384/512 shared secret that verifies external JWTs.',
  },
  externalUsernameClaim: {
    env: 'AUTH_EXTERNAL_USERNAME_CLAIM',
    type: 'string',
    default: 'preferred_username',
    description:
      'Claim that holds the username of an external user (falls back to `cognito:username`, `email`, then `sub`).',
  },
  maxMessageLength: {
    env: 'MAX_MESSAGE_LENGTH',
    type: 'int',
    default: 5000,
    min: 1,
    max: 100_000,
    description: 'Maximum message length in characters.',
  },
  maxFileSize: {
    env: 'MAX_FILE_SIZE',
    type: 'int',
    default: 10_485_760,
    min: 1,
    description: 'Maximum attachment size in bytes (10 MiB); rooms may set a lower limit.',
  },
  fileStorage: {
    env: 'FILE_STORAGE',
    type: 'enum',
    values: ['local', 's3'],
    default: 'local',
    description: 'Where attachment files live: `local` (FILES_DIR) or `s3` (an S3-compatible bucket, S3_*).',
  },
  filesDir: {
    env: 'FILES_DIR',
    type: 'string',
    description: 'Directory for attachment files with FILE_STORAGE=local. Unset: `<DATA_DIR>/files`.',
  },
  s3Bucket: { env: 'S3_BUCKET', type: 'string', description: 'Bucket for FILE_STORAGE=s3 (required then).' },
  s3Region: { env: 'S3_REGION', type: 'string', default: 'us-east-1', description: 'S3 region.' },
  s3Endpoint: {
    env: 'S3_ENDPOINT',
    type: 'url',
    description: 'S3-compatible endpoint (MinIO, R2, Ceph, ...). Unset: AWS.',
  },
  s3PublicEndpoint: {
    env: 'S3_PUBLIC_ENDPOINT',
    type: 'url',
    description:
      'Endpoint clients reach for presigned upload/download URLs, when it differs from S3_ENDPOINT (e.g. behind a proxy).',
  },
  s3ForcePathStyle: {
    env: 'S3_FORCE_PATH_STYLE',
    type: 'bool',
    default: false,
    description: 'Path-style bucket URLs (most self-hosted S3-compatible servers need this).',
  },
  s3AccessKeyId: {
    env: 'S3_ACCESS_KEY_ID',
    type: 'string',
    secret: true,
    description: 'S3 access key. Unset: the AWS SDK default chain (env, instance role).',
  },
  s3SecretAccessKey: {
    env: 'S3_SECRET_ACCESS_KEY',
    type: 'string',
    secret: true,
    description: 'S3 secret key.',
  },
  fileUrlTtl: {
    env: 'FILE_URL_TTL',
    type: 'int',
    default: 300,
    min: 10,
    max: 604_800,
    description: 'Seconds a signed attachment download URL stays valid.',
  },
  uploadUrlTtl: {
    env: 'UPLOAD_URL_TTL',
    type: 'int',
    default: 900,
    min: 10,
    max: 86_400,
    description: 'Seconds a signed upload URL stays valid; uploads never completed are deleted after a day.',
  },
  maxPendingUploads: {
    env: 'MAX_PENDING_UPLOADS',
    type: 'int',
    default: 20,
    min: 1,
    max: 10_000,
    description: 'Attachments a user may have uploaded or be uploading that no message uses yet.',
  },
  maxBodySize: {
    env: 'MAX_BODY_SIZE',
    type: 'int',
    default: 262_144,
    min: 1024,
    max: 104_857_600,
    description: 'Maximum JSON request body in bytes.',
  },
  typingTimeout: {
    env: 'TYPING_TIMEOUT',
    type: 'int',
    default: 3000,
    min: 500,
    max: 60_000,
    description: 'Milliseconds after which a typing indicator expires.',
  },
  messageRetentionDays: {
    env: 'MESSAGE_RETENTION_DAYS',
    type: 'int',
    default: 0,
    min: 0,
    description: 'Default message retention in days for new rooms; 0 keeps messages forever.',
  },
  retentionIntervalMs: {
    env: 'RETENTION_INTERVAL_MS',
    type: 'int',
    default: 3_600_000,
    min: 0,
    description:
      "Milliseconds between runs of the job that deletes messages older than their room's `settings.messageRetention`; 0 turns the job off.",
  },
  presenceTtl: {
    env: 'PRESENCE_TTL',
    type: 'int',
    default: 300,
    min: 5,
    description:
      'Seconds without a heartbeat after which a connection counts as gone (Redis presence store; the in-memory store sees connections close directly).',
  },
  websocketIdleTimeout: {
    env: 'WEBSOCKET_IDLE_TIMEOUT',
    type: 'int',
    default: 600,
    min: 10,
    description:
      'Seconds without any frame from the client (pongs do not count) after which a WebSocket is closed (4000).',
  },
  wsMaxFrameBytes: {
    env: 'WS_MAX_FRAME_BYTES',
    type: 'int',
    default: 65_536,
    min: 1024,
    max: 16_777_216,
    description:
      'Largest client WebSocket frame in bytes; larger frames get a PAYLOAD_TOO_LARGE error (four times this closes the socket with 1009).',
  },
  wsFrameRate: {
    env: 'WS_FRAME_RATE',
    type: 'int',
    default: 100,
    min: 1,
    description: 'Frames per second one connection may send before getting RATE_LIMITED errors.',
  },
  wsMaxBufferedBytes: {
    env: 'WS_MAX_BUFFERED_BYTES',
    type: 'int',
    default: 4_194_304,
    min: 65_536,
    description:
      'Outbound bytes queued for one connection after which it is closed as a slow consumer (4008).',
  },
  listenBacklog: {
    env: 'LISTEN_BACKLOG',
    type: 'int',
    default: 4096,
    min: 1,
    max: 65_535,
    description:
      "Connections the kernel holds for the server before it accepts them (the listen backlog; capped by net.core.somaxconn). Node's 511 overflows when thousands of clients reconnect at once, and each dropped connect waits 1-7 s for the kernel to retry.",
  },
  wsHeartbeatInterval: {
    env: 'WS_HEARTBEAT_INTERVAL',
    type: 'int',
    default: 25_000,
    min: 1000,
    description:
      'Milliseconds between server pings; a connection that misses a pong by the next ping is dropped.',
  },
  resumeWaitMs: {
    env: 'RESUME_WAIT_MS',
    type: 'int',
    default: 1000,
    min: 0,
    max: 60_000,
    description:
      'Milliseconds a new connection waits for a `resume` frame before going live from the current heads.',
  },
  replayPerRoom: {
    env: 'REPLAY_PER_ROOM',
    type: 'int',
    default: 1000,
    min: 1,
    description:
      'Most missed events replayed per room on resume or gap repair; further behind, the client pages via REST.',
  },
  replayTotal: {
    env: 'REPLAY_TOTAL',
    type: 'int',
    default: 10_000,
    min: 1,
    description: 'Most events one resume replays across all rooms.',
  },
  presenceFanoutMaxMembers: {
    env: 'PRESENCE_FANOUT_MAX_MEMBERS',
    type: 'int',
    default: 100,
    min: 2,
    description:
      'Presence and receipts are pushed live in rooms up to this size (and DMs); larger rooms query them.',
  },
  presenceOfflineGraceMs: {
    env: 'PRESENCE_OFFLINE_GRACE_MS',
    type: 'int',
    default: 5000,
    min: 0,
    description:
      'Milliseconds after the last connection closes before `offline` is announced (quick reconnects stay online).',
  },
  sendRateLimit: {
    env: 'SEND_RATE_LIMIT',
    type: 'int',
    default: 20,
    min: 1,
    description: 'Messages a user may send per second (burst allowance equal to the rate).',
  },
  apiRateLimit: {
    env: 'API_RATE_LIMIT',
    type: 'int',
    default: 100,
    min: 1,
    description:
      'Authenticated REST requests per second per user (all endpoints together); over it: 429 RATE_LIMITED.',
  },
  authRateLimit: {
    env: 'AUTH_RATE_LIMIT',
    type: 'int',
    default: 10,
    min: 1,
    description: 'Register, login and refresh requests per minute per client address.',
  },
  clientErrorRateLimit: {
    env: 'CLIENT_ERROR_RATE_LIMIT',
    type: 'int',
    default: 10,
    min: 1,
    description: 'Client error reports (REST and `error_log` frames together) per user per minute.',
  },
  groupCommitMaxBatch: {
    env: 'GROUP_COMMIT_MAX_BATCH',
    type: 'int',
    default: 256,
    min: 1,
    max: 10_000,
    description: 'Most sends committed in one transaction.',
  },
  groupCommitMaxWaitMs: {
    env: 'GROUP_COMMIT_MAX_WAIT_MS',
    type: 'int',
    default: 2,
    min: 0,
    max: 100,
    description: 'Longest a send waits (ms) for others to share its transaction.',
  },
  corsOrigins: {
    env: 'CORS_ORIGINS',
    type: 'list',
    default: [],
    description:
      'Comma-separated browser origins allowed to call the API and open WebSockets; empty allows same-origin only.',
  },
  metricsToken: {
    env: 'METRICS_TOKEN',
    type: 'string',
    secret: true,
    description:
      'When set, `/metrics` requires `Authorization: Bearer <this token>`. Unset: `/metrics` is open (keep it off the public network).',
  },
  trustProxy: {
    env: 'TRUST_PROXY',
    type: 'bool',
    default: false,
    description: 'Trust `X-Forwarded-*` headers (behind a load balancer).',
  },
  aiProviders: {
    env: 'AI_PROVIDERS',
    type: 'list',
    default: [],
    description:
      'AI assistant providers in fallback order, from `anthropic`, `openai`, `google`, `openai-compatible`. Empty: the assistant answers that AI is not configured.',
  },
  aiResponseTimeout: {
    env: 'AI_RESPONSE_TIMEOUT',
    type: 'int',
    default: 60_000,
    min: 100,
    max: 600_000,
    description: 'Milliseconds one provider may take to finish an answer; then the next provider is asked.',
  },
  aiMaxOutputTokens: {
    env: 'AI_MAX_OUTPUT_TOKENS',
    type: 'int',
    default: 1024,
    min: 16,
    max: 65_536,
    description: 'Most tokens an answer may have.',
  },
  aiContextTokens: {
    env: 'AI_CONTEXT_TOKENS',
    type: 'int',
    default: 4000,
    min: 200,
    max: 1_000_000,
    description:
      'Token budget of the context sent with a question (room or thread messages, session), counted as characters / 4.',
  },
  aiQueueMax: {
    env: 'AI_QUEUE_MAX',
    type: 'int',
    default: 100,
    min: 0,
    description: 'AI jobs that may wait in the queue; a trigger beyond that gets a "busy, try later" answer.',
  },
  aiWorkerConcurrency: {
    env: 'AI_WORKER_CONCURRENCY',
    type: 'int',
    default: 4,
    min: 0,
    max: 1000,
    description: 'AI answers this node works on at once; 0: this node runs no AI jobs.',
  },
  aiJobAttempts: {
    env: 'AI_JOB_ATTEMPTS',
    type: 'int',
    default: 2,
    min: 1,
    max: 10,
    description: 'Runs of an AI job (all providers failing fails a run) before it answers with an error.',
  },
  aiRetryBackoffMs: {
    env: 'AI_RETRY_BACKOFF_MS',
    type: 'int',
    default: 2000,
    min: 0,
    description:
      'Milliseconds before the first retry of a failed AI job; each later retry waits twice as long.',
  },
  aiUserRateLimit: {
    env: 'AI_USER_RATE_LIMIT',
    type: 'int',
    default: 10,
    min: 1,
    description: 'AI requests (triggers and /ask) a user may make per minute.',
  },
  aiRoomRateLimit: {
    env: 'AI_ROOM_RATE_LIMIT',
    type: 'int',
    default: 30,
    min: 1,
    description: 'AI requests one room may make per minute.',
  },
  aiStreamIntervalMs: {
    env: 'AI_STREAM_INTERVAL_MS',
    type: 'int',
    default: 100,
    min: 10,
    max: 10_000,
    description:
      'Shortest gap in ms between two `ai_stream` frames of one answer (deltas in between are batched).',
  },
  aiModerationTimeout: {
    env: 'AI_MODERATION_TIMEOUT',
    type: 'int',
    default: 5000,
    min: 100,
    max: 600_000,
    description:
      'Milliseconds one provider may take to classify a message of a `strict` room; on failure the local filter decides.',
  },
  aiBotUsername: {
    env: 'AI_BOT_USERNAME',
    type: 'string',
    default: 'ai',
    description: 'Username of the assistant bot user (mention it as `@<name>`; `@assistant` works too).',
  },
  aiBotName: {
    env: 'AI_BOT_NAME',
    type: 'string',
    default: 'AI Assistant',
    description: 'Display name of the assistant bot user.',
  },
  aiSystemPrompt: {
    env: 'AI_SYSTEM_PROMPT',
    type: 'string',
    description: 'Extra instructions appended to the built-in system prompt of every answer.',
  },
  anthropicApiKey: {
    env: 'ANTHROPIC_API_KEY',
    type: 'string',
    secret: true,
    description: 'Anthropic API key.',
  },
  anthropicBaseUrl: {
    env: 'ANTHROPIC_BASE_URL',
    type: 'url',
    description: 'Anthropic API base URL including `/v1`. Unset: `https://api.anthropic.com/v1`.',
  },
  anthropicModel: {
    env: 'ANTHROPIC_MODEL',
    type: 'string',
    description: 'Anthropic model. Unset: `claude-sonnet-4-5`.',
  },
  openaiApiKey: { env: 'OPENAI_API_KEY', type: 'string', secret: true, description: 'OpenAI API key.' },
  openaiBaseUrl: {
    env: 'OPENAI_BASE_URL',
    type: 'url',
    description: 'OpenAI API base URL including `/v1` (Responses API). Unset: `https://api.openai.com/v1`.',
  },
  openaiModel: { env: 'OPENAI_MODEL', type: 'string', description: 'OpenAI model. Unset: `gpt-4o-mini`.' },
  googleApiKey: { env: 'GOOGLE_API_KEY', type: 'string', secret: true, description: 'Gemini API key.' },
  googleBaseUrl: {
    env: 'GOOGLE_BASE_URL',
    type: 'url',
    description: 'Gemini API base URL. Unset: `https://generativelanguage.googleapis.com/v1beta`.',
  },
  googleModel: {
    env: 'GOOGLE_MODEL',
    type: 'string',
    description: 'Gemini model. Unset: `gemini-2.5-flash`.',
  },
  openaiCompatibleBaseUrl: {
    env: 'OPENAI_COMPATIBLE_BASE_URL',
    type: 'url',
    description:
      'Base URL of an OpenAI-compatible server (Chat Completions), e.g. Ollama `http://127.0.0.1:11434/v1`, vLLM, llama.cpp.',
  },
  openaiCompatibleModel: {
    env: 'OPENAI_COMPATIBLE_MODEL',
    type: 'string',
    description: 'Model name on the OpenAI-compatible server (required with it).',
  },
  openaiCompatibleApiKey: {
    env: 'OPENAI_COMPATIBLE_API_KEY',
    type: 'string',
    secret: true,
    description: 'Bearer key for the OpenAI-compatible server, if it wants one.',
  },
  jobLeaseMs: {
    env: 'JOB_LEASE_MS',
    type: 'int',
    default: 30_000,
    min: 500,
    max: 3_600_000,
    description:
      'Lease of a running background job in ms, renewed while it runs; the job of a worker that died is taken over by another once its lease is over.',
  },
  agentEnabled: {
    env: 'AGENT_ENABLED',
    type: 'bool',
    default: false,
    description:
      'Turn on the agent worker: `/agent`, `/report`, `report_request` frames and `POST /v1/agent/jobs` start jobs that run AGENT_COMMAND on a git checkout. Off: they are refused with AGENT_DISABLED.',
  },
  agentWorkspaceDir: {
    env: 'AGENT_WORKSPACE_DIR',
    type: 'string',
    description: 'Directory of the per project+user git workspaces. Unset: `<DATA_DIR>/agent-workspaces`.',
  },
  agentCommand: {
    env: 'AGENT_COMMAND',
    type: 'string',
    default: 'claude -p {instruction} --output-format stream-json --verbose --permission-mode acceptEdits',
    description:
      'Agent command template, split into arguments like a shell would but never run through one; `{instruction}`, `{jobId}`, `{threadId}`, `{projectId}`, `{userId}`, `{branch}`, `{kind}`, `{workspace}`, `{reportDir}` are replaced inside each argument.',
  },
  agentBuildCommand: {
    env: 'AGENT_BUILD_COMMAND',
    type: 'string',
    description:
      'Build command template run after the agent for site jobs (e.g. `npm run build`); its AGENT_OUTPUT_DIR is published. Unset: no build; AGENT_OUTPUT_DIR is published if the repository has it.',
  },
  agentOutputDir: {
    env: 'AGENT_OUTPUT_DIR',
    type: 'string',
    default: 'dist',
    description: 'Directory of the repository that is published as the site, after the build.',
  },
  agentReportDir: {
    env: 'AGENT_REPORT_DIR',
    type: 'string',
    default: 'reports',
    description:
      'Directory of the repository where report jobs leave the files that are attached to the result.',
  },
  agentJobTimeout: {
    env: 'AGENT_JOB_TIMEOUT',
    type: 'int',
    default: 900_000,
    min: 1000,
    max: 86_400_000,
    description: 'Milliseconds one job may take, clone to push; then its processes are stopped and it fails.',
  },
  agentKillGraceMs: {
    env: 'AGENT_KILL_GRACE_MS',
    type: 'int',
    default: 5000,
    min: 0,
    max: 600_000,
    description: 'Milliseconds between SIGTERM and SIGKILL when a running agent is stopped.',
  },
  agentMaxOutputBytes: {
    env: 'AGENT_MAX_OUTPUT_BYTES',
    type: 'int',
    default: 1_048_576,
    min: 1024,
    description:
      'Bytes of one command’s output that are streamed as progress; the rest is dropped (the job goes on).',
  },
  agentMaxPublishBytes: {
    env: 'AGENT_MAX_PUBLISH_BYTES',
    type: 'int',
    default: 104_857_600,
    min: 1024,
    description: 'Largest site (all files together, bytes) a job may publish.',
  },
  agentRepoAllowlist: {
    env: 'AGENT_REPO_ALLOWLIST',
    type: 'list',
    default: [],
    description:
      'Repository URL prefixes jobs may name (e.g. `https://github.com/acme/`). Empty: any `https://` or SSH URL; local paths and `file://` only when listed.',
  },
  agentGitToken: {
    env: 'AGENT_GIT_TOKEN',
    type: 'string',
    secret: true,
    description:
      'Token for cloning and pushing over HTTPS, handed to git through an askpass script (never in a URL, a file or a log; the agent does not see it).',
  },
  agentGitUsername: {
    env: 'AGENT_GIT_USERNAME',
    type: 'string',
    default: 'x-access-token',
    description: 'Username sent with AGENT_GIT_TOKEN.',
  },
  agentGitAuthorName: {
    env: 'AGENT_GIT_AUTHOR_NAME',
    type: 'string',
    default: 'Switchboard Agent',
    description: 'Author and committer name of the agent’s commits.',
  },
  agentGitAuthorEmail: {
    env: 'AGENT_GIT_AUTHOR_EMAIL',
    type: 'string',
    default: 'agent@switchboard.invalid',
    description: 'Author and committer email of the agent’s commits.',
  },
  agentEnvPassthrough: {
    env: 'AGENT_ENV_PASSTHROUGH',
    type: 'list',
    default: [],
    description:
      'Environment variables passed to the agent although they are Switchboard settings or look like secrets (e.g. `ANTHROPIC_API_KEY`).',
  },
  agentWorkerConcurrency: {
    env: 'AGENT_WORKER_CONCURRENCY',
    type: 'int',
    default: 1,
    min: 0,
    max: 64,
    description:
      'Agent jobs this process runs at once (`serve` and `worker`); 0: this process runs none (set it on `serve` nodes when dedicated workers run them).',
  },
  agentProgressIntervalMs: {
    env: 'AGENT_PROGRESS_INTERVAL_MS',
    type: 'int',
    default: 500,
    min: 10,
    max: 60_000,
    description:
      'Shortest gap in ms between two `agent_progress` frames of one job (output lines in between are batched).',
  },
  agentQueueMax: {
    env: 'AGENT_QUEUE_MAX',
    type: 'int',
    default: 100,
    min: 0,
    description: 'Agent jobs that may wait in the queue; beyond that new ones are refused with AGENT_BUSY.',
  },
  agentBotUsername: {
    env: 'AGENT_BOT_USERNAME',
    type: 'string',
    default: 'agent',
    description: 'Username of the bot user that posts agent results.',
  },
  agentBotName: {
    env: 'AGENT_BOT_NAME',
    type: 'string',
    default: 'Agent',
    description: 'Display name of the agent bot user.',
  },
  agentSiteUrl: {
    env: 'AGENT_SITE_URL',
    type: 'string',
    default: '/sites/{projectId}/',
    description:
      'URL reported for a published site; `{projectId}` is replaced. Set it to an absolute URL when a CDN or another host serves `/sites/`.',
  },
  bridgeBotUsername: {
    env: 'BRIDGE_BOT_USERNAME',
    type: 'string',
    default: 'bridge',
    description: 'Username of the bot user that owns bridged rooms (see docs/bridges.md).',
  },
  bridgeBotName: {
    env: 'BRIDGE_BOT_NAME',
    type: 'string',
    default: 'Bridge',
    description: 'Display name of the bridge bot user.',
  },
  bridgeAiReplies: {
    env: 'BRIDGE_AI_REPLIES',
    type: 'enum',
    values: ['all', 'mentions', 'off'],
    default: 'all',
    description:
      'The AI assistant in rooms the bridges create: `all` answers every platform message (enableAI + aiAutoReply), `mentions` only mentions and commands (enableAI), `off` not at all. Rooms keep their setting; change it per room with PATCH /v1/chat/rooms/:id.',
  },
  bridgeWorkerConcurrency: {
    env: 'BRIDGE_WORKER_CONCURRENCY',
    type: 'int',
    default: 4,
    min: 0,
    description: 'Messages this node sends out to platforms at once; 0 sends none here (another node does).',
  },
  bridgeOutboundAttempts: {
    env: 'BRIDGE_OUTBOUND_ATTEMPTS',
    type: 'int',
    default: 6,
    min: 1,
    max: 50,
    description: 'Tries per message sent to a platform (the first included) before it is marked failed.',
  },
  bridgeOutboundBackoffMs: {
    env: 'BRIDGE_OUTBOUND_BACKOFF_MS',
    type: 'int',
    default: 2000,
    min: 0,
    description:
      'Milliseconds before the first retry of a platform send; each later retry waits twice as long.',
  },
  bridgeRelayIntervalMs: {
    env: 'BRIDGE_RELAY_INTERVAL_MS',
    type: 'int',
    default: 2000,
    min: 0,
    description:
      'Milliseconds between passes that hand committed outgoing messages to the job queue (a node nudges it at once after its own commits; the pass catches the rest). 0: nudges only.',
  },
  webhookAllowPrivate: {
    env: 'WEBHOOK_ALLOW_PRIVATE',
    type: 'bool',
    default: false,
    description:
      'Let outgoing webhooks and API-key callbacks reach loopback, private, link-local and other non-public addresses (the SSRF guard, docs/webhooks.md). Only for all-internal installs and tests.',
  },
  webhookAllowedHosts: {
    env: 'WEBHOOK_ALLOWED_HOSTS',
    type: 'list',
    default: [],
    description:
      'Comma-separated hosts that webhooks and API-key callbacks may reach even when they are private: exact names or IP addresses, or `*.example.internal` for every subdomain.',
  },
  webhookMaxAttempts: {
    env: 'WEBHOOK_MAX_ATTEMPTS',
    type: 'int',
    default: 8,
    min: 1,
    max: 50,
    description: 'Tries per webhook delivery (the first included) before it is marked failed.',
  },
  webhookBackoffMs: {
    env: 'WEBHOOK_BACKOFF_MS',
    type: 'int',
    default: 10_000,
    min: 0,
    description:
      'Milliseconds before the first retry of a webhook delivery; each later retry waits twice as long (8 attempts: about 21 minutes in all).',
  },
  webhookTimeoutMs: {
    env: 'WEBHOOK_TIMEOUT_MS',
    type: 'int',
    default: 10_000,
    min: 100,
    max: 120_000,
    description: 'Milliseconds a receiver has to answer one webhook request; a timeout is retried.',
  },
  webhookMaxPerRoom: {
    env: 'WEBHOOK_MAX_PER_ROOM',
    type: 'int',
    default: 10,
    min: 0,
    description: 'Most webhooks a room may have.',
  },
  webhookMaxGlobal: {
    env: 'WEBHOOK_MAX_GLOBAL',
    type: 'int',
    default: 20,
    min: 0,
    description: 'Most global webhooks (those that receive every room).',
  },
  webhookWorkerConcurrency: {
    env: 'WEBHOOK_WORKER_CONCURRENCY',
    type: 'int',
    default: 4,
    min: 0,
    description: 'Webhook deliveries this node makes at once; 0 makes none here (another node does).',
  },
  webhookRelayIntervalMs: {
    env: 'WEBHOOK_RELAY_INTERVAL_MS',
    type: 'int',
    default: 2000,
    min: 0,
    description:
      'Milliseconds between passes that hand committed webhook deliveries to the job queue (a node nudges it at once after its own commits). 0: nudges only.',
  },
  webhookDisableAfterFailures: {
    env: 'WEBHOOK_DISABLE_AFTER_FAILURES',
    type: 'int',
    default: 20,
    min: 0,
    description:
      'A webhook whose deliveries failed for good this many times in a row is turned off (its admins turn it back on). 0: never.',
  },
  webhookDeliveryRetentionDays: {
    env: 'WEBHOOK_DELIVERY_RETENTION_DAYS',
    type: 'int',
    default: 14,
    min: 1,
    description:
      'Days finished webhook deliveries stay in the deliveries log (for redelivery and debugging).',
  },
  messageApiRateLimit: {
    env: 'MESSAGE_API_RATE_LIMIT',
    type: 'int',
    default: 50,
    min: 1,
    description: 'Requests per second per API key on POST /message and GET /message/:id.',
  },
  telegramBotToken: {
    env: 'TELEGRAM_BOT_TOKEN',
    type: 'string',
    secret: true,
    description:
      'Telegram bot token (from @BotFather): turns the Telegram bridge on. Needs TELEGRAM_WEBHOOK_SECRET.',
  },
  telegramWebhookSecret: {
    env: 'TELEGRAM_WEBHOOK_SECRET',
    type: 'string',
    secret: true,
    description:
      'The `secret_token` given to setWebhook; updates without it in X-Telegram-Bot-Api-Secret-Token are refused. 16-256 of A-Z a-z 0-9 _ -.',
  },
  telegramApiUrl: {
    env: 'TELEGRAM_API_URL',
    type: 'url',
    default: 'https://api.telegram.org',
    description: 'Bot API base URL (a local Bot API server, or a test double).',
  },
  slackSigningSecret: {
    env: 'SLACK_SIGNING_SECRET',
    type: 'string',
    secret: true,
    description:
      'Slack app signing secret: requests to /v1/bridges/slack/events are verified with it. Needs SLACK_BOT_TOKEN.',
  },
  slackBotToken: {
    env: 'SLACK_BOT_TOKEN',
    type: 'string',
    secret: true,
    description: 'Slack bot token (`xoxb-...`, scopes chat:write and users:read) for replies and user names.',
  },
  slackApiUrl: {
    env: 'SLACK_API_URL',
    type: 'url',
    default: 'https://slack.com/api',
    description: 'Slack Web API base URL.',
  },
  discordPublicKey: {
    env: 'DISCORD_PUBLIC_KEY',
    type: 'string',
    description:
      'Discord application public key (64 hex characters): turns on /v1/bridges/discord/interactions (slash commands). Needs DISCORD_APPLICATION_ID.',
  },
  discordApplicationId: {
    env: 'DISCORD_APPLICATION_ID',
    type: 'string',
    description: 'Discord application id: answers to slash commands go through its interaction webhooks.',
  },
  discordBotToken: {
    env: 'DISCORD_BOT_TOKEN',
    type: 'string',
    secret: true,
    description: 'Discord bot token: channel messages out, and the gateway with DISCORD_GATEWAY.',
  },
  discordGateway: {
    env: 'DISCORD_GATEWAY',
    type: 'bool',
    default: false,
    description:
      'Connect to the Discord gateway and bring in every channel message the bot sees (needs the MESSAGE_CONTENT intent). Turn it on for one node only.',
  },
  discordApiUrl: {
    env: 'DISCORD_API_URL',
    type: 'url',
    default: 'https://discord.com/api/v10',
    description: 'Discord REST API base URL.',
  },
  discordGatewayUrl: {
    env: 'DISCORD_GATEWAY_URL',
    type: 'url',
    default: 'wss://gateway.discord.gg',
    description: 'Discord gateway URL (`?v=10&encoding=json` is added).',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;
