/**
 * Browser origin check for WebSockets and SSE: no Origin header (non-browser clients) is fine; a
 * browser must come from the server's own host or a configured origin (`*` allows any).
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
): boolean {
  if (!origin) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
