import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database.js';
import { attachCheckpointer, detachCheckpointer } from './sqlite-checkpointer.js';

export type Dialect = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Round-trip check for `/ready`. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** `postgres://...`, `sqlite:<path>`, or a bare SQLite file path. `:memory:` works for SQLite. */
  url: string;
  /** PostgreSQL pool size. @default 10 */
  poolSize?: number;
  /** PostgreSQL schema to use (created if missing); lets tests isolate themselves. */
  pgSchema?: string;
  /** Errors of idle pooled connections (e.g. the server restarted); they are not fatal. */
  onIdleError?: (err: Error) => void;
}

const INT8_OID = 20;

export function createDatabase(opts: DatabaseOptions): DatabaseHandle {
  if (/^postgres(ql)?:\/\//.test(opts.url)) return createPostgres(opts);
  return createSqlite(opts.url.replace(/^sqlite:/, ''));
}

function createSqlite(path: string): DatabaseHandle {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  // WAL lets readers run beside the writer; NORMAL sync is durable across process crashes
  // (an OS crash may lose the last transactions, the usual WAL trade-off).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // A WAL that grew under a burst is cut back to this size once checkpointed.
  sqlite.pragma('journal_size_limit = 67108864');
  // In-memory and temporary ('') databases have no file another connection could open.
  const checkpointer =
    path === ':memory:' || path === ''
      ? undefined
      : attachCheckpointer({
          path,
          fallBack: () => {
            if (sqlite.open) sqlite.pragma('wal_autocheckpoint = 1000');
          },
        });
  if (checkpointer !== undefined) sqlite.pragma('wal_autocheckpoint = 0');
  // SQLite's built-in lower() folds ASCII only; PostgreSQL's folds all of Unicode. Case-insensitive
  // matching (user search) must answer the same on both engines.
  sqlite.function('lower', { deterministic: true }, (s: unknown) =>
    typeof s === 'string' ? s.toLowerCase() : s,
  );
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(sqlite) }) });
  return {
    db,
    dialect: 'sqlite',
    async ping() {
      sqlite.prepare('select 1').get();
    },
    async close() {
      if (checkpointer !== undefined) await detachCheckpointer(checkpointer);
      await db.destroy();
    },
  };
}

/**
 * Kysely prepares every query anew; preparing is a large share of a small SQLite query's cost, so
 * statements are kept by SQL text (bounded, oldest dropped first). Kysely only needs `prepare` and `close`.
 */
function cachingStatements(sqlite: SQLite.Database, max = 500) {
  const cache = new Map<string, SQLite.Statement>();
  return {
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (!stmt) {
        stmt = sqlite.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt;
    },
    close() {
      cache.clear();
      sqlite.close();
    },
  };
}

function createPostgres(opts: DatabaseOptions): DatabaseHandle {
  const schema = opts.pgSchema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema))
    throw new Error(`bad schema name ${schema}`);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 10,
    // Seqs and timestamps are bigint; they stay far below 2^53, so plain numbers are exact.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
    // A dead or stuck database must fail requests, not hang them.
    connectionTimeoutMillis: 5000,
    query_timeout: 30_000,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle connection the server closed (a PostgreSQL restart) is reported here; without a
  // listener it would crash the process. The pool drops it and opens a new one when needed.
  pool.on('error', (err) => opts.onIdleError?.(err));
  let schemaReady: Promise<void> | undefined;
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: async () => {
        if (schema) {
          // Nodes starting together may race to create it; losing that race is fine.
          schemaReady ??= pool.query(`create schema if not exists ${schema}`).then(
            () => undefined,
            (err: { code?: string }) => {
              if (err.code !== '23505' && err.code !== '42P06') throw err;
            },
          );
          await schemaReady;
        }
        return pool;
      },
    }),
  });
  return {
    db,
    dialect: 'postgres',
    async ping() {
      await pool.query('select 1');
    },
    async close() {
      await db.destroy();
    },
  };
}
