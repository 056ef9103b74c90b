import { readFileSync } from 'node:fs';
import { checkAgentConfig } from '../agents/agent-settings.js';
import { checkAiConfig } from '../ai/ai-settings.js';
import { checkBridgeConfig } from '../bridges/bridge-settings.js';
import { SETTINGS, type SettingKey, type SettingSpec } from './config-schema.js';

/** Validated settings; see `config-schema.ts` for units and defaults. */
export interface Config {
  port: number;
  host: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  dataDir: string;
  databaseUrl: string | undefined;
  databaseSchema: string | undefined;
  redisUrl: string | undefined;
  redisPrefix: string;
  queue: 'store' | 'bullmq' | undefined;
  databasePoolSize: number;
  jwtSecret: string | undefined;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  allowRegistration: boolean;
  externalIssuer: string | undefined;
  externalAudience: string | undefined;
  externalJwksUrl: string | undefined;
  externalSecret: string | undefined;
  externalUsernameClaim: string;
  maxMessageLength: number;
  maxFileSize: number;
  fileStorage: 'local' | 's3';
  filesDir: string | undefined;
  s3Bucket: string | undefined;
  s3Region: string;
  s3Endpoint: string | undefined;
  s3PublicEndpoint: string | undefined;
  s3ForcePathStyle: boolean;
  s3AccessKeyId: string | undefined;
  s3SecretAccessKey: string | undefined;
  fileUrlTtl: number;
  uploadUrlTtl: number;
  maxPendingUploads: number;
  maxBodySize: number;
  typingTimeout: number;
  messageRetentionDays: number;
  retentionIntervalMs: number;
  presenceTtl: number;
  websocketIdleTimeout: number;
  wsMaxFrameBytes: number;
  wsFrameRate: number;
  wsMaxBufferedBytes: number;
  listenBacklog: number;
  wsHeartbeatInterval: number;
  resumeWaitMs: number;
  replayPerRoom: number;
  replayTotal: number;
  presenceFanoutMaxMembers: number;
  presenceOfflineGraceMs: number;
  sendRateLimit: number;
  apiRateLimit: number;
  authRateLimit: number;
  clientErrorRateLimit: number;
  groupCommitMaxBatch: number;
  groupCommitMaxWaitMs: number;
  corsOrigins: string[];
  metricsToken: string | undefined;
  trustProxy: boolean;
  aiProviders: string[];
  aiResponseTimeout: number;
  aiMaxOutputTokens: number;
  aiContextTokens: number;
  aiQueueMax: number;
  aiWorkerConcurrency: number;
  aiJobAttempts: number;
  aiRetryBackoffMs: number;
  aiUserRateLimit: number;
  aiRoomRateLimit: number;
  aiStreamIntervalMs: number;
  aiModerationTimeout: number;
  aiBotUsername: string;
  aiBotName: string;
  aiSystemPrompt: string | undefined;
  anthropicApiKey: string | undefined;
  anthropicBaseUrl: string | undefined;
  anthropicModel: string | undefined;
  openaiApiKey: string | undefined;
  openaiBaseUrl: string | undefined;
  openaiModel: string | undefined;
  googleApiKey: string | undefined;
  googleBaseUrl: string | undefined;
  googleModel: string | undefined;
  openaiCompatibleBaseUrl: string | undefined;
  openaiCompatibleModel: string | undefined;
  openaiCompatibleApiKey: string | undefined;
  jobLeaseMs: number;
  agentEnabled: boolean;
  agentWorkspaceDir: string | undefined;
  agentCommand: string;
  agentBuildCommand: string | undefined;
  agentOutputDir: string;
  agentReportDir: string;
  agentJobTimeout: number;
  agentKillGraceMs: number;
  agentMaxOutputBytes: number;
  agentMaxPublishBytes: number;
  agentRepoAllowlist: string[];
  agentGitToken: string | undefined;
  agentGitUsername: string;
  agentGitAuthorName: string;
  agentGitAuthorEmail: string;
  agentEnvPassthrough: string[];
  agentWorkerConcurrency: number;
  agentProgressIntervalMs: number;
  agentQueueMax: number;
  agentBotUsername: string;
  agentBotName: string;
  agentSiteUrl: string;
  bridgeBotUsername: string;
  bridgeBotName: string;
  bridgeAiReplies: 'all' | 'mentions' | 'off';
  bridgeWorkerConcurrency: number;
  bridgeOutboundAttempts: number;
  bridgeOutboundBackoffMs: number;
  bridgeRelayIntervalMs: number;
  webhookAllowPrivate: boolean;
  webhookAllowedHosts: string[];
  webhookMaxAttempts: number;
  webhookBackoffMs: number;
  webhookTimeoutMs: number;
  webhookMaxPerRoom: number;
  webhookMaxGlobal: number;
  webhookWorkerConcurrency: number;
  webhookRelayIntervalMs: number;
  webhookDisableAfterFailures: number;
  webhookDeliveryRetentionDays: number;
  messageApiRateLimit: number;
  telegramBotToken: string | undefined;
  telegramWebhookSecret: string | undefined;
  telegramApiUrl: string;
  slackSigningSecret: string | undefined;
  slackBotToken: string | undefined;
  slackApiUrl: string;
  discordPublicKey: string | undefined;
  discordApplicationId: string | undefined;
  discordBotToken: string | undefined;
  discordGateway: boolean;
  discordApiUrl: string;
  discordGatewayUrl: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Raw = string | number | boolean | string[] | undefined;

function parseValue(spec: SettingSpec, raw: Raw, source: string, problems: string[]): unknown {
  if (raw === undefined || raw === '') return spec.default;
  switch (spec.type) {
    case 'string':
      return String(raw);
    case 'url': {
      try {
        return new URL(String(raw)).toString();
      } catch {
        problems.push(`${source}: "${raw}" is not a valid URL`);
        return undefined;
      }
    }
    case 'int': {
      const n = typeof raw === 'number' ? raw : /^-?\d+$/.test(String(raw).trim()) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(n)) {
        problems.push(`${source}: "${raw}" is not an integer`);
        return undefined;
      }
      if (spec.min !== undefined && n < spec.min)
        problems.push(`${source}: ${n} is below the minimum ${spec.min}`);
      if (spec.max !== undefined && n > spec.max)
        problems.push(`${source}: ${n} is above the maximum ${spec.max}`);
      return n;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      const s = String(raw).trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(s)) return true;
      if (['0', 'false', 'no', 'off'].includes(s)) return false;
      problems.push(`${source}: "${raw}" is not a boolean (use true or false)`);
      return undefined;
    }
    case 'enum': {
      const s = String(raw).trim();
      if (!spec.values?.includes(s)) {
        problems.push(`${source}: "${raw}" must be one of ${spec.values?.join(', ')}`);
        return undefined;
      }
      return s;
    }
    case 'list':
      return Array.isArray(raw)
        ? raw.map(String)
        : String(raw)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
  }
}

