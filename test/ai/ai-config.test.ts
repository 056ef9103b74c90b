import { describe, expect, it } from 'vitest';
import { aiProviderSettings } from '../../src/ai/ai-settings.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('AI settings', () => {
  it('defaults: no provider, the @ai bot', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      aiProviders: [],
      aiResponseTimeout: 60_000,
      aiQueueMax: 100,
      aiBotUsername: 'ai',
      aiBotName: 'AI Assistant',
    });
    expect(aiProviderSettings(c)).toEqual([]);
  });

  it('builds provider settings in fallback order, without trailing slashes', () => {
    const c = loadConfig({
      AI_PROVIDERS: 'openai-compatible, anthropic',
      OPENAI_COMPATIBLE_BASE_URL: 'http://127.0.0.1:11434/v1/',
      OPENAI_COMPATIBLE_MODEL: 'llama3.2',
      ANTHROPIC_API_KEY: 'sk-ant',
    });
    expect(aiProviderSettings(c)).toEqual([
      { name: 'openai-compatible', model: 'llama3.2', baseUrl: 'http://127.0.0.1:11434/v1' },
      { name: 'anthropic', model: '', apiKey: 'sk-ant' },
    ]);
  });

  it('reports unknown or repeated providers and missing keys, base URLs and models', () => {
    expect(
      problems({
        AI_PROVIDERS: 'anthropic,openai,google,openai-compatible,mistral,anthropic',
        ANTHROPIC_API_KEY: 'k',
      }),
    ).toEqual([
      'OPENAI_API_KEY: required when AI_PROVIDERS lists openai',
      'GOOGLE_API_KEY: required when AI_PROVIDERS lists google',
      'OPENAI_COMPATIBLE_BASE_URL: required when AI_PROVIDERS lists openai-compatible',
      'OPENAI_COMPATIBLE_MODEL: required when AI_PROVIDERS lists openai-compatible',
      'AI_PROVIDERS: unknown provider "mistral" (known: anthropic, openai, google, openai-compatible)',
      'AI_PROVIDERS: "anthropic" is listed twice',
    ]);
    expect(problems({ AI_BOT_USERNAME: 'A' })).toEqual([
      'AI_BOT_USERNAME: 2-32 of a-z 0-9 _ . - (starting with a letter or digit)',
    ]);
    expect(problems({ OPENAI_COMPATIBLE_BASE_URL: 'not a url' })).toEqual([
      'OPENAI_COMPATIBLE_BASE_URL: "not a url" is not a valid URL',
    ]);
  });
});
