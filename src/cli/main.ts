#!/usr/bin/env node
import { Command, Option } from 'commander';
import { buildSwitchboard, databaseUrl, jwtSecretFor } from '../app.js';
import { AccessTokens } from '../auth/access-tokens.js';
import { type Config, ConfigError, loadConfig, redactConfig } from '../config/config.js';
import { createDatabase } from '../store/create-database.js';
import { migrateToLatest } from '../store/migrate.js';
import { Store } from '../store/store.js';
import { UsersService } from '../users/users.service.js';

const program = new Command()
  .name('switchboard')
  .description('Self-hosted real-time messaging server where AI is a first-class participant')
  .addOption(
    new Option('-c, --config <file>', 'JSON config file (environment variables override it)').env(
      'SWITCHBOARD_CONFIG',
    ),
  )
  .showHelpAfterError();

function config(): Config {
  try {
    return loadConfig(process.env, program.opts<{ config?: string }>().config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee docs/configuration.md for every setting.\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** Opens the store without the HTTP server, for admin commands. */
async function withStore<T>(fn: (store: Store, cfg: Config) => Promise<T>): Promise<T> {
  const cfg = config();
  const handle = createDatabase({ url: databaseUrl(cfg), poolSize: 2, pgSchema: cfg.databaseSchema });
  const store = new Store(handle);
  try {
    await migrateToLatest(handle.db);
    return await fn(store, cfg);
  } finally {
    await store.close();
  }
}

program
  .command('serve')
  .description('Start the server (embedded SQLite by default; DATABASE_URL=postgres://... for PostgreSQL)')
  .action(async () => {
    const sb = await buildSwitchboard(config());
    const port = await sb.listen();
    sb.logger.info(
      { port, store: sb.store.dialect, config: redactConfig(sb.config) },
      'switchboard listening',
    );
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      sb.logger.info({ signal }, 'shutting down');
      await sb.close();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });

program
  .command('worker')
  .description(
    'Run background jobs (agent jobs) without serving HTTP; with several nodes, set REDIS_URL so results reach every node',
  )
  .action(async () => {
    const cfg = config();
    if (!cfg.agentEnabled || cfg.agentWorkerConcurrency === 0) {
      process.stderr.write('Nothing to run: set AGENT_ENABLED=true and AGENT_WORKER_CONCURRENCY >= 1\n');
      process.exit(2);
    }
    // Builds everything (the worker posts results through the same services) but never listens.
    const sb = await buildSwitchboard(cfg);
    sb.logger.info(
      { store: sb.store.dialect, concurrency: cfg.agentWorkerConcurrency, pid: process.pid },
      'switchboard worker running',
    );
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      sb.logger.info({ signal }, 'worker shutting down');
      await sb.close();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });

program
  .command('migrate')
  .description('Apply pending database migrations and exit')
  .action(async () => {
    await withStore(async (store) => {
      process.stdout.write(`migrations up to date (${store.dialect})\n`);
    });
  });

const user = program.command('user').description('Manage user accounts');
user
  .command('create <name>')
  .description('Create a user; prints its id')
  .option('--admin', 'make the user a server administrator')
  .option('--password <password>', 'password for logging in (or set SWITCHBOARD_PASSWORD)')
  .option('--display-name <displayName>', 'display name')
  .action(async (name: string, opts: { admin?: boolean; password?: string; displayName?: string }) => {
    const password = opts.password ?? process.env.SWITCHBOARD_PASSWORD;
    if (password !== undefined && (password.length < 8 || password.length > 256)) {
      process.stderr.write('password must be 8-256 characters\n');
      process.exit(2);
    }
    await withStore(async (store) => {
      const created = await new UsersService(store).create({
        username: name,
        password,
        displayName: opts.displayName,
        isAdmin: opts.admin ?? false,
      });
      process.stdout.write(`${JSON.stringify(created)}\n`);
    });
  });

program
  .command('token <user>')
  .description('Print an access token for a user (username or id), for trying the API with curl or wscat')
  .option('--ttl <seconds>', 'lifetime in seconds', '3600')
  .action(async (name: string, opts: { ttl: string }) => {
    const ttl = Number(opts.ttl);
    if (!Number.isInteger(ttl) || ttl < 30 || ttl > 31_536_000) {
      process.stderr.write('--ttl must be an integer between 30 and 31536000\n');
      process.exit(2);
    }
    await withStore(async (store, cfg) => {
      const users = new UsersService(store);
      const u = name.startsWith('usr_') ? await users.get(name) : await users.getByUsername(name);
      // Same secret resolution as the server, so the token works against it.
      const tokens = new AccessTokens(jwtSecretFor(cfg), ttl);
      process.stdout.write(
        `${await tokens.sign({ userId: u.userId, username: u.username, isAdmin: u.isAdmin })}\n`,
      );
    });
  });

program.parseAsync().catch((err: Error & { code?: string }) => {
  process.stderr.write(`error: ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
  process.exit(1);
});
