import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../store/database.js';
import type { SearchHit, SearchQuery, SearchRepository } from './search.repository.js';
import { containsPattern, runSearch, searchConditions } from './search-sql.js';

/**
 * PostgreSQL (migration 003): word terms match the stored `message_documents.document` tsvector
 * under its GIN index and are ranked by ts_rank (normalized by document length, like bm25);
 * substring terms use ILIKE, which the pg_trgm index speeds up when it exists.
 *
 * User text reaches the engine only as bound parameters of phraseto_tsquery, which has no operator
 * syntax: nothing typed can be read as a tsquery operator.
 */
export class PostgresSearchRepository implements SearchRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async search(q: SearchQuery): Promise<SearchHit[]> {
    const where: RawBuilder<unknown>[] = searchConditions(q);
    const phrases = q.terms.flatMap((t) =>
      t.kind === 'words'
        ? [sql`phraseto_tsquery('simple', switchboard_search_fold(${t.tokens.join(' ')}))`]
        : [],
    );
    let from = sql`messages`;
    let rank = sql`0::real`;
    if (phrases.length > 0) {
      const query = sql`(${sql.join(phrases, sql` && `)})`;
      from = sql`messages join message_documents on message_documents.message_id = messages.id`;
      where.push(sql`message_documents.document @@ ${query}`);
      rank = sql`ts_rank(message_documents.document, ${query}, 1)`;
    }
    for (const t of q.terms) {
      if (t.kind === 'substring') where.push(sql`messages.content ilike ${containsPattern(t.text)}`);
    }

    return runSearch(this.db, from, where, rank, q);
  }
}
