import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/store/create-database.js';

describe('SQLite checkpoints in the background', () => {
  let dir: string;
  let handle: DatabaseHandle | undefined;
  afterEach(async () => {
    await handle?.close();
    handle = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies committed pages into the database file off the writing thread', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-ckpt-'));
    const path = join(dir, 'db.sqlite');
    handle = createDatabase({ url: path });
    const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(handle.db);
    expect(rows[0]?.wal_autocheckpoint).toBe(0); // the writer no longer checkpoints in its commits
    await sql`create table t (id integer primary key, v text)`.execute(handle.db);
    const before = statSync(path).size;
    // ~200 pages: well below SQLite's automatic threshold (1,000), so only the worker copies them.
    await handle.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 200; i++) await sql`insert into t (v) values (${'x'.repeat(3000)})`.execute(trx);
    });
    expect(statSync(path).size).toBe(before); // committed to the WAL, not yet to the file
    await expect.poll(() => statSync(path).size, { timeout: 10_000, interval: 50 }).toBeGreaterThan(600_000);
    // What the file holds is the committed data: a reader of the file alone sees every row.
    await handle.close();
    handle = undefined;
    const reader = new SQLite(path, { readonly: true });
    expect(reader.prepare('select count(*) as n from t').get()).toEqual({ n: 200 });
    reader.close();
  });

  it('closes many databases in a row without waiting on the worker, and in-memory ones need none', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-ckpt-'));
    for (let i = 0; i < 20; i++) {
      const h = createDatabase({ url: join(dir, `db${i}.sqlite`) });
      await sql`create table t (id integer primary key)`.execute(h.db);
      await h.close();
    }
    const mem = createDatabase({ url: ':memory:' });
    const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(mem.db);
    expect(rows[0]?.wal_autocheckpoint).toBe(1000);
    await mem.close();
  });
});
