import { createDatabase } from '../../src/store/create-database.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { Store } from '../../src/store/store.js';
import { type Backend, PG_URL, randomSchema } from './backends.js';

/** A migrated, empty store on in-memory SQLite or a fresh PostgreSQL schema. */
export async function openTestStore(backend: Backend): Promise<{ store: Store; close(): Promise<void> }> {
  const schema = backend === 'postgres' ? randomSchema() : undefined;
  const handle = createDatabase(
    backend === 'postgres' ? { url: PG_URL, pgSchema: schema, poolSize: 5 } : { url: ':memory:' },
  );
  await migrateToLatest(handle.db);
  const store = new Store(handle);
  return {
    store,
    async close() {
      await store.close();
      // The schema is dropped by the global teardown (see global-setup.ts).
    },
  };
}
