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
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;
