import type { Config } from '../config/config.js';
import type { AiProviderName, AiProviderSettings } from './providers/provider-config.js';

/**
 * Provider names as the config accepts them. Kept here (not imported from provider-config.ts) so that
 * validating the config does not load the AI SDK; the type check below keeps the two lists equal.
 */
const PROVIDERS = [
  'anthropic',
  'openai',
  'google',
  'openai-compatible',
] as const satisfies readonly AiProviderName[];
type MissingProvider = Exclude<AiProviderName, (typeof PROVIDERS)[number]>;
const allListed: MissingProvider extends never ? true : false = true;
void allListed;

/** Bot usernames may be 2 characters (`ai`), which no registered user can have (3 minimum). */
const BOT_USERNAME_RE = /^[a-z0-9][a-z0-9_.-]{1,31}$/;

/** Cross-field checks of the AI settings, reported with the other config problems. */
export function checkAiConfig(c: Config, problems: string[]): void {
  const seen = new Set<string>();
  for (const name of c.aiProviders) {
    if (!(PROVIDERS as readonly string[]).includes(name)) {
      problems.push(`AI_PROVIDERS: unknown provider "${name}" (known: ${PROVIDERS.join(', ')})`);
      continue;
    }
    if (seen.has(name)) problems.push(`AI_PROVIDERS: "${name}" is listed twice`);
    seen.add(name);
    const s = rawSettings(c, name as AiProviderName);
    if (name === 'openai-compatible') {
      if (!s.baseUrl)
        problems.push('OPENAI_COMPATIBLE_BASE_URL: required when AI_PROVIDERS lists openai-compatible');
      if (!s.model)
        problems.push('OPENAI_COMPATIBLE_MODEL: required when AI_PROVIDERS lists openai-compatible');
    } else if (!s.apiKey) {
      problems.push(
        `${ENV_PREFIX[name as AiProviderName]}_API_KEY: required when AI_PROVIDERS lists ${name}`,
      );
    }
  }
  if (!BOT_USERNAME_RE.test(c.aiBotUsername)) {
    problems.push('AI_BOT_USERNAME: 2-32 of a-z 0-9 _ . - (starting with a letter or digit)');
  }
  if (c.aiBotName.trim() === '') problems.push('AI_BOT_NAME: must not be blank');
}

const ENV_PREFIX: Record<AiProviderName, string> = {
  anthropic: 'ANTHROPIC',
  openai: 'OPENAI',
  google: 'GOOGLE',
  'openai-compatible': 'OPENAI_COMPATIBLE',
};

function rawSettings(c: Config, name: AiProviderName) {
  switch (name) {
    case 'anthropic':
      return { apiKey: c.anthropicApiKey, baseUrl: c.anthropicBaseUrl, model: c.anthropicModel };
    case 'openai':
      return { apiKey: c.openaiApiKey, baseUrl: c.openaiBaseUrl, model: c.openaiModel };
    case 'google':
      return { apiKey: c.googleApiKey, baseUrl: c.googleBaseUrl, model: c.googleModel };
    case 'openai-compatible':
      return {
        apiKey: c.openaiCompatibleApiKey,
        baseUrl: c.openaiCompatibleBaseUrl,
        model: c.openaiCompatibleModel,
      };
  }
}

/**
 * The configured providers in fallback order. Base URLs lose a trailing slash (the config normalizes
 * `http://host:8000` to `http://host:8000/`, and the SDK appends `/chat/completions` to it).
 */
export function aiProviderSettings(c: Config): AiProviderSettings[] {
  return c.aiProviders.map((name) => {
    const s = rawSettings(c, name as AiProviderName);
    return {
      name: name as AiProviderName,
      model: s.model ?? '',
      ...(s.apiKey ? { apiKey: s.apiKey } : {}),
      ...(s.baseUrl ? { baseUrl: s.baseUrl.replace(/\/+$/, '') } : {}),
    };
  });
}
