import { describe, expect, it } from 'vitest';
import { escapeHtml, highlight } from '../../src/search/highlight.js';
import type { SearchTerm } from '../../src/search/search.repository.js';

const words = (...tokens: string[]): SearchTerm => ({ kind: 'words', tokens });
const substring = (text: string): SearchTerm => ({ kind: 'substring', text });

describe('highlight', () => {
  it('wraps whole-word matches, case- and accent-insensitively', () => {
    expect(highlight('Un CAFÉ, un cafe, a cafeteria', [words('café')])).toBe(
      'Un «CAFÉ», un «cafe», a cafeteria',
    );
  });

  it('wraps phrases as one span and only in order', () => {
    expect(highlight('the brown fox; fox brown', [words('brown', 'fox')])).toBe('the «brown fox»; fox brown');
  });

  it('wraps substrings anywhere, merging overlaps', () => {
    expect(highlight('我住在東京都', [substring('東京'), substring('京都')])).toBe('我住在«東京都»');
    expect(highlight('𠀋𠀋x', [substring('𠀋')])).toBe('«𠀋»«𠀋»x');
  });

  it('escapes HTML and the marks themselves', () => {
    expect(highlight('<b>bold</b> & «q» it\'s "x"', [words('bold')])).toBe(
      '&lt;b&gt;«bold»&lt;/b&gt; &amp; &#171;q&#187; it&#39;s &quot;x&quot;',
    );
    expect(escapeHtml('<script>')).toBe('&lt;script&gt;');
  });

  it('cuts long text around the first match', () => {
    const text = `${'a '.repeat(200)}needle${' b'.repeat(200)}`;
    const h = highlight(text, [words('needle')], { maxLength: 100, lead: 10 });
    expect(h).toMatch(/^…(a )+«needle»( b)+…$/);
    expect(h.length).toBeLessThanOrEqual(100 + 4);
  });

  it('without terms gives the escaped start of the text', () => {
    expect(highlight('x < y', [])).toBe('x &lt; y');
  });
});
