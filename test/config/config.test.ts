import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { type Config, ConfigError, loadConfig, redactConfig } from '../../src/config/config.js';
import { SETTINGS, type SettingKey, type SettingSpec } from '../../src/config/config-schema.js';

const SECRET = 'a-jwt-secret-that-is-long-enough-0123456789';
const settings = Object.entries(SETTINGS) as [SettingKey, SettingSpec][];

/** The ConfigError `fn` throws; fails the test if it does not throw one. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const problemsOf = (env: Record<string, string>, file?: string) =>
  configError(() => loadConfig(env, file)).problems;

const dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCounter = 0;
function writeConfig(content: unknown): string {
  const path = join(dir, `config-${++fileCounter}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('loadConfig defaults', () => {
  it('needs nothing: an empty environment is a valid config', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      logLevel: 'info',
      dataDir: './data',
      databasePoolSize: 10,
      accessTokenTtl: 900,
      refreshTokenTtl: 2_592_000,
      allowRegistration: true,
      externalUsernameClaim: 'preferred_username',
      maxMessageLength: 5000,
      authRateLimit: 10,
      sendRateLimit: 20,
      corsOrigins: [],
      trustProxy: false,
    });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.jwtSecret).toBeUndefined();
    expect(c.externalIssuer).toBeUndefined();
    expect(c.externalAudience).toBeUndefined();
    expect(c.externalJwksUrl).toBeUndefined();
    expect(c.externalSecret).toBeUndefined();
  });

  it('gives every setting its declared default, and has a key for every setting', () => {
    const c = loadConfig({}) as unknown as Record<string, unknown>;
    for (const [key, spec] of settings) {
      expect(key in c, key).toBe(true);
      expect(c[key], key).toEqual(spec.default);
    }
    expect(Object.keys(c).sort()).toEqual(Object.keys(SETTINGS).sort());
  });

  it('declared defaults satisfy their own bounds and enums', () => {
    for (const [key, spec] of settings) {
      if (spec.default === undefined) continue;
      if (spec.type === 'int') {
        expect(Number.isSafeInteger(spec.default), key).toBe(true);
        if (spec.min !== undefined) expect(spec.default as number, key).toBeGreaterThanOrEqual(spec.min);
        if (spec.max !== undefined) expect(spec.default as number, key).toBeLessThanOrEqual(spec.max);
      }
      if (spec.type === 'enum') expect(spec.values, key).toContain(spec.default);
    }
  });

  it('env names are unique and upper snake case, and every setting is described', () => {
    const names = settings.map(([, s]) => s.env);
    expect(new Set(names).size).toBe(names.length);
    for (const [key, spec] of settings) {
      expect(spec.env, key).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(spec.description.length, key).toBeGreaterThan(0);
      if (spec.type === 'enum') expect(spec.values?.length, key).toBeGreaterThan(0);
    }
  });

  it('the Config type and SETTINGS have the same keys', () => {
    expectTypeOf<keyof Config>().toEqualTypeOf<SettingKey>();
  });

  it('ignores variables it does not know', () => {
    expect(() => loadConfig({ PATH: '/usr/bin', SOMETHING_ELSE: 'x' })).not.toThrow();
  });
});

describe('loadConfig environment parsing', () => {
  it('parses integers, trimming whitespace', () => {
    expect(loadConfig({ PORT: '9000' }).port).toBe(9000);
    expect(loadConfig({ PORT: ' 9001 ' }).port).toBe(9001);
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
    expect(loadConfig({ PORT: '65535' }).port).toBe(65535);
    expect(loadConfig({ MESSAGE_RETENTION_DAYS: '0' }).messageRetentionDays).toBe(0);
    expect(loadConfig({ GROUP_COMMIT_MAX_BATCH: '10000' }).groupCommitMaxBatch).toBe(10_000);
  });

  it.each(['abc', '1.5', '1e3', '0x10', '+5', '12abc', '99999999999999999999'])(
    'rejects %j as an integer',
    (value) => {
      const problems = problemsOf({ PORT: value });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('PORT');
      expect(problems[0]).toContain('is not an integer');
    },
  );

  it('enforces integer bounds', () => {
    expect(problemsOf({ PORT: '70000' })).toEqual(['PORT: 70000 is above the maximum 65535']);
    expect(problemsOf({ PORT: '-1' })).toEqual(['PORT: -1 is below the minimum 0']);
    expect(problemsOf({ ACCESS_TOKEN_TTL: '29' })).toEqual(['ACCESS_TOKEN_TTL: 29 is below the minimum 30']);
    expect(problemsOf({ DATABASE_POOL_SIZE: '0' })[0]).toMatch(/^DATABASE_POOL_SIZE: .*minimum 1/);
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['on', true],
    [' True ', true],
    ['false', false],
    ['False', false],
    ['0', false],
    ['no', false],
    ['off', false],
  ])('parses boolean %j as %s', (value, expected) => {
    expect(loadConfig({ ALLOW_REGISTRATION: value }).allowRegistration).toBe(expected);
    expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toBe(expected);
  });

  it('rejects a value that is not a boolean', () => {
    const problems = problemsOf({ ALLOW_REGISTRATION: 'maybe' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('ALLOW_REGISTRATION');
    expect(problems[0]).toContain('not a boolean');
  });

  it('parses comma-separated lists, trimming items and dropping empty ones', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example' }).corsOrigins).toEqual(['https://a.example']);
    expect(loadConfig({ CORS_ORIGINS: ' https://a.example , https://b.example,, ' }).corsOrigins).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
    expect(loadConfig({ CORS_ORIGINS: ',' }).corsOrigins).toEqual([]);
  });

  it('accepts every enum value and rejects others, naming the allowed ones', () => {
    for (const level of SETTINGS.logLevel.values) {
      expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
    }
    const problems = problemsOf({ LOG_LEVEL: 'loud' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('LOG_LEVEL');
    expect(problems[0]).toContain('"loud"');
    expect(problems[0]).toContain('fatal, error, warn, info, debug, trace, silent');
    // Enums are case-sensitive.
    expect(problemsOf({ LOG_LEVEL: 'INFO' })[0]).toContain('LOG_LEVEL');
  });

  it('validates and normalizes URLs', () => {
    const c = loadConfig({
      AUTH_EXTERNAL_ISSUER: 'https://idp.example',
      AUTH_EXTERNAL_AUDIENCE: 'app',
      AUTH_EXTERNAL_JWKS_URL: 'HTTPS://IDP.example/jwks',
    });
    expect(c.externalJwksUrl).toBe('https://idp.example/jwks');
    const problems = problemsOf({
      AUTH_EXTERNAL_ISSUER: 'https://idp.example',
      AUTH_EXTERNAL_AUDIENCE: 'app',
      AUTH_EXTERNAL_JWKS_URL: 'not a url',
    });
    expect(
      problems.some((p) => p.startsWith('AUTH_EXTERNAL_JWKS_URL:') && p.includes('not a valid URL')),
    ).toBe(true);
  });

  it('takes strings as they are', () => {
    const c = loadConfig({ HOST: '127.0.0.1', DATA_DIR: '/var/lib/switchboard', JWT_SECRET: SECRET });
    expect(c.host).toBe('127.0.0.1');
    expect(c.dataDir).toBe('/var/lib/switchboard');
    expect(c.jwtSecret).toBe(SECRET);
  });

  it('treats an empty variable as unset', () => {
    const c = loadConfig({
      PORT: '',
      LOG_LEVEL: '',
      JWT_SECRET: '',
      DATABASE_URL: '',
      ALLOW_REGISTRATION: '',
    });
    expect(c.port).toBe(8080);
    expect(c.logLevel).toBe('info');
    expect(c.jwtSecret).toBeUndefined();
    expect(c.databaseUrl).toBeUndefined();
    expect(c.allowRegistration).toBe(true);
  });
});

describe('loadConfig validation', () => {
  it('reports every problem at once in a ConfigError', () => {
    const err = configError(() =>
      loadConfig({
        PORT: 'abc',
        LOG_LEVEL: 'loud',
        JWT_SECRET: 'short',
        DATABASE_URL: 'mysql://db/switchboard',
        ALLOW_REGISTRATION: 'perhaps',
        ACCESS_TOKEN_TTL: '5',
        AUTH_EXTERNAL_ISSUER: 'https://idp.example',
      }),
    );
    expect(err.name).toBe('ConfigError');
    expect(err).toBeInstanceOf(Error);
    const named = (v: string) => err.problems.filter((p) => p.startsWith(`${v}:`));
    for (const v of [
      'PORT',
      'LOG_LEVEL',
      'JWT_SECRET',
      'DATABASE_URL',
      'ALLOW_REGISTRATION',
      'ACCESS_TOKEN_TTL',
      'AUTH_EXTERNAL_AUDIENCE',
    ]) {
      expect(named(v), v).toHaveLength(1);
    }
    expect(err.problems).toHaveLength(8);
    // The message lists each problem on its own line.
    expect(err.message.split('\n')[0]).toBe('Invalid configuration:');
    for (const p of err.problems) expect(err.message).toContain(`\n  - ${p}`);
  });

  it('PORT=abc and PORT=70000 name PORT', () => {
    expect(problemsOf({ PORT: 'abc' })).toEqual(['PORT: "abc" is not an integer']);
    expect(problemsOf({ PORT: '70000' })[0]).toMatch(/^PORT: /);
  });

  it('LOG_LEVEL=loud is refused', () => {
    expect(problemsOf({ LOG_LEVEL: 'loud' })[0]).toMatch(/^LOG_LEVEL: "loud" must be one of /);
  });

  it('JWT_SECRET must be at least 32 characters', () => {
    expect(problemsOf({ JWT_SECRET: 'x'.repeat(31) })).toEqual([
      'JWT_SECRET: must be at least 32 characters',
    ]);
    expect(loadConfig({ JWT_SECRET: 'x'.repeat(32) }).jwtSecret).toBe('x'.repeat(32));
  });

  it('DATABASE_URL must be PostgreSQL or SQLite', () => {
    for (const url of ['mysql://user@db/switchboard', 'http://db', '/var/lib/db.sqlite', 'postgres:/x']) {
      const problems = problemsOf({ DATABASE_URL: url });
      expect(problems, url).toHaveLength(1);
      expect(problems[0]).toMatch(/^DATABASE_URL: /);
    }
    for (const url of [
      'postgres://u@h/db',
      'postgresql://u:p@h:5432/db',
      'sqlite:/tmp/x.db',
      'sqlite::memory:',
    ]) {
      expect(loadConfig({ DATABASE_URL: url }).databaseUrl, url).toBe(url);
    }
  });

  it('an external issuer needs an audience and a key source', () => {
    const noAudience = problemsOf({
      AUTH_EXTERNAL_ISSUER: 'https://idp.example',
      AUTH_EXTERNAL_SECRET: SECRET,
    });
    expect(noAudience).toEqual(['AUTH_EXTERNAL_AUDIENCE: required when AUTH_EXTERNAL_ISSUER is set']);

    const noKey = problemsOf({ AUTH_EXTERNAL_ISSUER: 'https://idp.example', AUTH_EXTERNAL_AUDIENCE: 'app' });
    expect(noKey).toHaveLength(1);
    expect(noKey[0]).toContain('AUTH_EXTERNAL_JWKS_URL or AUTH_EXTERNAL_SECRET');

    const neither = problemsOf({ AUTH_EXTERNAL_ISSUER: 'https://idp.example' });
    expect(neither).toHaveLength(2);

    for (const env of [
      { AUTH_EXTERNAL_SECRET: SECRET } as Record<string, string>,
      { AUTH_EXTERNAL_JWKS_URL: 'https://idp.example/jwks' },
    ]) {
      const orphan = problemsOf(env);
      expect(orphan).toHaveLength(1);
      expect(orphan[0]).toMatch(/^AUTH_EXTERNAL_ISSUER: required/);
    }
  });

  it('accepts a complete external issuer', () => {
    const c = loadConfig({
      AUTH_EXTERNAL_ISSUER: 'https://idp.example',
      AUTH_EXTERNAL_AUDIENCE: 'app',
      AUTH_EXTERNAL_SECRET: SECRET,
      AUTH_EXTERNAL_USERNAME_CLAIM: 'email',
    });
    expect(c).toMatchObject({
      externalIssuer: 'https://idp.example',
      externalAudience: 'app',
      externalSecret: SECRET,
      externalUsernameClaim: 'email',
    });
  });
});

describe('loadConfig config file', () => {
  it('reads settings from a JSON file, in their native JSON types', () => {
    const file = writeConfig({
      port: 9100,
      host: '127.0.0.1',
      logLevel: 'warn',
      allowRegistration: false,
      trustProxy: 'yes',
      corsOrigins: ['https://a.example', 'https://b.example'],
      databaseUrl: 'sqlite:/tmp/sb.db',
      jwtSecret: SECRET,
      accessTokenTtl: '600',
    });
    const c = loadConfig({}, file);
    expect(c).toMatchObject({
      port: 9100,
      host: '127.0.0.1',
      logLevel: 'warn',
      allowRegistration: false,
      trustProxy: true,
      corsOrigins: ['https://a.example', 'https://b.example'],
      databaseUrl: 'sqlite:/tmp/sb.db',
      jwtSecret: SECRET,
      accessTokenTtl: 600,
    });
    // Settings the file leaves out keep their defaults.
    expect(c.databasePoolSize).toBe(10);
  });

  it('finds the file through SWITCHBOARD_CONFIG; an explicit path wins', () => {
    const viaEnv = writeConfig({ port: 9200 });
    const explicit = writeConfig({ port: 9300 });
    expect(loadConfig({ SWITCHBOARD_CONFIG: viaEnv }).port).toBe(9200);
    expect(loadConfig({ SWITCHBOARD_CONFIG: viaEnv }, explicit).port).toBe(9300);
  });

  it('environment variables override the file, key by key', () => {
    const file = writeConfig({ port: 9100, host: '127.0.0.1', allowRegistration: false });
    const c = loadConfig({ PORT: '9400', ALLOW_REGISTRATION: 'true' }, file);
    expect(c.port).toBe(9400);
    expect(c.allowRegistration).toBe(true);
    expect(c.host).toBe('127.0.0.1');
    // An empty variable does not override.
    expect(loadConfig({ PORT: '' }, file).port).toBe(9100);
  });

  it('an environment override also fixes a bad file value', () => {
    const file = writeConfig({ port: 'abc' });
    expect(loadConfig({ PORT: '9500' }, file).port).toBe(9500);
  });

  it('names the file and key of a bad file value', () => {
    const file = writeConfig({ port: 'abc', logLevel: 'loud', accessTokenTtl: 1.5 });
    const problems = problemsOf({}, file);
    expect(problems).toHaveLength(3);
    expect(problems).toContain(`${file}:port: "abc" is not an integer`);
    expect(problems.some((p) => p.startsWith(`${file}:logLevel:`))).toBe(true);
    expect(problems.some((p) => p.startsWith(`${file}:accessTokenTtl:`))).toBe(true);
  });

  it('an unknown key is an error, reported together with other problems', () => {
    const file = writeConfig({ port: 9100, prot: 9200, PORT: 1 });
    const problems = problemsOf({ LOG_LEVEL: 'loud' }, file);
    expect(problems).toContain(`${file}: unknown setting "prot"`);
    // Environment variable names are not file keys.
    expect(problems).toContain(`${file}: unknown setting "PORT"`);
    expect(problems.some((p) => p.startsWith('LOG_LEVEL:'))).toBe(true);
    expect(problems).toHaveLength(3);
  });

  it('an unreadable file is an error naming it', () => {
    const missing = join(dir, 'does-not-exist.json');
    const problems = problemsOf({}, missing);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(missing);
    expect(problems[0]).toContain('cannot read config file');

    // A directory cannot be read as a file either.
    expect(problemsOf({}, dir)[0]).toContain('cannot read config file');
  });

  it('invalid JSON is an error naming the file', () => {
    const file = writeConfig('{"port": 9100,');
    const problems = problemsOf({}, file);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(file);
  });

  it.each([['[1, 2]'], ['"text"'], ['42'], ['null']])('a file holding %s is not a config object', (json) => {
    const file = writeConfig(json);
    expect(problemsOf({}, file)).toEqual([`${file}: must hold a JSON object`]);
  });

  it('cross-field checks see values from the file', () => {
    const file = writeConfig({ externalIssuer: 'https://idp.example', externalSecret: SECRET });
    expect(problemsOf({}, file)).toEqual([
      'AUTH_EXTERNAL_AUDIENCE: required when AUTH_EXTERNAL_ISSUER is set',
    ]);
    expect(loadConfig({ AUTH_EXTERNAL_AUDIENCE: 'app' }, file).externalAudience).toBe('app');
  });
});

describe('redactConfig', () => {
  const full = () =>
    loadConfig({
      JWT_SECRET: SECRET,
      DATABASE_URL: 'postgres://switchboard:hunter2hunter2@db.internal:5432/switchboard',
      AUTH_EXTERNAL_ISSUER: 'https://idp.example',
      AUTH_EXTERNAL_AUDIENCE: 'app',
      AUTH_EXTERNAL_SECRET: 'external-shared-secret-0123456789',
      REDIS_URL: 'redis://:redispass0123@cache.internal:6379',
      METRICS_TOKEN: 'metrics-token-0123',
      S3_ACCESS_KEY_ID: 's3-key-id-0123',
      S3_SECRET_ACCESS_KEY: 's3-secret-0123',
      ANTHROPIC_API_KEY: 'sk-ant-secret-0123',
      OPENAI_API_KEY: 'sk-openai-secret-0123',
      GOOGLE_API_KEY: 'google-secret-0123',
      OPENAI_COMPATIBLE_API_KEY: 'local-secret-0123',
      AGENT_GIT_TOKEN: 'ghp-agent-secret-0123',
      TELEGRAM_BOT_TOKEN: '123456:telegram-secret-0123',
      TELEGRAM_WEBHOOK_SECRET: 'telegram_hook_secret_0123',
      SLACK_SIGNING_SECRET: 'slack-signing-secret-0123',
      SLACK_BOT_TOKEN: 'xoxb-slack-secret-0123',
      DISCORD_BOT_TOKEN: 'discord-bot-secret-0123',
      PORT: '9000',
    });

  it('masks every secret setting', () => {
    const redacted = redactConfig(full());
    expect(redacted.jwtSecret).toBe('***');
    expect(redacted.databaseUrl).toBe('***');
    expect(redacted.externalSecret).toBe('***');
    const text = JSON.stringify(redacted);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('external-shared-secret');
    expect(text).not.toContain('redispass0123');
    expect(text).not.toContain('metrics-token-0123');
    expect(text).not.toContain('secret-0123');
    expect(text).not.toContain('telegram_hook_secret');
  });

  it('masks exactly the settings declared secret', () => {
    const c = full();
    const redacted = redactConfig(c);
    const secrets = settings.filter(([, s]) => s.secret).map(([k]) => k);
    expect(secrets.sort()).toEqual([
      'agentGitToken',
      'anthropicApiKey',
      'databaseUrl',
      'discordBotToken',
      'externalSecret',
      'googleApiKey',
      'jwtSecret',
      'metricsToken',
      'openaiApiKey',
      'openaiCompatibleApiKey',
      'redisUrl',
      's3AccessKeyId',
      's3SecretAccessKey',
      'slackBotToken',
      'slackSigningSecret',
      'telegramBotToken',
      'telegramWebhookSecret',
    ]);
    for (const [key, spec] of settings) {
      if (spec.secret) expect(redacted[key], key).toBe('***');
      else expect(redacted[key], key).toEqual(c[key]);
    }
  });

  it('leaves unset secrets unset and does not touch the config', () => {
    const c = loadConfig({});
    const redacted = redactConfig(c);
    expect(redacted.jwtSecret).toBeUndefined();
    expect(redacted.databaseUrl).toBeUndefined();
    const f = full();
    redactConfig(f);
    expect(f.jwtSecret).toBe(SECRET);
  });
});

describe('docs/configuration.md', () => {
  const docPath = new URL('../../docs/configuration.md', import.meta.url);

  it('documents every environment variable in SETTINGS', () => {
    const doc = readFileSync(docPath, 'utf8');
    const missing = settings.map(([, s]) => s.env).filter((env) => !new RegExp(`\\b${env}\\b`).test(doc));
    expect(missing, `not documented in docs/configuration.md: ${missing.join(', ')}`).toEqual([]);
  });

  it('documents no setting that does not exist', () => {
    const doc = readFileSync(docPath, 'utf8');
    const known = new Set(settings.map(([, s]) => s.env));
    // Table rows whose first cell is an environment variable.
    const documented = [...doc.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]!);
    const stale = documented.filter((env) => !known.has(env));
    expect(stale, `documented but not in SETTINGS: ${stale.join(', ')}`).toEqual([]);
  });
});
