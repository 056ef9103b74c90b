import type { Config } from '../config/config.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AiModerationHook } from '../moderation/ai-moderation.js';
import type { Store } from '../store/store.js';
import { AiRepository } from './ai.repository.js';
import { aiProviderSettings } from './ai-settings.js';
import { AiUsage } from './ai-usage.js';
import { LlmModerationHook } from './llm-moderation.js';
import { AiProviderChain } from './providers/ai-provider-chain.js';

export interface AiParts {
  /** The answering chain; undefined when AI_PROVIDERS is empty. */
  chain: AiProviderChain | undefined;
  /** The `strict` moderation classifier (the same providers with AI_MODERATION_TIMEOUT). */
  moderation: AiModerationHook | undefined;
  repo: AiRepository;
  usage: AiUsage;
}

/** The AI pieces the composition root wires into messages (moderation) and the assistant. */
export function createAi(
  config: Config,
  store: Store,
  metrics: Metrics,
  onError: (err: unknown) => void,
  now: () => number,
): AiParts {
  const repo = new AiRepository(store.db);
  const usage = new AiUsage(repo, metrics, onError, now);
  const providers = aiProviderSettings(config);
  if (providers.length === 0) return { chain: undefined, moderation: undefined, repo, usage };
  const chain = new AiProviderChain(providers, {
    timeoutMs: config.aiResponseTimeout,
    maxOutputTokens: config.aiMaxOutputTokens,
  });
  const moderationChain = new AiProviderChain(providers, {
    timeoutMs: config.aiModerationTimeout,
    maxOutputTokens: 200,
  });
  return { chain, moderation: new LlmModerationHook(moderationChain, usage), repo, usage };
}
