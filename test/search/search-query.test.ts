import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors/errors.js';
import { parseSearchQuery } from '../../src/search/search-query.js';
import { isUnspaced, postgresFoldExpression, sqliteUnspacedGlob } from '../../src/search/search-text.js';

const invalid = (q: string) => {
  try {
    parseSearchQuery(q);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('VALIDATION_FAILED');
    return;
  }
  throw new Error(`expected ${JSON.stringify(q)} to be rejected`);
};

describe('parseSearchQuery', () => {
  it('splits words and quoted phrases', () => {
    expect(parseSearchQuery('hello "brown fox" world').terms).toEqual([
      { kind: 'words', tokens: ['hello'] },
      { kind: 'words', tokens: ['brown', 'fox'] },
      { kind: 'words', tokens: ['world'] },
    ]);
  });

  it('reduces text to letter and digit tokens: syntax characters are never operators', () => {
    expect(parseSearchQuery('NEAR( OR* ^c e-mail 3.14 a"b c').terms).toEqual([
      { kind: 'words', tokens: ['NEAR'] },
      { kind: 'words', tokens: ['OR'] },
      { kind: 'words', tokens: ['c'] },
      { kind: 'words', tokens: ['e', 'mail'] },
      { kind: 'words', tokens: ['3', '14'] },
      { kind: 'words', tokens: ['a'] },
      { kind: 'words', tokens: ['b', 'c'] },
    ]);
    expect(parseSearchQuery('"unclosed phrase').terms).toEqual([
      { kind: 'words', tokens: ['unclosed', 'phrase'] },
    ]);
  });

  it('keeps accents and composes decomposed letters', () => {
    expect(parseSearchQuery('cafe\u0301 Привет').terms).toEqual([
      { kind: 'words', tokens: ['café'] },
      { kind: 'words', tokens: ['Привет'] },
    ]);
  });

  it('makes unspaced-script tokens substring terms', () => {
    expect(parseSearchQuery('東京 "東京タワー tower" 서울에서').terms).toEqual([
      { kind: 'substring', text: '東京' },
      { kind: 'substring', text: '東京タワー' },
      { kind: 'words', tokens: ['tower'] },
      { kind: 'substring', text: '서울에서' },
    ]);
  });

  it('reads operators', () => {
    expect(parseSearchQuery('HAS:attachment from:@Alice in:room_1 report')).toEqual({
      terms: [{ kind: 'words', tokens: ['report'] }],
      hasAttachment: true,
      fromUsername: 'alice',
      inRoomId: 'room_1',
    });
    expect(parseSearchQuery('from:bob').terms).toEqual([]);
    // Quoted, an operator is text.
    expect(parseSearchQuery('"from:bob"').terms).toEqual([{ kind: 'words', tokens: ['from', 'bob'] }]);
    // Unknown prefixes are text.
    expect(parseSearchQuery('title:x').terms).toEqual([{ kind: 'words', tokens: ['title', 'x'] }]);
  });

  it('rejects queries with nothing to search and conflicting operators', () => {
    for (const q of [
      '',
      '   ',
      '"',
      '""',
      '*',
      '- + ( )',
      '\u0301',
      'has:file',
      'from:a from:b',
      'in:r1 in:r2',
    ]) {
      invalid(q);
    }
    invalid(Array.from({ length: 17 }, (_, i) => `w${i}`).join(' '));
  });
});

describe('search text helpers', () => {
  it('knows which scripts are written without spaces', () => {
    for (const s of ['東京', 'ひらがな', 'カタカナ', '서울', 'ภาษาไทย', '𠀋'])
      expect(isUnspaced(s), s).toBe(true);
    for (const s of ['hello', 'café', 'Привет', 'Καλημέρα', 'שלום', 'مرحبا'])
      expect(isUnspaced(s), s).toBe(false);
  });

  it('builds a SQLite GLOB class', () => {
    expect(sqliteUnspacedGlob()).toMatch(/^\*\[.+\]\*$/u);
    expect(sqliteUnspacedGlob()).toContain('⺀-鿿');
  });

  it('adapts the PostgreSQL fold to the database (evaluated in search-store.test.ts)', () => {
    const full = postgresFoldExpression({ utf8: true, lowerFoldsUnicode: true });
    const cLocale = postgresFoldExpression({ utf8: true, lowerFoldsUnicode: false });
    const ascii = postgresFoldExpression({ utf8: false, lowerFoldsUnicode: false });
    expect(full).toContain('normalize(');
    expect(full).toContain("'ςϐϑϕϖϰϱϵſ', 'σβθφπκρεs'");
    expect(full).not.toContain('П');
    expect(cLocale).toContain('П');
    expect(cLocale.length).toBeGreaterThan(full.length);
    expect([...ascii].every((c) => c.charCodeAt(0) < 0x80)).toBe(true);
    for (const e of [full, cLocale, ascii]) expect(e.match(/\$1/g)).toHaveLength(1);
  });
});
