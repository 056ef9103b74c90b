import type { SearchTerm } from './search.repository.js';
import { foldChar, foldText, tokenize } from './search-text.js';

/** Marks around a matched term. Never appear unescaped otherwise in a highlight. */
export const MARK_START = '«';
export const MARK_END = '»';

export interface HighlightOptions {
  /** Longest excerpt, in UTF-16 units, before the ellipses. @default 300 */
  maxLength?: number;
  /** Context kept before the first match when the message is cut. @default 60 */
  lead?: number;
}

type Range = [start: number, end: number];

/**
 * The message text as HTML-escaped text with each match wrapped in « », cut around the first match
 * when long. Everything from the message is escaped, « and » included, so the only literal marks are
 * ours: a client may replace them with <mark> tags and render the result as HTML.
 */
export function highlight(
  content: string,
  terms: readonly SearchTerm[],
  opts: HighlightOptions = {},
): string {
  const maxLength = opts.maxLength ?? 300;
  const ranges = mergeRanges(terms.flatMap((t) => findTerm(content, t)));
  let start = 0;
  let end = content.length;
  if (end > maxLength) {
    const first = ranges[0]?.[0] ?? 0;
    start = Math.max(0, first - (opts.lead ?? 60));
    end = Math.min(content.length, start + maxLength);
    // Cut between words when there is a space to cut at; never inside a surrogate pair.
    if (start > 0) start = afterSpace(content, start, first);
    if (end < content.length) end = beforeSpace(content, end, Math.max(first, start + maxLength / 2));
    start = avoidSplitSurrogate(content, start);
    end = avoidSplitSurrogate(content, end);
  }
  let out = start > 0 ? '…' : '';
  let pos = start;
  for (const [a, b] of ranges) {
    const from = Math.max(a, start);
    const to = Math.min(b, end);
    if (from >= to) continue;
    out += escapeHtml(content.slice(pos, from)) + MARK_START + escapeHtml(content.slice(from, to)) + MARK_END;
    pos = to;
  }
  out += escapeHtml(content.slice(pos, end));
  return end < content.length ? `${out}…` : out;
}

function findTerm(content: string, term: SearchTerm): Range[] {
  return term.kind === 'words' ? findPhrase(content, term.tokens) : findSubstring(content, term.text);
}

/** Runs of whole tokens equal to the phrase's tokens, after folding. */
function findPhrase(content: string, phrase: readonly string[]): Range[] {
  const want = phrase.map(foldText);
  const tokens = tokenize(content);
  const folded = tokens.map((t) => foldText(t.text));
  const out: Range[] = [];
  for (let i = 0; i + want.length <= tokens.length; i++) {
    if (want.every((w, k) => folded[i + k] === w)) {
      out.push([tokens[i]!.start, tokens[i + want.length - 1]!.end]);
    }
  }
  return out;
}

/** Occurrences anywhere, after folding, mapped back to offsets in the original text. */
function findSubstring(content: string, text: string): Range[] {
  const needle = foldText(text);
  if (needle.length === 0) return [];
  let hay = '';
  /** For each UTF-16 unit of `hay`, the start and end of the original character it came from. */
  const origin: Range[] = [];
  let i = 0;
  for (const ch of content) {
    const f = foldChar(ch);
    hay += f;
    for (let k = 0; k < f.length; k++) origin.push([i, i + ch.length]);
    i += ch.length;
  }
  const out: Range[] = [];
  for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + needle.length)) {
    out.push([origin[at]![0], origin[at + needle.length - 1]![1]]);
  }
  return out;
}

function mergeRanges(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && r[0] < last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

/** The position after the first space in [at, limit), or `at`. */
function afterSpace(s: string, at: number, limit: number): number {
  const i = s.slice(at, limit).search(/\s/);
  return i < 0 ? at : at + i + 1;
}

/** The position of the last space in (floor, at], or `at`. */
function beforeSpace(s: string, at: number, floor: number): number {
  for (let i = at; i > floor; i--) if (/\s/.test(s[i]!)) return i;
  return at;
}

/** Moves a cut off the middle of a surrogate pair. */
function avoidSplitSurrogate(s: string, at: number): number {
  const code = s.charCodeAt(at);
  return at > 0 && at < s.length && code >= 0xdc00 && code <= 0xdfff ? at - 1 : at;
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  [MARK_START]: '&#171;',
  [MARK_END]: '&#187;',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'«»]/g, (c) => ENTITIES[c]!);
}
