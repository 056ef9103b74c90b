import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { discordPublicKey, signBody, verifyDiscord, verifySlack, verifyTelegram } from './signatures.js';

describe('platform signatures', () => {
  it('Telegram: the secret token, compared in constant time', () => {
    expect(verifyTelegram('s3cret-token-value', 's3cret-token-value')).toBe(true);
    expect(verifyTelegram('s3cret-token-valuE', 's3cret-token-value')).toBe(false);
    expect(verifyTelegram(undefined, 's3cret-token-value')).toBe(false);
  });

  it('Slack: v0 HMAC over "v0:<ts>:<body>", five minutes of clock skew at most', () => {
    const body = Buffer.from('{"type":"event_callback"}');
    const now = 1_700_000_000_000;
    const ts = String(now / 1000);
    const signature = `v0=${createHmac('sha256', 'shh').update(`v0:${ts}:${body}`).digest('hex')}`;
    expect(verifySlack({ signature, timestamp: ts }, body, 'shh', now)).toBe(true);
    expect(verifySlack({ signature, timestamp: ts }, body, 'other', now)).toBe(false);
    expect(verifySlack({ signature, timestamp: ts }, Buffer.from('{}'), 'shh', now)).toBe(false);
    expect(verifySlack({ signature, timestamp: ts }, body, 'shh', now + 301_000)).toBe(false);
    expect(verifySlack({ signature, timestamp: `${ts}x` }, body, 'shh', now)).toBe(false);
    expect(verifySlack({ timestamp: ts }, body, 'shh', now)).toBe(false);
  });

  it('Discord: Ed25519 over timestamp + body with the application key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const hex = Buffer.from((publicKey.export({ format: 'jwk' }) as { x: string }).x, 'base64url').toString(
      'hex',
    );
    const key = discordPublicKey(hex);
    const body = Buffer.from('{"type":1}');
    const signature = sign(null, Buffer.concat([Buffer.from('123'), body]), privateKey).toString('hex');
    expect(verifyDiscord({ signature, timestamp: '123' }, body, key)).toBe(true);
    expect(verifyDiscord({ signature, timestamp: '124' }, body, key)).toBe(false);
    expect(verifyDiscord({ signature: 'zz', timestamp: '123' }, body, key)).toBe(false);
    expect(verifyDiscord({ signature: '00'.repeat(64), timestamp: '123' }, body, key)).toBe(false);
    expect(() => discordPublicKey('abc')).toThrow(/64 hex/);
  });

  it('callbacks are signed t=<s>,v1=<HMAC("<t>.<body>")>', () => {
    const sig = signBody('k', '{"a":1}', 1_700_000_000_500);
    expect(sig).toBe(
      `t=1700000000,v1=${createHmac('sha256', 'k').update('1700000000.{"a":1}').digest('hex')}`,
    );
  });
});

describe('bridge settings', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      return (err as { problems: string[] }).problems;
    }
  };

  it('needs the pieces each platform verifies with', () => {
    expect(problems({ TELEGRAM_BOT_TOKEN: '1:a' })).toEqual([
      expect.stringMatching(/^TELEGRAM_WEBHOOK_SECRET: required/),
    ]);
    expect(problems({ TELEGRAM_BOT_TOKEN: '1:a', TELEGRAM_WEBHOOK_SECRET: 'short' })).toEqual([
      expect.stringMatching(/^TELEGRAM_WEBHOOK_SECRET: 16-256/),
    ]);
    expect(problems({ SLACK_SIGNING_SECRET: 'x' })).toEqual([expect.stringMatching(/set both or neither/)]);
    expect(problems({ DISCORD_PUBLIC_KEY: 'nothex' })).toEqual([
      expect.stringMatching(/^DISCORD_PUBLIC_KEY: must be 64 hex/),
      expect.stringMatching(/^DISCORD_APPLICATION_ID: required/),
    ]);
    expect(problems({ DISCORD_GATEWAY: 'true' })).toEqual([
      expect.stringMatching(/^DISCORD_GATEWAY: needs DISCORD_BOT_TOKEN/),
    ]);
    expect(
      problems({
        AUTH_EXTERNAL_ISSUER: 'bridge:telegram',
        AUTH_EXTERNAL_AUDIENCE: 'a',
        AUTH_EXTERNAL_SECRET: 's'.repeat(32),
      }),
    ).toEqual([expect.stringMatching(/reserved for bridged users/)]);
    expect(
      problems({
        TELEGRAM_BOT_TOKEN: '1:a',
        TELEGRAM_WEBHOOK_SECRET: 'a_valid-secret-0123',
        SLACK_SIGNING_SECRET: 'x',
        SLACK_BOT_TOKEN: 'xoxb',
        DISCORD_PUBLIC_KEY: 'a'.repeat(64),
        DISCORD_APPLICATION_ID: '123',
      }),
    ).toEqual([]);
  });
});
