/**
 * What a chat message asks of the assistant. Pure parsing: whether the room lets the assistant act
 * is decided by the caller.
 */
export type Trigger =
  /** `/stop`: cancel the sender's running answers in the room. */
  | { kind: 'stop' }
  /** A mention, `/ai <question>`, or any message in a direct conversation with the bot. */
  | { kind: 'ask'; question: string }
  /** `/summarize [n|unread]`: the last `count` messages, or those since the sender last wrote. */
  | { kind: 'summarize'; count: number; unread: boolean }
  /** `/translate <language> [text]`; without text, the message the command replies to. */
  | { kind: 'translate'; language: string; text: string | null }
  /** A malformed command: answer with how to use it. */
  | { kind: 'usage'; help: string };

/** Messages `/summarize` covers by default, and at most. */
export const SUMMARY_DEFAULT_COUNT = 50;
export const SUMMARY_MAX_COUNT = 500;

export const USAGE = {
  summarize: `Usage: /summarize [n|unread] — n is 1-${SUMMARY_MAX_COUNT} (default ${SUMMARY_DEFAULT_COUNT}).`,
  translate: 'Usage: /translate <language> <text>, or reply to a message with /translate <language>.',
} as const;

export interface TriggerContext {
  /** Names that mention the bot (without `@`), e.g. `ai`, `assistant`. Matched case-insensitively. */
  names: readonly string[];
  /** The message is in a direct conversation with the bot: every message is a question. */
  direct: boolean;
  /** The message replies to another one (`/translate <language>` alone then translates that one). */
  hasReply: boolean;
}

const COMMAND_RE = /^\/([A-Za-z]+)(?:\s+([\s\S]*))?$/;

/** The trigger in `content`, or undefined when the message is not for the assistant. */
export function parseTrigger(content: string, ctx: TriggerContext): Trigger | undefined {
  const text = content.trim();
  const command = COMMAND_RE.exec(text);
  if (command) {
    const parsed = parseCommand(command[1]!.toLowerCase(), (command[2] ?? '').trim(), ctx);
    if (parsed) return parsed;
  }
  const mention = mentionRegex(ctx.names);
  if (mention.test(text)) {
    return { kind: 'ask', question: text.replace(mentionRegex(ctx.names), ' ').replace(/\s+/g, ' ').trim() };
  }
  if (ctx.direct && text.length > 0) return { kind: 'ask', question: text };
  return undefined;
}

function parseCommand(name: string, args: string, ctx: TriggerContext): Trigger | undefined {
  switch (name) {
    case 'stop':
      return { kind: 'stop' };
    case 'ai':
    case 'ask':
      return { kind: 'ask', question: args };
    case 'summarize':
    case 'summarise': {
      if (args === '') return { kind: 'summarize', count: SUMMARY_DEFAULT_COUNT, unread: false };
      if (args.toLowerCase() === 'unread')
        return { kind: 'summarize', count: SUMMARY_MAX_COUNT, unread: true };
      const n = /^\d{1,6}$/.test(args) ? Number(args) : Number.NaN;
      if (n >= 1 && n <= SUMMARY_MAX_COUNT) return { kind: 'summarize', count: n, unread: false };
      return { kind: 'usage', help: USAGE.summarize };
    }
    case 'translate': {
      const m = /^(\S+)(?:\s+([\s\S]+))?$/.exec(args);
      if (!m) return { kind: 'usage', help: USAGE.translate };
      const text = m[2]?.trim() || null;
      if (text === null && !ctx.hasReply) return { kind: 'usage', help: USAGE.translate };
      return { kind: 'translate', language: m[1]!, text };
    }
    default:
      // Other slash commands belong to clients or other bots.
      return undefined;
  }
}

/** `@name` as a word of its own: not inside an email address, not a prefix of a longer name. */
function mentionRegex(names: readonly string[]): RegExp {
  const alternatives = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  return new RegExp(`(^|[^\\w@.])@(?:${alternatives})(?![\\w-])(?!\\.\\w)`, 'gi');
}

/** Whether `content` could hold a trigger at all: a cheap test before any lookup. */
export function mayTrigger(content: string): boolean {
  return content.includes('@') || content.trimStart().startsWith('/');
}
