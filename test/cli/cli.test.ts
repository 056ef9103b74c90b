import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSwitchboard, type Switchboard } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { SETTINGS } from '../../src/config/config-schema.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const PASSWORD = 'correct horse battery';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without any Switchboard setting, so the machine's own cannot leak into a test. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const spec of Object.values(SETTINGS)) delete env[spec.env];
  delete env.SWITCHBOARD_CONFIG;
  delete env.SWITCHBOARD_PASSWORD;
  delete env.NODE_OPTIONS;
  return env;
}

/** Runs `switchboard <args>` from source, as `node --import tsx src/cli/main.ts <args>`. */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      env: { ...cleanEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-cli-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A server on the same DATA_DIR (and so the same SQLite file and JWT secret) as the CLI runs used. */
async function serverOn(dataDir: string, env: Record<string, string> = {}) {
  const sb: Switchboard = await buildSwitchboard(
    loadConfig({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ...env }),
    { logger: pino({ level: 'silent' }) },
  );
  const port = await sb.listen();
  const base = `http://127.0.0.1:${port}`;
  return {
    sb,
    async get(path: string, token?: string) {
      const res = await fetch(base + path, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      return { status: res.status, body: (await res.json()) as any };
    },
    async post(path: string, body: unknown) {
      const res = await fetch(base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    },
  };
}

// Every run starts a fresh Node process that loads the whole server from source: allow for a busy machine.
const SLOW = { timeout: 120_000 };

describe.concurrent('switchboard --help', SLOW, () => {
  it.each([
    [[], ['Usage: switchboard', 'serve', 'migrate', 'user', 'token', '--config']],
    [['serve'], ['Usage: switchboard serve']],
    [['migrate'], ['Usage: switchboard migrate']],
    [['user'], ['Usage: switchboard user', 'create']],
    [
      ['user', 'create'],
      ['Usage: switchboard user create', '--admin', '--password', '--display-name'],
    ],
    [['token'], ['Usage: switchboard token', '--ttl']],
  ])('%j --help exits 0 with usage', async (command, expected) => {
    // Help never reads the configuration, so even a broken one does not matter.
    const r = await cli([...command, '--help'], { PORT: 'abc' });
    expect(r.code, r.stderr).toBe(0);
    for (const text of expected) expect(r.stdout).toContain(text);
  });

  it('an unknown command fails', async () => {
    const r = await cli(['frobnicate']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('frobnicate');
  });
});

describe('switchboard admin commands', SLOW, () => {
  let dataDir: string;
  let alice: any;
  beforeAll(() => {
    dataDir = tempDir();
  });
  const env = () => ({ DATA_DIR: dataDir });

  it('migrate creates the SQLite file', async () => {
    const db = join(dataDir, 'switchboard.db');
    expect(existsSync(db)).toBe(false);
    const r = await cli(['migrate'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('migrations up to date (sqlite)');
    expect(existsSync(db)).toBe(true);

    // Running it again is harmless.
    const again = await cli(['migrate'], env());
    expect(again.code, again.stderr).toBe(0);
  });

  it('user create --admin prints the new user as JSON', async () => {
    const r = await cli(
      ['user', 'create', 'alice', '--admin', '--password', PASSWORD, '--display-name', 'Alice A.'],
      env(),
    );
    expect(r.code, r.stderr).toBe(0);
    alice = JSON.parse(r.stdout);
    expect(alice).toMatchObject({
      username: 'alice',
      displayName: 'Alice A.',
      isAdmin: true,
      isBot: false,
      avatar: null,
    });
    expect(alice.userId).toMatch(/^usr_/);
    expect(r.stdout).not.toContain(PASSWORD);
  });

  it('user create without --admin makes a regular user; the password may come from SWITCHBOARD_PASSWORD', async () => {
    const r = await cli(['user', 'create', 'bob'], { ...env(), SWITCHBOARD_PASSWORD: PASSWORD });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ username: 'bob', isAdmin: false });
  });

  it('a duplicate username exits non-zero with USERNAME_TAKEN', async () => {
    const [r, upper] = await Promise.all([
      cli(['user', 'create', 'alice', '--password', PASSWORD], env()),
      // Also when only the case differs.
      cli(['user', 'create', 'ALICE', '--password', PASSWORD], env()),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('USERNAME_TAKEN');
    expect(r.stdout).toBe('');
    expect(upper.code).not.toBe(0);
    expect(upper.stderr).toContain('USERNAME_TAKEN');
  });

  it('an invalid username or password is refused', async () => {
    const [badName, shortPassword] = await Promise.all([
      cli(['user', 'create', 'x', '--password', PASSWORD], env()),
      cli(['user', 'create', 'carol', '--password', 'short'], env()),
    ]);
    expect(badName.code).not.toBe(0);
    expect(badName.stderr).toContain('VALIDATION_FAILED');

    expect(shortPassword.code).toBe(2);
    expect(shortPassword.stderr).toContain('password must be 8-256 characters');
  });

  it('token prints a JWT the server on the same DATA_DIR accepts', async () => {
    const [r, byId] = await Promise.all([
      cli(['token', 'alice'], env()),
      cli(['token', alice.userId, '--ttl', '60'], env()),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const token = r.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const claims = decodeJwt(token);
    expect(claims.sub).toBe(alice.userId);
    expect(claims.exp! - claims.iat!).toBe(3600);
    // The secret was generated into the data directory, where the server will find it.
    expect(existsSync(join(dataDir, 'jwt-secret'))).toBe(true);

    expect(byId.code, byId.stderr).toBe(0);
    const byIdClaims = decodeJwt(byId.stdout.trim());
    expect(byIdClaims.sub).toBe(alice.userId);
    expect(byIdClaims.exp! - byIdClaims.iat!).toBe(60);

    const server = await serverOn(dataDir);
    try {
      for (const t of [token, byId.stdout.trim()]) {
        const me = await server.get('/v1/users/me', t);
        expect(me.status, JSON.stringify(me.body)).toBe(200);
        expect(me.body.data).toMatchObject({ userId: alice.userId, username: 'alice', isAdmin: true });
      }
      // The password set by `user create` works for logging in.
      const login = await server.post('/v1/auth/login', { username: 'alice', password: PASSWORD });
      expect(login.status).toBe(200);
      expect(login.body.data.user.userId).toBe(alice.userId);
      const bobLogin = await server.post('/v1/auth/login', { username: 'bob', password: PASSWORD });
      expect(bobLogin.status).toBe(200);
    } finally {
      await server.sb.close();
    }
  });

  it('token for an unknown user exits non-zero with USER_NOT_FOUND', async () => {
    const r = await cli(['token', 'nobody'], env());
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('USER_NOT_FOUND');
    expect(r.stdout).toBe('');
  });

  it('token refuses an out-of-range --ttl with exit 2', async () => {
    const ttls = ['5', 'abc', '1.5', '31536001'];
    const results = await Promise.all(ttls.map((ttl) => cli(['token', 'alice', '--ttl', ttl], env())));
    results.forEach((r, i) => {
      expect(r.code, ttls[i]).toBe(2);
      expect(r.stderr).toContain('--ttl');
    });
  });

  it('token uses JWT_SECRET when it is set, like the server', async () => {
    const dir = tempDir();
    const secret = 'cli-test-secret-cli-test-secret-0123456';
    expect((await cli(['user', 'create', 'dana', '--password', PASSWORD], { DATA_DIR: dir })).code).toBe(0);
    const r = await cli(['token', 'dana'], { DATA_DIR: dir, JWT_SECRET: secret });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'jwt-secret'))).toBe(false);

    const withSecret = await serverOn(dir, { JWT_SECRET: secret });
    try {
      expect((await withSecret.get('/v1/users/me', r.stdout.trim())).status).toBe(200);
    } finally {
      await withSecret.sb.close();
    }
    // A server with another secret refuses it.
    const other = await serverOn(dir, { JWT_SECRET: 'a-different-secret-a-different-secret-0' });
    try {
      const me = await other.get('/v1/users/me', r.stdout.trim());
      expect(me.status).toBe(401);
      expect(me.body.error.code).toBe('INVALID_TOKEN');
    } finally {
      await other.sb.close();
    }
  });
});

describe.concurrent('switchboard with a bad configuration', SLOW, () => {
  it('PORT=abc exits 2 with a message naming PORT', async () => {
    const dir = tempDir();
    const r = await cli(['migrate'], { DATA_DIR: dir, PORT: 'abc' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Invalid configuration');
    expect(r.stderr).toContain('PORT: "abc" is not an integer');
    expect(r.stdout).toBe('');
    // Nothing was created.
    expect(existsSync(join(dir, 'switchboard.db'))).toBe(false);
  });

  it('reports every problem at once, for every command', async () => {
    const env = { DATA_DIR: tempDir(), PORT: '70000', LOG_LEVEL: 'loud' };
    const commands = [['migrate'], ['user', 'create', 'erin', '--password', PASSWORD], ['token', 'erin']];
    const results = await Promise.all(commands.map((args) => cli(args, env)));
    results.forEach((r, i) => {
      expect(r.code, commands[i]!.join(' ')).toBe(2);
      expect(r.stderr).toContain('PORT: 70000 is above the maximum 65535');
      expect(r.stderr).toContain('LOG_LEVEL: "loud" must be one of');
    });
  });

  it('reads --config, and reports an unknown key in it with exit 2', async () => {
    const dir = tempDir();
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ dataDir: join(dir, 'data') }));
    const ok = await cli(['--config', good, 'migrate']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(dir, 'data', 'switchboard.db'))).toBe(true);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ dataDir: join(dir, 'data'), prot: 1 }));
    const r = await cli(['--config', bad, 'migrate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown setting "prot"');

    const viaEnv = await cli(['migrate'], { SWITCHBOARD_CONFIG: bad });
    expect(viaEnv.code).toBe(2);
    expect(viaEnv.stderr).toContain('unknown setting "prot"');
  });
});
