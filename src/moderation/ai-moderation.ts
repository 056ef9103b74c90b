/** What an AI classifier says about a text. */
export interface ModerationVerdict {
  /** False blocks the message. */
  allowed: boolean;
  /** Shown to the sender when blocked. */
  reason?: string;
  /** E.g. `harassment`, `hate`, `sexual`, `spam`. */
  categories?: string[];
}

/**
 * The hook rooms with moderationLevel `strict` call before a message is stored, on top of the
 * local filter. The AI assistant provides the implementation (src/ai); without one, `strict`
 * rooms get the local filter only.
 */
export interface AiModerationHook {
  classify(
    text: string,
    ctx: { roomId: string; userId: string; signal?: AbortSignal },
  ): Promise<ModerationVerdict>;
}
