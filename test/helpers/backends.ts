import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

/** Store backends a suite runs against. `BACKENDS=sqlite` or `BACKENDS=postgres` narrows the set. */
export type Backend = 'sqlite' | 'postgres';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Set by `.ci/run`: an unreachable service fails the run instead of skipping its tests. */
export const REQUIRE_SERVICES = process.env.REQUIRE_SERVICES === '1';

export function selectedBackends(): Backend[] {
  const raw = process.env.BACKENDS ?? 'sqlite,postgres';
  return raw.split(',').map((s) => s.trim()) as Backend[];
}

let pgReachable: Promise<boolean> | undefined;

export function postgresReachable(): Promise<boolean> {
  pgReachable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch (err) {
      if (REQUIRE_SERVICES) {
        throw new Error(
          `PostgreSQL at ${PG_URL} is unreachable and REQUIRE_SERVICES=1: ${(err as Error).message}`,
        );
      }
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return pgReachable;
}

/** Backends to run now: PostgreSQL drops out (with a warning) only when it is down and not required. */
export async function availableBackends(): Promise<Backend[]> {
  const out: Backend[] = [];
  for (const b of selectedBackends()) {
    if (b === 'postgres' && !(await postgresReachable())) {
      console.warn(
        `PostgreSQL unreachable at ${PG_URL}: skipping postgres backend (set REQUIRE_SERVICES=1 to fail)`,
      );
      continue;
    }
    out.push(b);
  }
  return out;
}

/** Service backends (bus, presence, rate limits). `SERVICE_BACKENDS=memory` or `=redis` narrows the set. */
export type ServiceBackend = 'memory' | 'redis';

export function selectedServiceBackends(): ServiceBackend[] {
  const raw = process.env.SERVICE_BACKENDS ?? 'memory,redis';
  return raw.split(',').map((s) => s.trim()) as ServiceBackend[];
}

let redisUp: Promise<boolean> | undefined;

export function redisReachable(): Promise<boolean> {
  redisUp ??= (async () => {
    const client = new Redis(REDIS_URL, {
      lazyConnect: true,
      connectTimeout: 3000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    let cause: Error | undefined; // the socket's error says more than "Connection is closed"
    client.on('error', (err: Error) => {
      cause ??= err;
    });
    try {
      await client.connect();
      await client.ping();
      return true;
    } catch (err) {
      if (REQUIRE_SERVICES) {
        throw new Error(
          `Redis at ${REDIS_URL} is unreachable and REQUIRE_SERVICES=1: ${(cause ?? (err as Error)).message}`,
        );
      }
      return false;
    } finally {
      client.disconnect();
    }
  })();
  return redisUp;
}

/** Service backends to run now: Redis drops out (with a warning) only when it is down and not required. */
export async function availableServiceBackends(): Promise<ServiceBackend[]> {
  const out: ServiceBackend[] = [];
  for (const b of selectedServiceBackends()) {
    if (b === 'redis' && !(await redisReachable())) {
      console.warn(
        `Redis unreachable at ${REDIS_URL}: skipping redis backend (set REQUIRE_SERVICES=1 to fail)`,
      );
      continue;
    }
    out.push(b);
  }
  return out;
}

/** A fresh Redis key/channel prefix, so tests sharing the server never see each other's data. */
export function randomRedisPrefix(): string {
  return `t:${randomBytes(6).toString('hex')}`;
}

/**
 * A fresh schema name that names the test run owning it (the vitest main process is the parent of
 * the workers), so cleanup can tell this run's schemas from another run's still in use.
 */
export function randomSchema(): string {
  return `t_${process.ppid.toString(36)}_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await client.end();
  }
}
