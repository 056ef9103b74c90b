import type { MessagesService } from '../messages/messages.service.js';
import type { BotIdentity } from '../users/bot-users.js';

export { type BotIdentity, ensureBotUser } from '../users/bot-users.js';

/** Notice kinds, in `metadata.ai.status` of the bot's `system` messages. */
export type NoticeStatus = 'not_configured' | 'busy' | 'rate_limited' | 'failed' | 'usage' | 'empty';

/**
 * Posts the assistant's messages into a room's log. Every message answering one trigger uses the
 * idempotency key `ai:<jobId>`, so a trigger gets at most one bot message however often its job runs.
 */
export class BotPoster {
  constructor(
    private readonly messages: MessagesService,
    private readonly bot: () => BotIdentity,
    private readonly maxLength: number,
  ) {}

  answer(
    roomId: string,
    replyTo: string,
    jobId: string,
    text: string,
    metadata: Record<string, unknown>,
  ): ReturnType<MessagesService['postAsServer']> {
    const content = this.fit(text.trim() || '(no answer)');
    return this.messages.postAsServer(roomId, this.bot().userId, {
      content,
      type: 'ai_response',
      replyTo,
      clientMsgId: clientMsgIdOf(jobId),
      metadata: { ai: metadata },
    });
  }

  notice(
    roomId: string,
    replyTo: string,
    jobId: string,
    text: string,
    status: NoticeStatus,
    extra: Record<string, unknown> = {},
  ): ReturnType<MessagesService['postAsServer']> {
    return this.messages.postAsServer(roomId, this.bot().userId, {
      content: this.fit(text),
      type: 'system',
      replyTo,
      clientMsgId: clientMsgIdOf(jobId),
      metadata: { ai: { status, ...extra } },
    });
  }

  /** At most MAX_MESSAGE_LENGTH code points; a longer answer is cut with an ellipsis. */
  private fit(text: string): string {
    if (text.length <= this.maxLength) return text;
    const points = [...text];
    if (points.length <= this.maxLength) return text;
    return `${points.slice(0, this.maxLength - 1).join('')}…`;
  }
}

/** The idempotency key of the bot's message answering a job. */
export function clientMsgIdOf(jobId: string): string {
  return `ai:${jobId}`;
}
