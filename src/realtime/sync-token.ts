/**
 * A sync token is the client's whole position, `{roomId: seq}`, as one opaque string
 * (base64url JSON), for transports that can only carry one cursor (SSE Last-Event-ID, long-poll).
 */
export function encodeSyncToken(cursors: ReadonlyMap<string, number> | Record<string, number>): string {
  const obj = cursors instanceof Map ? Object.fromEntries(cursors) : cursors;
  return Buffer.from(JSON.stringify(obj)).toString('base64url');
}

/** Returns undefined for anything that is not a well-formed token. */
export function decodeSyncToken(token: string): Record<string, number> | undefined {
  try {
    const obj: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || k.length > 64) return undefined;
      out[k] = v;
    }
    return out;
  } catch {
    return undefined;
  }
}
