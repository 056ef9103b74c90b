/**
 * Secrets are removed from client error reports before they are stored: values under keys that name
 * credentials, credential query parameters in URLs, and bearer tokens or JWTs inside any text.
 */

export const REDACTED = '[REDACTED]';

/** Key names whose values are credentials (case-insensitive; `x-api-key`, `accessToken`, `Cookie`, …). */
const SECRET_KEY =
  /pass(word|wd|phrase)?|secret|token|authori[sz]ation|^auth$|cookie|api[-_]?key|credential|private[-_]?key|session[-_]?(id|key)?$|^sid$|jwt|bearer|signature/i;

/** Nesting deeper than this is cut off (the serialized size limit already bounds it). */
const MAX_DEPTH = 16;

const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const JWT = /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
/** `name=value` in a query string or fragment. */
const QUERY_PARAM = /([?&#;])([^=&#;?]+)=([^&#;]*)/g;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Replaces bearer tokens, JWTs and credential query parameters inside free text. */
export function redactText(text: string): string {
  return text
    .replace(BEARER, (_m, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(QUERY_PARAM, (m, sep: string, name: string) =>
      isSecretKey(safeDecode(name)) ? `${sep}${name}=${REDACTED}` : m,
    );
}

/** A JSON value with every secret-named key's value replaced and every string passed through `redactText`. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[TRUNCATED]';
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  // fromEntries defines properties, so a `__proto__` key stays data instead of changing the prototype.
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, isSecretKey(k) ? REDACTED : redactValue(v, depth + 1)]),
  );
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
