import { Errors } from '../errors/errors.js';
import type { SearchTerm } from './search.repository.js';
import { isUnspaced, tokenize } from './search-text.js';

/** What a search box query asks for. */
export interface ParsedSearch {
  /** All must match. */
  terms: SearchTerm[];
  /** `has:attachment` */
  hasAttachment?: boolean;
  /** `from:<username>`, lower-cased, without a leading `@`. */
  fromUsername?: string;
  /** `in:<roomId>` */
  inRoomId?: string;
}

/** More terms make a slow query without finding anything more useful. */
export const MAX_TERMS = 16;

const OPERATOR_RE = /^(has|from|in):(.+)$/i;
/** Shape of ids (`room_…`), so junk never reaches a lookup. */
export const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Parses a query: words (all must match), "quoted phrases", and the operators `has:attachment`,
 * `from:<username>` and `in:<roomId>`. Text is reduced to tokens of letters and digits, so
 * punctuation and search-engine syntax (`*`, `NEAR(`, `OR`, stray quotes) are plain text, never
 * operators. Throws VALIDATION_FAILED when nothing searchable is left.
 */
export function parseSearchQuery(q: string): ParsedSearch {
  const out: ParsedSearch = { terms: [] };
  for (const part of splitQuery(q.normalize('NFC'))) {
    const op = part.quoted ? null : OPERATOR_RE.exec(part.text);
    if (op) applyOperator(out, op[1]!.toLowerCase(), op[2]!);
    else out.terms.push(...termsOf(part.text));
  }
  const filtered = out.hasAttachment !== undefined || out.fromUsername || out.inRoomId;
  if (out.terms.length === 0 && !filtered) {
    throw Errors.validation('The query has no words to search for');
  }
  if (out.terms.length > MAX_TERMS) throw Errors.validation(`At most ${MAX_TERMS} search terms`);
  return out;
}

/** Whitespace-separated words and double-quoted phrases; an unclosed quote runs to the end. */
function splitQuery(q: string): Array<{ text: string; quoted: boolean }> {
  const parts: Array<{ text: string; quoted: boolean }> = [];
  const re = /"([^"]*)"?|[^\s"]+/g;
  for (const m of q.matchAll(re)) {
    if (m[1] !== undefined) parts.push({ text: m[1], quoted: true });
    else parts.push({ text: m[0], quoted: false });
  }
  return parts;
}

function applyOperator(out: ParsedSearch, name: string, value: string): void {
  if (name === 'has') {
    if (value.toLowerCase() !== 'attachment') {
      throw Errors.validation(`Unknown has: filter "${value}"; has:attachment is supported`);
    }
    out.hasAttachment = true;
  } else if (name === 'from') {
    const username = value.replace(/^@/, '').toLowerCase();
    if (!/^[\p{L}\p{N}_.-]{1,64}$/u.test(username)) throw Errors.validation('from: takes a username');
    if (out.fromUsername !== undefined && out.fromUsername !== username) {
      throw Errors.validation('Use from: once');
    }
    out.fromUsername = username;
  } else {
    if (!ID_RE.test(value)) throw Errors.validation('in: takes a room id');
    if (out.inRoomId !== undefined && out.inRoomId !== value) throw Errors.validation('Use in: once');
    out.inRoomId = value;
  }
}

/**
 * Terms of one word or phrase. A word written with punctuation inside (`e-mail`, `3.14`) is a phrase
 * of its tokens, as the word tokenizers index it. Tokens of unspaced scripts are substring terms of
 * their own (their neighbours, if any, become single words).
 */
function termsOf(text: string): SearchTerm[] {
  const tokens = tokenize(text).map((t) => t.text);
  if (tokens.length === 0) return [];
  if (!tokens.some(isUnspaced)) return [{ kind: 'words', tokens }];
  return tokens.map((t) =>
    isUnspaced(t) ? { kind: 'substring' as const, text: t } : { kind: 'words' as const, tokens: [t] },
  );
}
