import { type Kysely, PostgresIntrospector, sql } from 'kysely';
import {
  type PostgresFoldOptions,
  postgresFoldExpression,
  sqliteUnspacedGlob,
} from '../../search/search-text.js';

/**
 * Full-text search over live messages (src/search). The databases keep the index in step with
 * `messages` on their own, so no application code writes to it:
 *
 * - SQLite: `message_search` maps each live message to a stable integer (an implicit rowid may
 *   change on VACUUM). Two contentless FTS5 tables share that integer as rowid: `messages_fts`
 *   (unicode61, diacritics removed) for words, and `messages_trigram` (trigram) for substrings of
 *   scripts written without spaces, holding only messages that contain such characters. Triggers on
 *   `messages` keep all three in step; a soft delete (deleted_at set) removes the message.
 * - PostgreSQL: `message_documents` holds the tsvector of each live message (the 'simple'
 *   configuration over case- and accent-folded text, `switchboard_search_document`), under a GIN
 *   index, kept in step by a trigger on `messages`. When the pg_trgm extension can be had, a trigram
 *   GIN index on `messages.content` speeds up substring ILIKE. A stored vector, because ranking and
 *   phrase checks read it for every matching row (recomputing it is ~50 times slower); in a table of
 *   its own rather than a generated column, which would rewrite `messages` and put a tsvector into
 *   every `select *` of messages.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (db.introspection instanceof PostgresIntrospector) await upPostgres(db);
  else await upSqlite(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const statements =
    db.introspection instanceof PostgresIntrospector
      ? [
          'drop index if exists messages_content_trgm',
          'drop trigger if exists messages_search_sync on messages',
          'drop function if exists switchboard_search_sync()',
          'drop table if exists message_documents',
          'drop function if exists switchboard_search_document(text)',
          'drop function if exists switchboard_search_fold(text)',
        ]
      : [
          'drop trigger if exists messages_search_insert',
          'drop trigger if exists messages_search_update',
          'drop trigger if exists messages_search_delete',
          'drop table if exists messages_trigram',
          'drop table if exists messages_fts',
          'drop table if exists message_search',
        ];
  for (const s of statements) await sql.raw(s).execute(db);
}

/** contentless_delete=1 (deleting rows of a contentless FTS5 table by rowid) came with 3.43. */
const MIN_SQLITE = [3, 43];

async function upSqlite(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<{ v: string }>`select sqlite_version() as v`.execute(db);
  const [major = 0, minor = 0] = (rows[0]?.v ?? '0.0').split('.').map(Number);
  if (major < MIN_SQLITE[0]! || (major === MIN_SQLITE[0] && minor < MIN_SQLITE[1]!)) {
    throw new Error(`search needs SQLite ${MIN_SQLITE.join('.')} or later, found ${rows[0]?.v}`);
  }
  const unspaced = `glob '${sqliteUnspacedGlob()}'`;
  const docId = (msg: 'new' | 'old') => `(select doc_id from message_search where message_id = ${msg}.id)`;
  const index = `
    insert into messages_fts(rowid, content)
      select doc_id, new.content from message_search where message_id = new.id;
    insert into messages_trigram(rowid, content)
      select doc_id, new.content from message_search where message_id = new.id and new.content ${unspaced};`;
  const unindex = `
    delete from messages_fts where rowid = ${docId('old')};
    delete from messages_trigram where rowid = ${docId('old')};
    delete from message_search where message_id = old.id;`;
  const statements = [
    'create table message_search (doc_id integer primary key, message_id text not null unique)',
    `create virtual table messages_fts using fts5(content, content='', contentless_delete=1,
       tokenize='unicode61 remove_diacritics 2')`,
    `create virtual table messages_trigram using fts5(content, content='', contentless_delete=1,
       tokenize='trigram')`,
    `create trigger messages_search_insert after insert on messages when new.deleted_at is null begin
       insert into message_search(message_id) values (new.id);${index}
     end`,
    // Edits change content, soft deletes set deleted_at: drop the old entry, index the new state.
    `create trigger messages_search_update after update of content, deleted_at on messages begin${unindex}
       insert into message_search(message_id) select new.id where new.deleted_at is null;${index}
     end`,
    `create trigger messages_search_delete after delete on messages begin${unindex}
     end`,
    // Backfill the messages written before this migration.
    'insert into message_search(message_id) select id from messages where deleted_at is null order by created_at, id',
    `insert into messages_fts(rowid, content)
       select s.doc_id, m.content from message_search s join messages m on m.id = s.message_id`,
    `insert into messages_trigram(rowid, content)
       select s.doc_id, m.content from message_search s join messages m on m.id = s.message_id
       where m.content ${unspaced}`,
  ];
  // Kysely runs SQLite migrations outside a transaction; this one applies whole or not at all.
  await db.transaction().execute(async (trx) => {
    for (const s of statements) await sql.raw(s).execute(trx);
  });
}

