import type { Kysely } from 'kysely';
import type { MessageWithAuthor } from '../messages/messages.repository.js';
import type { Dialect } from '../store/create-database.js';
import type { Database } from '../store/database.js';
import { PostgresSearchRepository } from './postgres-search.js';
import { SqliteSearchRepository } from './sqlite-search.js';

/**
 * One search term. `words`: tokens that must appear next to each other, in order (a single word is a
 * one-token phrase), compared case- and accent-insensitively. `substring`: text that must appear
 * anywhere in the message; only for text containing a character of a script written without spaces
 * (`isUnspaced`, search-text.ts), as the SQLite trigram index holds only messages with such characters.
 */
export type SearchTerm = { kind: 'words'; tokens: string[] } | { kind: 'substring'; text: string };

/** Whose search it is: only messages of rooms this user may read are ever looked at. */
export interface SearchScope {
  userId: string;
  /** Room types anyone not banned may read (public, announcement). */
  discoverableRoomTypes: readonly string[];
  /** Epoch ms; bans that expired at or before it no longer hide a room. */
  now: number;
}

export interface SearchQuery {
  scope: SearchScope;
  /** All must match. Empty: every message that passes the filters. */
  terms: SearchTerm[];
  roomId?: string;
  authorId?: string;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, inclusive. */
  to?: number;
  hasAttachment?: boolean;
  limit: number;
  offset: number;
}

/** A live message with its author and relevance (higher is better; 0 without word terms). */
export type SearchHit = MessageWithAuthor & { rank: number };

/**
 * Full-text search over messages. Results are ordered by rank, then newest first. Implementations
 * are the only code that knows how each database indexes text (migration 003).
 */
export interface SearchRepository {
  search(q: SearchQuery): Promise<SearchHit[]>;
}

export function createSearchRepository(db: Kysely<Database>, dialect: Dialect): SearchRepository {
  return dialect === 'postgres' ? new PostgresSearchRepository(db) : new SqliteSearchRepository(db);
}
