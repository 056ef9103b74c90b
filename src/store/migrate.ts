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

/** Migrations live in code so the same list runs from source, from dist and in tests. */
const MIGRATIONS: Record<string, Migration> = {
  '001-initial': m001,
  '002-jobs': m002,
};

class CodeMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

export interface MigrateResult {
  applied: string[];
}

/** Applies pending migrations; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>): Promise<MigrateResult> {
  const migrator = new Migrator({
    db,
    provider: new CodeMigrationProvider(),
    migrationTableSchema: await currentPostgresSchema(db),
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
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
