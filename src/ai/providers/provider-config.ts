import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel } from 'ai';
import { AiError } from './ai-errors.js';

/**
 * Provider settings and the factory that turns them into AI SDK language models.
 *
 * Wire protocols used (what a proxy, a mock or a self-hosted server must speak):
 * - `anthropic`: Messages API, `POST {baseUrl}/messages` (SSE), header `x-api-key`.
 * - `openai`: the **Responses API**, `POST {baseUrl}/responses` (SSE: `response.created`,
 *   `response.output_text.delta`, `response.completed` with usage). This is what the AI SDK 6
 *   `createOpenAI(...)(modelId)` uses by default; header `Authorization: Bearer`.
 * - `google`: Gemini API, `POST {baseUrl}/models/{model}:streamGenerateContent?alt=sse`,
 *   header `x-goog-api-key`.
 * - `openai-compatible`: Chat Completions, `POST {baseUrl}/chat/completions` (SSE `data:` chunks,
 *   `data: [DONE]`), with `stream_options.include_usage` so the server reports tokens. This is what
 *   Ollama (`http://host:11434/v1`), vLLM (`http://host:8000/v1`) and llama.cpp's server speak.
 *   `Authorization: Bearer` only when an API key is set.
 *
 * Base URLs are always passed to the SDK explicitly: left undefined, the SDK would silently read
 * `ANTHROPIC_BASE_URL` / `OPENAI_BASE_URL` from `process.env` itself (and the key from
 * `ANTHROPIC_API_KEY` / `OPENAI_API_KEY` / `GOOGLE_GENERATIVE_AI_API_KEY`), bypassing our config.
 */
export type AiProviderName = 'anthropic' | 'openai' | 'google' | 'openai-compatible';

export const AI_PROVIDER_NAMES: readonly AiProviderName[] = [
  'anthropic',
  'openai',
  'google',
  'openai-compatible',
];

export interface AiProviderSettings {
  name: AiProviderName;
  /** Required for the hosted providers; optional for `openai-compatible` (local servers rarely need one). */
  apiKey?: string;
  /** Override of the API base URL (including the version segment, e.g. `.../v1`). Required for `openai-compatible`. */
  baseUrl?: string;
  model: string;
}

/** A model the SDK can call: the instances our factory builds (never a gateway model-id string). */
export type AiLanguageModel = Exclude<LanguageModel, string>;

/** Models used when the configuration names none. `openai-compatible` has no default: the model must be given. */
export const DEFAULT_AI_MODELS = {
  anthropic: 'claude-sonnet-4-5',
  openai: 'gpt-4o-mini',
  google: 'gemini-2.5-flash',
} as const satisfies Record<Exclude<AiProviderName, 'openai-compatible'>, string>;

export const DEFAULT_AI_BASE_URLS = {
  anthropic: 'https://api.anthropic.com/v1',
  openai: 'https://api.openai.com/v1',
  google: 'https://generativelanguage.googleapis.com/v1beta',
} as const satisfies Record<Exclude<AiProviderName, 'openai-compatible'>, string>;

/**
 * Suggested environment variables (the config layer owns the actual wiring):
 * `AI_PROVIDERS` is the fallback order, a comma-separated list of provider names; for each provider
 * `<PREFIX>_API_KEY`, `<PREFIX>_BASE_URL`, `<PREFIX>_MODEL`.
 */
export const AI_ENV_PREFIXES: Readonly<Record<AiProviderName, string>> = {
  anthropic: 'ANTHROPIC',
  openai: 'OPENAI',
  google: 'GOOGLE',
  'openai-compatible': 'OPENAI_COMPATIBLE',
};

/**
 * Fill in the default model and check that the settings are usable. Throws `AI_NOT_CONFIGURED`
 * when a hosted provider has no key, or an OpenAI-compatible one has no base URL or model.
 */
export function resolveAiProviderSettings(input: {
  name: AiProviderName;
  apiKey?: string | undefined;
  baseUrl?: string | undefined;
  model?: string | undefined;
}): AiProviderSettings {
  if (!AI_PROVIDER_NAMES.includes(input.name)) {
    throw notConfigured(
      `unknown AI provider "${String(input.name)}" (known: ${AI_PROVIDER_NAMES.join(', ')})`,
    );
  }
  const apiKey = nonEmpty(input.apiKey);
  const baseUrl = nonEmpty(input.baseUrl);
  const model =
    nonEmpty(input.model) ?? (input.name === 'openai-compatible' ? undefined : DEFAULT_AI_MODELS[input.name]);
  const prefix = AI_ENV_PREFIXES[input.name];
  if (input.name === 'openai-compatible') {
    if (!baseUrl) throw notConfigured(`${input.name} needs a base URL (${prefix}_BASE_URL)`);
    if (!model) throw notConfigured(`${input.name} needs a model (${prefix}_MODEL)`);
  } else if (!apiKey) {
    throw notConfigured(`${input.name} needs an API key (${prefix}_API_KEY)`);
  }
  return {
    name: input.name,
    model: model!,
    ...(apiKey ? { apiKey } : {}),
    ...(baseUrl ? { baseUrl } : {}),
  };
}

/** Build the AI SDK model for one provider. Validates like `resolveAiProviderSettings` (which it calls). */
export function createLanguageModel(settings: AiProviderSettings): AiLanguageModel {
  const s = resolveAiProviderSettings(settings);
  switch (s.name) {
    case 'anthropic':
      return createAnthropic({ apiKey: s.apiKey, baseURL: s.baseUrl ?? DEFAULT_AI_BASE_URLS.anthropic })(
        s.model,
      );
    case 'openai':
      // `provider(model)` = Responses API (`/responses`). Use `.chat(model)` for Chat Completions.
      return createOpenAI({ apiKey: s.apiKey, baseURL: s.baseUrl ?? DEFAULT_AI_BASE_URLS.openai })(s.model);
    case 'google':
      return createGoogleGenerativeAI({
        apiKey: s.apiKey,
        baseURL: s.baseUrl ?? DEFAULT_AI_BASE_URLS.google,
      })(s.model);
    case 'openai-compatible':
      return createOpenAICompatible({
        name: 'openai-compatible',
        baseURL: s.baseUrl!,
        ...(s.apiKey ? { apiKey: s.apiKey } : {}),
        includeUsage: true,
      }).chatModel(s.model);
    default: {
      const unknown: never = s.name;
      throw notConfigured(`unknown AI provider "${String(unknown)}"`);
    }
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function notConfigured(message: string): AiError {
  return new AiError('AI_NOT_CONFIGURED', `AI provider not configured: ${message}`);
}
