import {
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresIntrospector,
  sql,
} from 'kysely';
import type { Database } from './database.js';
import * as m001 from './migrations/001-initial.js';
import * as m002 from './migrations/002-jobs.js';
import * as m003 from './migrations/003-search.js';
import * as m004 from './migrations/004-client-errors.js';
import * as m005 from './migrations/005-polls.js';
import * as m006 from './migrations/006-join-requests.js';
import * as m007 from './migrations/007-attachments.js';
import * as m008 from './migrations/008-ai.js';
import * as m009 from './migrations/009-agent-jobs.js';
import * as m011 from './migrations/011-bridges.js';
import * as m012 from './migrations/012-webhooks.js';

/** Migrations live in code so the same list runs from source, from dist and in tests. */
const MIGRATIONS: Record<string, Migration> = {
  '001-initial': m001,
  '002-jobs': m002,
  '003-search': m003,
  '004-client-errors': m004,
  '005-polls': m005,
  '006-join-requests': m006,
  '007-attachments': m007,
  '008-ai': m008,
  '009-agent-jobs': m009,
  '011-bridges': m011,
  '012-webhooks': m012,
};

class CodeMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

export interface MigrateResult {
  applied: string[];
}

/** PostgreSQL: a relation or schema vanished while being looked at (another schema's DDL). */
const VANISHED = new Set(['42P01', '3F000']);

/**
 * Applies pending migrations; throws with the failing migration's name. Before running anything,
 * Kysely's migrator lists the tables of every schema in the database; a table dropped by someone
 * else at that moment (another app's or test's schema) fails that listing, so it is retried.
 */
export async function migrateToLatest(db: Kysely<Database>, attempts = 3): Promise<MigrateResult> {
  const migrator = new Migrator({
    db,
    provider: new CodeMigrationProvider(),
    migrationTableSchema: await currentPostgresSchema(db),
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  const code = (error as { code?: string } | undefined)?.code;
  if (error && !failed && attempts > 1 && code && VANISHED.has(code)) {
    return migrateToLatest(db, attempts - 1);
  }
  if (error) {
    const msg = error instanceof Error ? error.message : String(error);
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${msg}`);
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

/**
 * On PostgreSQL, the schema the connection works in (the first of its search_path). Kysely's migrator
 * looks for its bookkeeping tables in every schema unless told one, so another schema of the same
 * database that holds them (another install, a parallel test run) would make it skip creating its own.
 */
async function currentPostgresSchema(db: Kysely<Database>): Promise<string | undefined> {
  if (!(db.introspection instanceof PostgresIntrospector)) return undefined;
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  return rows[0]?.schema ?? undefined;
}
