import type { AiModerationHook, ModerationVerdict } from '../moderation/ai-moderation.js';
import type { AiUsage } from './ai-usage.js';
import { AiError, isAiError } from './providers/ai-errors.js';
import type { AiProviderChain } from './providers/ai-provider-chain.js';

const SYSTEM = [
  'You are a content moderation classifier for a chat service.',
  'Decide whether the user message is acceptable in a moderated room. Block harassment, hate, threats,',
  'sexual content, self-harm encouragement, and spam or scams; allow everything else, including',
  'disagreement, criticism and mild informal language.',
  'Reply with one JSON object and nothing else:',
  '{"allowed": true|false, "categories": ["harassment"|"hate"|"threat"|"sexual"|"self-harm"|"spam"|...], "reason": "<short reason, for the sender>"}',
].join(' ');

/** Largest message text sent for classification, in characters (the rest is cut). */
const MAX_TEXT = 8000;

/**
 * The `strict` moderation level's AI classifier: a short JSON classification by the provider chain.
 * A failure (providers down, timeout, an answer that is not a verdict) throws, and the content
 * policy lets the local filter decide alone.
 */
export class LlmModerationHook implements AiModerationHook {
  constructor(
    private readonly chain: AiProviderChain,
    private readonly usage?: AiUsage,
  ) {}

  async classify(
    text: string,
    ctx: { roomId: string; userId: string; signal?: AbortSignal },
  ): Promise<ModerationVerdict> {
    const started = performance.now();
    const usageCtx = { roomId: ctx.roomId, userId: ctx.userId };
    try {
      const answer = await this.chain.complete({
        system: SYSTEM,
        messages: [
          {
            role: 'user',
            content: `Message to classify:\n<<<\n${text.slice(0, MAX_TEXT)}\n>>>`,
          },
        ],
        maxOutputTokens: 200,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      await this.usage?.answered('moderation', usageCtx, answer);
      return parseVerdict(answer.text);
    } catch (err) {
      if (isAiError(err)) await this.usage?.failed('moderation', usageCtx, err, performance.now() - started);
      throw err;
    }
  }
}

/**
 * Reads a verdict from a model's answer: the first JSON object in it (code fences and prose around
 * it are tolerated), with `allowed` (or `flagged` / `blocked`, inverted) as a boolean or a yes/no
 * word. Throws when the answer holds no verdict.
 */
export function parseVerdict(answer: string): ModerationVerdict {
  const json = firstJsonObject(answer);
  if (json) {
    const allowed = readAllowed(json);
    if (allowed !== undefined) {
      const categories = Array.isArray(json.categories)
        ? json.categories.filter((c): c is string => typeof c === 'string' && c.length > 0).slice(0, 10)
        : [];
      const reason = typeof json.reason === 'string' && json.reason.trim() ? json.reason.trim() : undefined;
      return { allowed, ...(categories.length > 0 ? { categories } : {}), ...(reason ? { reason } : {}) };
    }
  }
  // A bare word answer ("ALLOWED", "blocked: spam").
  const word = /^\W*(allowed|allow|safe|ok|blocked|block|flagged|unsafe)\b/i.exec(answer.trim())?.[1];
  if (word) return { allowed: /^(allowed|allow|safe|ok)$/i.test(word) };
  throw new AiError('AI_PROVIDER_ERROR', `moderation answer holds no verdict: ${answer.slice(0, 200)}`);
}

function readAllowed(json: Record<string, unknown>): boolean | undefined {
  const truth = (v: unknown): boolean | undefined => {
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string') {
      if (/^(true|yes|allow(ed)?|safe|ok)$/i.test(v.trim())) return true;
      if (/^(false|no|block(ed)?|flagged|unsafe)$/i.test(v.trim())) return false;
    }
    return undefined;
  };
  const allowed = truth(json.allowed) ?? truth(json.verdict) ?? truth(json.decision);
  if (allowed !== undefined) return allowed;
  const flagged = truth(json.flagged) ?? truth(json.blocked);
  return flagged === undefined ? undefined : !flagged;
}

/** The first balanced `{...}` in `text` that parses as a JSON object. */
function firstJsonObject(text: string): Record<string, unknown> | undefined {
  for (let start = text.indexOf('{'); start !== -1; start = text.indexOf('{', start + 1)) {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
      const ch = text[i];
      if (inString) {
        if (ch === '\\') i++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === '{') depth++;
      else if (ch === '}' && --depth === 0) {
        try {
          const parsed: unknown = JSON.parse(text.slice(start, i + 1));
          if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
            return parsed as Record<string, unknown>;
          }
        } catch {
          // not JSON: try the next `{`
        }
        break;
      }
    }
  }
  return undefined;
}
