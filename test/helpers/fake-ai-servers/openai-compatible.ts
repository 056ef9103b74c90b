import { bearerToken, FakeAiServer, sseData, type WireProtocol } from './fake-http-server.js';

/**
 * OpenAI Chat Completions as spoken by Ollama, vLLM and llama.cpp: `POST /v1/chat/completions` with
 * `stream: true`; SSE `data: {"choices":[{"delta":{"content":...}}]}` chunks, a final chunk with
 * `finish_reason`, a usage chunk (`stream_options.include_usage`) and `data: [DONE]`.
 * Auth: `Authorization: Bearer` when a key is configured; none otherwise.
 */
const chatCompletionsProtocol: WireProtocol = {
  matches: (method, path) => method === 'POST' && path === '/chat/completions',
  authorized: (req, _url, apiKey) => apiKey === undefined || bearerToken(req) === apiKey,
  modelOf: (req) => String(req.body?.model ?? 'unknown'),
  encodeAnswer(chunks, usage, model) {
    const id = `chatcmpl-fake${Math.random().toString(36).slice(2, 10)}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      sseData({ id, object: 'chat.completion.chunk', created, model, choices, ...extra });
    return {
      head: [chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])],
      deltas: chunks.map((content) => chunk([{ index: 0, delta: { content }, finish_reason: null }])),
      tail: [
        chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
        chunk([], {
          usage: {
            prompt_tokens: usage.inputTokens,
            completion_tokens: usage.outputTokens,
            total_tokens: usage.inputTokens + usage.outputTokens,
          },
        }),
        sseData('[DONE]'),
      ],
    };
  },
  encodeStreamError: (message, errorType) =>
    sseData({ error: { message, type: errorType ?? 'server_error' } }),
  errorBody: (status, message, errorType) => ({
    error: {
      message,
      type: errorType ?? (status === 429 ? 'rate_limit_exceeded' : 'server_error'),
      code: status,
    },
  }),
};

export function startFakeOpenAICompatible(apiKey?: string): Promise<FakeAiServer> {
  return new FakeAiServer(chatCompletionsProtocol, apiKey, '/v1').start();
}
