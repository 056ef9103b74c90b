import type { Principal } from '../auth/principal.js';
import { Errors } from '../errors/errors.js';
import type { MessageView } from '../messages/message-model.js';
import { toMessageView } from '../messages/message-views.js';
import { isDiscoverable, loadRoom, requireReadable } from '../rooms/room-access.js';
import { ROOM_TYPES } from '../rooms/room-model.js';
import type { Store } from '../store/store.js';
import { highlight } from './highlight.js';
import { createSearchRepository, type SearchRepository } from './search.repository.js';
import { parseSearchQuery } from './search-query.js';

export interface SearchInput {
  /** Search box text: words, "phrases", has:attachment, from:<username>, in:<roomId>. */
  q: string;
  roomId?: string;
  authorId?: string;
  /** ISO 8601 date-time, or a date (from its UTC start). Inclusive. */
  from?: string;
  /** ISO 8601 date-time, or a date (to its UTC end). Inclusive. */
  to?: string;
  hasAttachment?: boolean;
  limit: number;
  offset: number;
}

export interface SearchResult {
  message: MessageView;
  /** HTML-escaped excerpt with matches wrapped in « » (see highlight.ts). */
  highlight: string;
  /** Relevance, higher is better; comparable only within one result list. */
  rank: number;
}

export interface SearchPage {
  results: SearchResult[];
  pagination: { limit: number; offset: number; hasMore: boolean };
}

const DISCOVERABLE_TYPES = ROOM_TYPES.filter(isDiscoverable);
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/** Message search across every room the caller may read. */
export class SearchService {
  private readonly repo: SearchRepository;

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.repo = createSearchRepository(store.db, store.dialect);
  }

  async search(p: Principal, input: SearchInput): Promise<SearchPage> {
    const parsed = parseSearchQuery(input.q);
    const from = parseTime(input.from, 'from');
    const to = parseTime(input.to, 'to');
    if (from !== undefined && to !== undefined && from > to) throw Errors.validation('from is after to');
    if (input.roomId && parsed.inRoomId && input.roomId !== parsed.inRoomId) {
      throw Errors.validation('roomId and in: name different rooms');
    }
    const now = this.now();
    const roomId = input.roomId ?? parsed.inRoomId;
    // A named room must be readable, and answers exactly as its history would (404, BANNED).
    if (roomId !== undefined) requireReadable(await loadRoom(this.store.repos, p, roomId, now));

    const empty: SearchPage = {
      results: [],
      pagination: { limit: input.limit, offset: input.offset, hasMore: false },
    };
    // Filters given twice must both hold.
    if (parsed.hasAttachment && input.hasAttachment === false) return empty;
    let authorId = input.authorId;
    if (parsed.fromUsername !== undefined) {
      const author = await this.store.repos.users.findByUsername(parsed.fromUsername);
      if (!author || (authorId !== undefined && authorId !== author.id)) return empty;
      authorId = author.id;
    }

    // One extra row tells whether there is more without a count query.
    const hits = await this.repo.search({
      scope: { userId: p.userId, discoverableRoomTypes: DISCOVERABLE_TYPES, now },
      terms: parsed.terms,
      roomId,
      authorId,
      from,
      to,
      hasAttachment: parsed.hasAttachment ?? input.hasAttachment,
      limit: input.limit + 1,
      offset: input.offset,
    });
    const page = hits.slice(0, input.limit);
    const reactions = await this.store.repos.messages.reactionsFor(page.map((h) => h.id));
    return {
      results: page.map((h) => ({
        message: toMessageView(h, { name: h.author_name, avatar: h.author_avatar }, reactions.get(h.id)),
        highlight: highlight(h.content, parsed.terms),
        rank: Number(h.rank),
      })),
      pagination: { limit: input.limit, offset: input.offset, hasMore: hits.length > input.limit },
    };
  }
}

/** Epoch ms of an ISO time; a bare date means the start (`from`) or the end (`to`) of that UTC day. */
function parseTime(value: string | undefined, which: 'from' | 'to'): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) throw Errors.validation(`${which} is not a date or date-time`);
  return DATE_ONLY.test(value) && which === 'to' ? ms + DAY_MS - 1 : ms;
}
