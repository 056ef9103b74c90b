import type { ComponentChildren } from 'preact';

/**
 * Message text as text nodes (never HTML), with http(s) links made clickable. Line breaks are kept by
 * CSS (`white-space: pre-wrap`).
 */
const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

export function RichText({ text }: { text: string }) {
  const parts: (string | { href: string })[] = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push({ href: m[0] });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return (
    <>
      {parts.map((p, i) =>
        typeof p === 'string' ? (
          p
        ) : (
          <a key={i} href={p.href} target="_blank" rel="noopener noreferrer nofollow">
            {p.href}
          </a>
        ),
      )}
    </>
  );
}

const ENTITIES: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
  '&#x27;': "'",
  '&#171;': '«',
  '&#187;': '»',
};

function decodeEntities(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39|#x27|#171|#187);/g, (e) => ENTITIES[e] ?? e);
}

/**
 * A search highlight (HTML-escaped text with matches between « and », docs/api.md "Search") as text
 * and <mark> elements: the escapes are decoded into text, never parsed as HTML.
 */
export function Highlight({ html }: { html: string }) {
  const out: ComponentChildren[] = [];
  let rest = html;
  let key = 0;
  while (rest.length > 0) {
    const open = rest.indexOf('«');
    if (open < 0) {
      out.push(decodeEntities(rest));
      break;
    }
    if (open > 0) out.push(decodeEntities(rest.slice(0, open)));
    const close = rest.indexOf('»', open + 1);
    const end = close < 0 ? rest.length : close;
    out.push(<mark key={key++}>{decodeEntities(rest.slice(open + 1, end))}</mark>);
    rest = close < 0 ? '' : rest.slice(close + 1);
  }
  return <>{out}</>;
}