async function upPostgres(db: Kysely<unknown>): Promise<void> {
  const fold = postgresFoldExpression(await postgresTextSupport(db));
  // Both functions call only pg_catalog functions, so they work under any search_path.
  await sql
    .raw(
      `create function switchboard_search_fold(text) returns text
         language sql immutable parallel safe as $fn$ select ${fold} $fn$`,
    )
    .execute(db);
  await sql
    .raw(
      `create function switchboard_search_document(text) returns tsvector
         language sql immutable parallel safe as $fn$ select to_tsvector('simple'::regconfig, ${fold}) $fn$`,
    )
    .execute(db);
  await sql`create table message_documents (
    message_id text primary key,
    document tsvector not null
  )`.execute(db);
  // Edits change content, soft deletes set deleted_at: the document follows. The function's
  // search_path is fixed to this schema, whatever the session's.
  await sql`create function switchboard_search_sync() returns trigger
    language plpgsql set search_path from current as $fn$
    begin
      if tg_op = 'DELETE' or new.deleted_at is not null then
        delete from message_documents where message_id = (case when tg_op = 'DELETE' then old.id else new.id end);
      else
        insert into message_documents (message_id, document)
          values (new.id, switchboard_search_document(new.content))
          on conflict (message_id) do update set document = excluded.document;
      end if;
      return null;
    end $fn$`.execute(db);
  await sql`create trigger messages_search_sync after insert or delete or update of content, deleted_at
    on messages for each row execute function switchboard_search_sync()`.execute(db);
  // Backfill the messages written before this migration, then index (faster than the other way).
  await sql`insert into message_documents (message_id, document)
    select id, switchboard_search_document(content) from messages where deleted_at is null`.execute(db);
  await sql`create index message_documents_document on message_documents using gin (document)`.execute(db);
  await tryTrigramIndex(db);
}

/** What the fold may rely on: the encoding, and whether lower() folds more than ASCII here. */
async function postgresTextSupport(db: Kysely<unknown>): Promise<PostgresFoldOptions> {
  const { rows } = await sql<{ utf8: boolean }>`
    select current_setting('server_encoding') = 'UTF8' as utf8`.execute(db);
  if (!rows[0]?.utf8) return { utf8: false, lowerFoldsUnicode: false };
  const probe = await sql<{ ok: boolean }>`select lower(${'ÉΣПԱ'}::text) = ${'éσпա'} as ok`.execute(db);
  return { utf8: true, lowerFoldsUnicode: probe.rows[0]?.ok === true };
}

/**
 * Substring search (ILIKE) works without this index, only slower; so a missing pg_trgm, or a role
 * not allowed to create it, must not fail the migration. A savepoint keeps the failure from aborting
 * the migration's transaction.
 */
async function tryTrigramIndex(db: Kysely<unknown>): Promise<void> {
  const available = await sql`select 1 from pg_available_extensions where name = 'pg_trgm'`.execute(db);
  if (available.rows.length === 0) return;
  // An extension is installed once per database, into one schema. Prefer `public`: in the current
  // schema it would vanish (with every index using it, in any schema) when that schema is dropped.
  for (const create of [
    sql`create extension if not exists pg_trgm schema public`,
    sql`create extension if not exists pg_trgm`,
  ]) {
    if (await attempt(db, 'switchboard_trgm', () => create.execute(db))) break;
  }
  // The extension lives wherever it was first created; name its operator class fully.
  const { rows } = await sql<{ schema: string }>`
    select n.nspname as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace
    where e.extname = 'pg_trgm'`.execute(db);
  const schema = rows[0]?.schema;
  if (schema === undefined) return;
  await attempt(db, 'switchboard_trgm', () =>
    sql`create index messages_content_trgm on messages
      using gin (content ${sql.id(schema)}.gin_trgm_ops) where deleted_at is null`.execute(db),
  );
}

/** Runs `fn` inside a savepoint of the migration's transaction; a failure is undone and reported as false. */
async function attempt(db: Kysely<unknown>, name: string, fn: () => Promise<unknown>): Promise<boolean> {
  await sql`savepoint ${sql.id(name)}`.execute(db);
  try {
    await fn();
    await sql`release savepoint ${sql.id(name)}`.execute(db);
    return true;
  } catch {
    await sql`rollback to savepoint ${sql.id(name)}`.execute(db);
    return false;
  }
}
