import { type AppError, Errors } from '../errors/errors.js';
import type { ModerationLevel } from '../rooms/room-model.js';
import type { AiModerationHook } from './ai-moderation.js';
import { ContentFilter } from './content-filter.js';

export interface ContentPolicyLogger {
  warn(obj: object, msg: string): void;
}

/**
 * A room's moderationLevel applied to text a user wants to store (message content, edits,
 * anonymous aliases, poll options): `none` lets everything through, `basic` runs the local
 * filter, `strict` the local filter and then the AI hook when one is plugged in.
 */
export class ContentPolicy {
  private readonly filter = new ContentFilter();

  constructor(
    private readonly ai?: AiModerationHook,
    private readonly log?: ContentPolicyLogger,
  ) {}

  get hasAi(): boolean {
    return this.ai !== undefined;
  }

  /** The local filter: an error to refuse with, or undefined. Synchronous and cheap. */
  checkLocal(level: ModerationLevel | undefined, texts: readonly string[]): AppError | undefined {
    if (level !== 'basic' && level !== 'strict') return undefined;
    const words = new Set<string>();
    for (const t of texts) for (const w of this.filter.check(t).words) words.add(w);
    if (words.size === 0) return undefined;
    return Errors.contentBlocked('This room does not allow profanity', {
      level,
      source: 'filter',
      // The dictionary forms matched, so a client can say what was wrong without echoing the text.
      words: [...words],
    });
  }

  /**
   * The AI classification of `strict` rooms. If the classifier fails (provider down, timeout) the
   * message goes through with the local filter as the floor: a chat that stops when the AI
   * provider does would be worse. The failure is logged.
   */
  async checkAi(
    level: ModerationLevel | undefined,
    text: string,
    ctx: { roomId: string; userId: string; signal?: AbortSignal },
  ): Promise<void> {
    if (level !== 'strict' || !this.ai) return;
    let verdict: Awaited<ReturnType<AiModerationHook['classify']>>;
    try {
      verdict = await this.ai.classify(text, ctx);
    } catch (err) {
      this.log?.warn(
        { err: (err as Error).message, roomId: ctx.roomId },
        'AI moderation failed; the local filter decided alone',
      );
      return;
    }
    if (!verdict.allowed) {
      throw Errors.contentBlocked(verdict.reason ?? 'The room’s AI moderation blocked this message', {
        level,
        source: 'ai',
        categories: verdict.categories ?? [],
      });
    }
  }
}