/**
 * Builds the config from environment variables, which override an optional JSON config file
 * (`SWITCHBOARD_CONFIG` or `configFile`) whose keys are the camelCase setting names.
 * Throws ConfigError listing every problem at once.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, configFile?: string): Config {
  const problems: string[] = [];
  const file = configFile ?? env.SWITCHBOARD_CONFIG;
  let fromFile: Record<string, Raw> = {};
  if (file) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        problems.push(`${file}: must hold a JSON object`);
      } else {
        fromFile = parsed as Record<string, Raw>;
        for (const key of Object.keys(fromFile)) {
          if (!(key in SETTINGS)) problems.push(`${file}: unknown setting "${key}"`);
        }
      }
    } catch (err) {
      problems.push(`${file}: cannot read config file (${(err as Error).message})`);
    }
  }

  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(SETTINGS) as [SettingKey, SettingSpec][]) {
    const envValue = env[spec.env];
    const source = envValue !== undefined && envValue !== '' ? spec.env : `${file}:${key}`;
    const raw = envValue !== undefined && envValue !== '' ? envValue : fromFile[key];
    out[key] = parseValue(spec, raw, source, problems);
  }
  const config = out as unknown as Config;
  checkCrossField(config, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function checkCrossField(c: Config, problems: string[]): void {
  if (c.jwtSecret !== undefined && c.jwtSecret.length < 32) {
    problems.push('JWT_SECRET: must be at least 32 characters');
  }
  if (c.databaseUrl && !/^(postgres(ql)?:\/\/|sqlite:)/.test(c.databaseUrl)) {
    problems.push('DATABASE_URL: must start with postgres://, postgresql:// or sqlite:');
  }
  if (c.databaseSchema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(c.databaseSchema)) {
    problems.push('DATABASE_SCHEMA: must be a lower-case identifier (a-z, 0-9, _)');
  }
  if (c.redisUrl && !/^rediss?:\/\//.test(c.redisUrl))
    problems.push('REDIS_URL: must start with redis:// or rediss://');
  if (c.queue === 'bullmq' && !c.redisUrl) problems.push('QUEUE: bullmq needs REDIS_URL');
  if (c.fileStorage === 's3' && !c.s3Bucket) problems.push('S3_BUCKET: required when FILE_STORAGE=s3');
  if ((c.s3AccessKeyId === undefined) !== (c.s3SecretAccessKey === undefined))
    problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY: set both or neither');
  if (!/^[A-Za-z0-9_.:-]{1,32}$/.test(c.redisPrefix))
    problems.push('REDIS_PREFIX: 1-32 of A-Z a-z 0-9 _ . : -');
  checkAiConfig(c, problems);
  checkAgentConfig(c, problems);
  checkBridgeConfig(c, problems);
  if (c.externalIssuer) {
    if (!c.externalAudience)
      problems.push('AUTH_EXTERNAL_AUDIENCE: required when AUTH_EXTERNAL_ISSUER is set');
    if (!c.externalJwksUrl && !c.externalSecret) {
      problems.push(
        'AUTH_EXTERNAL_JWKS_URL or AUTH_EXTERNAL_SECRET: one is required when AUTH_EXTERNAL_ISSUER is set',
      );
    }
  } else if (c.externalJwksUrl || c.externalSecret) {
    problems.push(
      'AUTH_EXTERNAL_ISSUER: required when AUTH_EXTERNAL_JWKS_URL or AUTH_EXTERNAL_SECRET is set',
    );
  }
}

/** The config with secrets masked, for logs and `switchboard config`. */
export function redactConfig(c: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(SETTINGS) as [SettingKey, SettingSpec][]) {
    const value = c[key];
    out[key] = spec.secret && value !== undefined ? '***' : value;
  }
  return out;
}
