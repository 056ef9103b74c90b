/** Removes credentials from a URL before it is logged (`?token=` on WebSocket and SSE URLs). */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token)=)[^&#]*/gi, '$1***');
}

/** pino serializer for requests: method, redacted url, client address; never headers. */
export function requestSerializer(req: {
  method?: string;
  url?: string;
  ip?: string;
  socket?: { remoteAddress?: string };
}) {
  return {
    method: req.method,
    url: redactUrl(req.url ?? ''),
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
  };
}
