/**
 * How search sees text, shared by the query parser, the highlighter and the 003 migration (which
 * embeds the ranges and the fold table below in database triggers and functions: changing them needs
 * a new migration that recreates those).
 */

/**
 * Code point ranges of scripts written without spaces between words (Chinese, Japanese, Korean
 * particles, Thai, Lao, Myanmar, Khmer). Word tokenizers see a whole sentence there as one token, so
 * terms containing these characters are matched as substrings instead.
 */
export const UNSPACED_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x0e00, 0x0eff], // Thai, Lao
  [0x1000, 0x109f], // Myanmar
  [0x1100, 0x11ff], // Hangul Jamo
  [0x1780, 0x17ff], // Khmer
  [0x2e80, 0x9fff], // CJK radicals and symbols, Kana, Bopomofo, Hangul compatibility Jamo, CJK ideographs
  [0xa960, 0xa97f], // Hangul Jamo Extended-A
  [0xac00, 0xd7ff], // Hangul syllables, Jamo Extended-B
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xff66, 0xff9f], // Halfwidth Katakana
  [0x20000, 0x3ffff], // CJK ideograph extensions B and later
];

const hex = (cp: number) => `\\u{${cp.toString(16)}}`;
const UNSPACED_RE = new RegExp(`[${UNSPACED_RANGES.map(([a, b]) => `${hex(a)}-${hex(b)}`).join('')}]`, 'u');

/** True if the text contains a character of a script written without spaces. */
export function isUnspaced(text: string): boolean {
  return UNSPACED_RE.test(text);
}

/**
 * A search token: letters and digits, with the combining marks that follow them. Everything else
 * separates tokens, as in SQLite's unicode61 tokenizer.
 */
const TOKEN_RE = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;

export interface Token {
  text: string;
  /** UTF-16 offsets into the tokenized string. */
  start: number;
  end: number;
}

export function tokenize(text: string): Token[] {
  return [...text.matchAll(TOKEN_RE)].map((m) => ({
    text: m[0],
    start: m.index,
    end: m.index + m[0].length,
  }));
}

/** Letters the engines fold beyond lower case (Greek final sigma and symbol variants, long s). */
const EXTRA_FOLDS: Record<string, string> = {
  ς: 'σ',
  ϐ: 'β',
  ϑ: 'θ',
  ϕ: 'φ',
  ϖ: 'π',
  ϰ: 'κ',
  ϱ: 'ρ',
  ϵ: 'ε',
  ſ: 's',
};

/**
 * Case- and accent-insensitive form of a text, for highlighting: lower case, diacritics removed.
 * Folds at least as much as either database does, so whatever they matched is found again.
 */
export function foldText(text: string): string {
  let out = '';
  for (const ch of text) out += foldChar(ch);
  return out;
}

export function foldChar(ch: string): string {
  const lower = ch.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  return EXTRA_FOLDS[lower] ?? lower;
}

/** SQLite GLOB pattern matching text that contains an unspaced-script character. */
export function sqliteUnspacedGlob(): string {
  const cls = UNSPACED_RANGES.map(([a, b]) => `${String.fromCodePoint(a)}-${String.fromCodePoint(b)}`).join(
    '',
  );
  return `*[${cls}]*`;
}

/** Capital letters of cased non-ASCII scripts: Latin, Greek, Cyrillic, Armenian. */
const CASED_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x00c0, 0x024f],
  [0x1e00, 0x1eff],
  [0x0370, 0x03ff],
  [0x1f00, 0x1fff],
  [0x0400, 0x052f],
  [0x0531, 0x058f],
];

export interface PostgresFoldOptions {
  /** The server encoding is UTF8 (what normalize() and non-ASCII literals need). */
  utf8: boolean;
  /** The database's lower() folds non-ASCII capitals (any UTF-8 locale; not the "C" locale). */
  lowerFoldsUnicode: boolean;
}

const PUNCTUATION_RE = '[\\u0021-\\u002f\\u003a-\\u0040\\u005b-\\u0060\\u007b-\\u007e]+';

/**
 * A PostgreSQL expression over `$1` giving text whose 'simple' tsvector holds the tokens SQLite's
 * `unicode61 remove_diacritics 2` would: lower case (with the letters SQLite folds further, and, when
 * the database's lower() folds ASCII only, a table of capitals), diacritics removed from Latin
 * letters (decompose, drop combining marks after a-z, recompose), and ASCII punctuation turned into
 * spaces (PostgreSQL's parser would keep `a@b.com` or `3.14` whole). Uses only immutable pg_catalog
 * functions. translate() costs time per character of its table, so the table stays short unless
 * lower() needs the help. Databases not in UTF8 get lower case and punctuation only.
 */
export function postgresFoldExpression(opts: PostgresFoldOptions): string {
  if (!opts.utf8) return `regexp_replace(lower($1), '${PUNCTUATION_RE}', ' ', 'g')`;
  let from = '';
  let to = '';
  for (const [k, v] of Object.entries(EXTRA_FOLDS)) {
    from += k;
    to += v;
  }
  if (!opts.lowerFoldsUnicode) {
    for (const [a, b] of CASED_RANGES) {
      for (let cp = a; cp <= b; cp++) {
        const ch = String.fromCodePoint(cp);
        const lower = ch.toLowerCase();
        if (/\p{Lu}/u.test(ch) && lower !== ch && [...lower].length === 1) {
          from += ch;
          to += EXTRA_FOLDS[lower] ?? lower;
        }
      }
    }
  }
  const folded = `translate(lower($1), '${from}', '${to}')`;
  const unaccented = `normalize(regexp_replace(normalize(${folded}, NFD), '([a-z])[\\u0300-\\u036f]+', '\\1', 'g'), NFC)`;
  return `regexp_replace(${unaccented}, '${PUNCTUATION_RE}', ' ', 'g')`;
}
