import { type Kysely, type Migration, Migrator, PostgresIntrospector, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDiscoverable } from '../../src/rooms/room-access.js';
import { ROOM_TYPES } from '../../src/rooms/room-model.js';
import {
  createSearchRepository,
  type SearchQuery,
  type SearchTerm,
} from '../../src/search/search.repository.js';
import { postgresFoldExpression } from '../../src/search/search-text.js';
import { createDatabase, type DatabaseHandle } from '../../src/store/create-database.js';
import type { Database, MessageRow } from '../../src/store/database.js';
import * as m001 from '../../src/store/migrations/001-initial.js';
import * as m002 from '../../src/store/migrations/002-jobs.js';
import * as m003 from '../../src/store/migrations/003-search.js';
import { Store } from '../../src/store/store.js';
import { availableBackends, PG_URL, randomSchema } from '../helpers/backends.js';
import { insertRoom, insertUser, join, messageRow, T0 } from '../store/fixtures.js';

const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** Migration 003 and the search repositories, below the HTTP layer. */
for (const backend of await availableBackends()) {
  describe(`search index (${backend})`, () => {
    let handle: DatabaseHandle;
    let store: Store;
    let migrator: Migrator;
    let userId: string;
    let roomId: string;
    const rows: Record<string, MessageRow> = {};

    function migratorUpTo(db: Kysely<Database>, schema: string | undefined) {
      const migrations: Record<string, Migration> = {
        '001-initial': m001,
        '002-jobs': m002,
        '003-search': m003,
      };
      return new Migrator({
        db,
        provider: { getMigrations: async () => migrations },
        migrationTableSchema: schema,
      });
    }

    const words = (...tokens: string[]): SearchTerm => ({ kind: 'words', tokens });
    const substring = (text: string): SearchTerm => ({ kind: 'substring', text });
    async function ids(...terms: SearchTerm[]): Promise<string[]> {
      const q: SearchQuery = {
        scope: { userId, discoverableRoomTypes: ROOM_TYPES.filter(isDiscoverable), now: T0 },
        terms,
        limit: 50,
        offset: 0,
      };
      const hits = await createSearchRepository(store.db, store.dialect).search(q);
      return hits.map((h) => h.id).sort();
    }
    const idsOf = (...keys: string[]) => keys.map((k) => rows[k]!.id).sort();

    beforeAll(async () => {
      const schema = backend === 'postgres' ? randomSchema() : undefined;
      handle = createDatabase(
        backend === 'postgres' ? { url: PG_URL, pgSchema: schema, poolSize: 3 } : { url: ':memory:' },
      );
      store = new Store(handle);
      migrator = migratorUpTo(handle.db, schema);
      // Messages written before search existed.
      const r = await migrator.migrateTo('002-jobs');
      expect(r.error).toBeUndefined();
      const user = await insertUser(store.repos);
      const room = await insertRoom(store.repos, { type: 'private' });
      await join(store.repos, room.id, user.id);
      userId = user.id;
      roomId = room.id;
      const contents: Record<string, string> = {
        fox: 'The quick brown fox',
        cafe: 'Un café crème',
        tokyo: '我住在東京都',
        gone: 'deleted fox',
      };
      let seq = 0;
      for (const [key, content] of Object.entries(contents)) {
        seq++;
        rows[key] = { ...messageRow(roomId, userId, seq, seq), content };
      }
      rows.gone!.deleted_at = T0;
      await store.repos.messages.insertMany(Object.values(rows));
    });
    afterAll(() => handle.close());

    it('backfills the messages that existed before the migration', async () => {
      const r = await migrator.migrateTo('003-search');
      expect(r.error).toBeUndefined();
      expect(await ids(words('fox'))).toEqual(idsOf('fox'));
      expect(await ids(words('cafe'))).toEqual(idsOf('cafe'));
      expect(await ids(substring('東京都'))).toEqual(idsOf('tokyo'));
      expect(await ids(substring('東京'))).toEqual(idsOf('tokyo'));
    });

    it('follows inserts, edits, soft and hard deletes made with plain SQL', async () => {
      const extra = { ...messageRow(roomId, userId, 10, 10), content: 'brown bear 東京タワー' };
      await store.repos.messages.insertMany([extra]);
      expect(await ids(words('brown'))).toEqual([extra.id, rows.fox!.id].sort());
      expect(await ids(substring('東京'))).toEqual([extra.id, rows.tokyo!.id].sort());

      await store.repos.messages.update(extra.id, { content: 'grizzly', edited_at: T0 });
      expect(await ids(words('brown'))).toEqual(idsOf('fox'));
      expect(await ids(words('grizzly'))).toEqual([extra.id]);
      expect(await ids(substring('タワー'))).toEqual([]);

      await store.repos.messages.update(rows.cafe!.id, { deleted_at: T0, deleted_by: userId });
      expect(await ids(words('cafe'))).toEqual([]);

      await store.db.deleteFrom('messages').where('id', '=', extra.id).execute();
      await store.db.deleteFrom('messages').where('id', '=', rows.tokyo!.id).execute();
      await store.db.deleteFrom('messages').where('id', '=', rows.gone!.id).execute();
      expect(await ids(words('grizzly'))).toEqual([]);
      expect(await ids(substring('東京'))).toEqual([]);
      expect(await ids(words('fox'))).toEqual(idsOf('fox'));

      // The index holds exactly the live messages.
      const indexed =
        backend === 'sqlite'
          ? await store.db.selectFrom('message_search').select('message_id').execute()
          : await store.db.selectFrom('message_documents').select('message_id').execute();
      expect(indexed.map((m) => m.message_id)).toEqual([rows.fox!.id]);
    });

    it('only reads rooms the scope allows', async () => {
      const q: SearchQuery = {
        scope: { userId: 'usr_stranger', discoverableRoomTypes: ['public', 'announcement'], now: T0 },
        terms: [words('fox')],
        limit: 50,
        offset: 0,
      };
      expect(await createSearchRepository(store.db, store.dialect).search(q)).toEqual([]);
    });

    it.runIf(backend === 'postgres')('uses the GIN indexes on PostgreSQL', async () => {
      const plan = async (query: ReturnType<typeof sql>) =>
        store.db.transaction().execute(async (trx) => {
          await sql`set local enable_seqscan = off`.execute(trx);
          const { rows: lines } = await sql<{ 'QUERY PLAN': string }>`explain ${query}`.execute(trx);
          return lines.map((l) => l['QUERY PLAN']).join('\n');
        });
      expect(
        await plan(sql`select message_id from message_documents
          where document @@ phraseto_tsquery('simple', switchboard_search_fold(${'fox'}))`),
      ).toContain('message_documents_document');
      const trgm = await sql`select 1 from pg_indexes where indexname = 'messages_content_trgm'
        and schemaname = current_schema()`.execute(store.db);
      if (trgm.rows.length > 0) {
        expect(
          await plan(sql`select id from messages where deleted_at is null and content ilike ${'%東京都%'}`),
        ).toContain('messages_content_trgm');
      } else {
        console.warn('pg_trgm unavailable: substring search runs without its index');
      }
    });

    it.runIf(backend === 'postgres')('folds text on PostgreSQL as SQLite tokenizes it', async () => {
      const text = "Crème BRÛLÉE, ÉCOLE d'été: Ñandú ŁÓDŹ Привет ЙОД ΛΌΓΟΣ user@example.com 3.14 e\u0301";
      const expected = 'creme brulee ecole d ete nandu łodz привет йод λόγοσ user example com 3 14 e';
      const fold = async (expression: string) => {
        const { rows: r } = await sql<{ f: string }>`select ${sql.raw(expression)} as f`.execute(store.db);
        return r[0]!.f.replace(/\s+/g, ' ').trim();
      };
      const { rows: r } = await sql<{ f: string }>`select switchboard_search_fold(${text}) as f`.execute(
        store.db,
      );
      expect(r[0]!.f.replace(/\s+/g, ' ').trim()).toBe(expected);
      // The other shapes of the expression, on this database: lower() limited to ASCII by the "C"
      // collation stands for a database in the C locale.
      const inC = `(${literal(text)}::text collate "C")`;
      expect(
        await fold(postgresFoldExpression({ utf8: true, lowerFoldsUnicode: false }).replace('$1', inC)),
      ).toBe(expected);
      expect(
        await fold(postgresFoldExpression({ utf8: false, lowerFoldsUnicode: false }).replace('$1', inC)),
      ).toBe('crème brÛlÉe École d été Ñandú ŁÓdŹ Привет ЙОД ΛΌΓΟΣ user example com 3 14 e\u0301');
    });

    it('migrates down and up again', async () => {
      expect((await migrator.migrateDown()).error).toBeUndefined();
      if (handle.db.introspection instanceof PostgresIntrospector) {
        const { rows: fns } = await sql`select 1 from pg_proc
          where proname like 'switchboard_search_%' and pronamespace = current_schema()::regnamespace`.execute(
          handle.db,
        );
        expect(fns).toEqual([]);
        const { rows: tables } = await sql`select 1 from pg_tables
          where tablename = 'message_documents' and schemaname = current_schema()`.execute(handle.db);
        expect(tables).toEqual([]);
      } else {
        const tables = await handle.db.introspection.getTables();
        expect(tables.map((t) => t.name).filter((n) => /search|fts|trigram/.test(n))).toEqual([]);
      }
      expect((await migrator.migrateTo('003-search')).error).toBeUndefined();
      expect(await ids(words('fox'))).toEqual(idsOf('fox'));
    });
  });
}
