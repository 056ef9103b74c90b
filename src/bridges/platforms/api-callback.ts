import type { ConversationTarget, OutboundMessage, PlatformSender, SendOutcome } from '../bridge-model.js';
import { PlatformError } from '../bridge-model.js';
import { platformRequest, statusError } from '../platform-http.js';
import { signBody } from '../signatures.js';

/** POSTs a callback body; the webhooks' pinned sender in production (src/webhooks). */
export type CallbackPost = (
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
) => Promise<{ status: number; text: string }>;

/** Where an API key's replies go. */
export interface CallbackTarget {
  url: string;
  secret: string;
}

/**
 * The conversation key of a `POST /message` conversation: the API key, the integration's platform
 * name and its thread. Kept readable so callbacks can say which thread a reply belongs to.
 */
export function apiConversationKey(keyId: string, platform: string, threadId: string): string {
  return `${keyId}:${platform}:${threadId}`;
}

export function parseApiConversationKey(key: string): { keyId: string; platform: string; threadId: string } {
  const [keyId = '', platform = '', ...rest] = key.split(':');
  return { keyId, platform, threadId: rest.join(':') };
}

/**
 * Replies in `POST /message` conversations, POSTed to the key's callback URL as JSON and signed
 * like outgoing webhooks (`X-Switchboard-Signature: t=..,v1=..`). 2xx is delivered; 4xx other
 * than 408/429 is permanent; the rest is retried by the job queue.
 */
export class ApiCallbackSender implements PlatformSender {
  constructor(
    private readonly callbackFor: (apiKeyId: string) => Promise<CallbackTarget | undefined>,
    private readonly now: () => number,
    /** Checks the URL before each delivery (the SSRF guard); throws to refuse. */
    private readonly checkUrl: (url: string) => Promise<void> = async () => {},
    /** Sends it; the default is a plain fetch, production connects to the checked address (DNS rebinding). */
    private readonly post: CallbackPost = async (url, headers, body, signal) =>
      platformRequest(url, { method: 'POST', headers, body }, signal),
  ) {}

  async send(to: ConversationTarget, msg: OutboundMessage, signal: AbortSignal): Promise<SendOutcome> {
    const target = to.apiKeyId ? await this.callbackFor(to.apiKeyId) : undefined;
    // No callback (or a revoked key): the integration reads replies with GET /message/:id instead.
    if (!target) return { externalIds: [], skipped: 'the API key has no callback URL (or was revoked)' };
    await this.checkUrl(target.url).catch((err: Error) => {
      throw new PlatformError(`callback URL refused: ${err.message}`, false);
    });
    const { platform, threadId } = parseApiConversationKey(to.externalId);
    const body = JSON.stringify({
      type: 'message',
      conversationId: to.id,
      roomId: to.roomId,
      platform,
      threadId,
      inReplyTo: msg.replyToExternalId ?? null,
      message: msg.view,
    });
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Switchboard-Bridge/1',
      'x-switchboard-event': 'bridge.message',
      'x-switchboard-delivery': `${to.id}.${msg.messageId}`,
      'x-switchboard-signature': signBody(target.secret, body, this.now()),
    };
    let res: { status: number; text: string };
    try {
      res = await this.post(target.url, headers, body, signal);
    } catch (err) {
      if (signal.aborted || err instanceof PlatformError) throw err;
      // The guard ran again inside the send: a URL that now resolves privately is refused for good.
      const refused = (err as Error).name === 'TargetRefusedError';
      throw new PlatformError(
        `callback ${refused ? 'URL refused' : 'failed'}: ${(err as Error).message}`,
        !refused,
      );
    }
    if (res.status < 200 || res.status >= 300)
      throw statusError('callback', res.status, res.text.slice(0, 200));
    return { externalIds: [] };
  }
}
