import type { Config } from '../config/config.js';

/** Platforms that are configured, with what each needs; see docs/bridges.md. */
export interface BridgeSettings {
  telegram?: { token: string; webhookSecret: string; apiUrl: string };
  slack?: { signingSecret: string; botToken: string; apiUrl: string };
  discord?: {
    /** Interactions endpoint on when set. */
    publicKey?: string;
    applicationId?: string;
    botToken?: string;
    gateway: boolean;
    apiUrl: string;
    gatewayUrl: string;
  };
}

const TELEGRAM_SECRET = /^[A-Za-z0-9_-]{16,256}$/;

/** Config URLs come back from `new URL()` with a trailing slash; API paths are appended to them. */
const base = (url: string) => url.replace(/\/+$/, '');

export function bridgeSettings(c: Config): BridgeSettings {
  const out: BridgeSettings = {};
  if (c.telegramBotToken && c.telegramWebhookSecret) {
    out.telegram = {
      token: c.telegramBotToken,
      webhookSecret: c.telegramWebhookSecret,
      apiUrl: base(c.telegramApiUrl),
    };
  }
  if (c.slackSigningSecret && c.slackBotToken) {
    out.slack = {
      signingSecret: c.slackSigningSecret,
      botToken: c.slackBotToken,
      apiUrl: base(c.slackApiUrl),
    };
  }
  if (c.discordPublicKey || c.discordBotToken) {
    out.discord = {
      ...(c.discordPublicKey ? { publicKey: c.discordPublicKey } : {}),
      ...(c.discordApplicationId ? { applicationId: c.discordApplicationId } : {}),
      ...(c.discordBotToken ? { botToken: c.discordBotToken } : {}),
      gateway: c.discordGateway,
      apiUrl: base(c.discordApiUrl),
      gatewayUrl: c.discordGatewayUrl,
    };
  }
  return out;
}

export function checkBridgeConfig(c: Config, problems: string[]): void {
  if (c.telegramBotToken && !c.telegramWebhookSecret)
    problems.push('TELEGRAM_WEBHOOK_SECRET: required with TELEGRAM_BOT_TOKEN (updates are verified with it)');
  if (c.telegramWebhookSecret && !c.telegramBotToken)
    problems.push('TELEGRAM_BOT_TOKEN: required with TELEGRAM_WEBHOOK_SECRET');
  if (c.telegramWebhookSecret && !TELEGRAM_SECRET.test(c.telegramWebhookSecret))
    problems.push('TELEGRAM_WEBHOOK_SECRET: 16-256 characters of A-Z a-z 0-9 _ -');
  if (Boolean(c.slackSigningSecret) !== Boolean(c.slackBotToken))
    problems.push('SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN: set both or neither');
  if (c.discordPublicKey !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(c.discordPublicKey))
      problems.push('DISCORD_PUBLIC_KEY: must be 64 hex characters (the application public key)');
    if (!c.discordApplicationId) problems.push('DISCORD_APPLICATION_ID: required with DISCORD_PUBLIC_KEY');
  }
  if (c.discordApplicationId !== undefined && !/^\d{1,25}$/.test(c.discordApplicationId))
    problems.push('DISCORD_APPLICATION_ID: must be a numeric id');
  if (c.discordGateway && !c.discordBotToken) problems.push('DISCORD_GATEWAY: needs DISCORD_BOT_TOKEN');
  if (c.externalIssuer?.startsWith('bridge:'))
    problems.push('AUTH_EXTERNAL_ISSUER: must not start with "bridge:" (reserved for bridged users)');
}
