import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../store/database.js';
import type { SearchHit, SearchQuery, SearchRepository, SearchTerm } from './search.repository.js';
import { containsPattern, runSearch, searchConditions } from './search-sql.js';

/** The trigram tokenizer can only use its index for substrings of at least 3 characters. */
const TRIGRAM_MIN = 3;

/**
 * FTS5 MATCH text for phrases. Every token is quoted, and tokens hold only letters, digits and
 * combining marks (search-text.ts), so user input can never be read as FTS5 syntax.
 */
function matchExpression(phrases: string[]): string {
  return phrases.map((p) => `"${p.replaceAll('"', '""')}"`).join(' ');
}

/**
 * SQLite FTS5 (migration 003): word terms go to `messages_fts` (unicode61, diacritics removed) and
 * are ranked by bm25; substring terms go to `messages_trigram` when they are long enough for its
 * index, and to LIKE on the message text otherwise.
 */
export class SqliteSearchRepository implements SearchRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async search(q: SearchQuery): Promise<SearchHit[]> {
    const words = q.terms.flatMap((t) => (t.kind === 'words' ? [t.tokens.join(' ')] : []));
    const substrings = q.terms.flatMap((t: SearchTerm) => (t.kind === 'substring' ? [t.text] : []));
    const long = substrings.filter((s) => [...s].length >= TRIGRAM_MIN);
    const short = substrings.filter((s) => [...s].length < TRIGRAM_MIN);
    const where: RawBuilder<unknown>[] = searchConditions(q);

    // The first FTS table in play drives the query and gives the rank (bm25: lower is better).
    let from = sql`messages`;
    let rank = sql`0`;
    const driver = words.length > 0 ? 'messages_fts' : long.length > 0 ? 'messages_trigram' : undefined;
    if (driver !== undefined) {
      const table = sql.table(driver);
      from = sql`${table} join message_search on message_search.doc_id = ${table}.rowid
        join messages on messages.id = message_search.message_id`;
      rank = sql`-bm25(${table})`;
    }
    if (words.length > 0) where.push(sql`messages_fts match ${matchExpression(words)}`);
    if (long.length > 0) {
      const match = matchExpression(long);
      where.push(
        driver === 'messages_trigram'
          ? sql`messages_trigram match ${match}`
          : sql`message_search.doc_id in (select rowid from messages_trigram where messages_trigram match ${match})`,
      );
    }
    for (const s of short) where.push(sql`messages.content like ${containsPattern(s)} escape '\\'`);

    return runSearch(this.db, from, where, rank, q);
  }
}
