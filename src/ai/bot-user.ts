import type { MessagesService } from '../messages/messages.service.js';
import { newId } from '../shared/ids.js';
import type { Store } from '../store/store.js';

export interface BotIdentity {
  userId: string;
  username: string;
  displayName: string;
}

/**
 * The assistant's user: created on first start (a bot, without a password, so nobody can log in as
 * it), renamed when AI_BOT_NAME changes. The default username `ai` is shorter than any registered
 * user may choose, so it cannot be taken. Throws when the name belongs to a user who is not a bot.
 */
export async function ensureBotUser(
  store: Store,
  want: { username: string; displayName: string },
  now: number,
): Promise<BotIdentity> {
  const users = store.repos.users;
  for (let tries = 0; tries < 3; tries++) {
    const existing = await users.findByUsername(want.username);
    if (existing) {
      if (existing.is_bot !== 1) {
        throw new Error(
          `AI_BOT_USERNAME "${want.username}" belongs to a user who is not a bot; choose another name`,
        );
      }
      if (existing.display_name !== want.displayName) {
        await users.update(existing.id, { display_name: want.displayName }, now);
      }
      return { userId: existing.id, username: existing.username, displayName: want.displayName };
    }
    try {
      const id = newId('usr');
      await users.insert({
        id,
        username: want.username,
        display_name: want.displayName,
        password_hash: null,
        is_admin: 0,
        is_bot: 1,
        avatar: null,
        external_issuer: null,
        external_subject: null,
        created_at: now,
        updated_at: now,
      });
      return { userId: id, username: want.username, displayName: want.displayName };
    } catch {
      // Another node created it at the same moment: read it back.
    }
  }
  throw new Error(`could not create the AI bot user "${want.username}"`);
}

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
