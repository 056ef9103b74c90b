import { FakeAiServer, sseData, type WireProtocol } from './fake-http-server.js';

/**
 * Gemini API: `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`, auth `x-goog-api-key`
 * header (or `?key=`). SSE `data:` frames, each a GenerateContentResponse
 * (`candidates[0].content.parts[].text`, `usageMetadata`); the last one carries `finishReason`.
 * Errors: `{"error":{"code","message","status"}}`.
 */
const STREAM_PATH = /^\/models\/([^/:]+):streamGenerateContent$/;

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

const geminiProtocol: WireProtocol = {
  matches: (method, path) => method === 'POST' && STREAM_PATH.test(path),
  authorized: (req, url, apiKey) =>
    apiKey === undefined ||
    req.headers['x-goog-api-key'] === apiKey ||
    url.searchParams.get('key') === apiKey,
  modelOf: (req) => STREAM_PATH.exec(req.path.replace(/^\/v1beta/, ''))?.[1] ?? 'unknown',
  encodeAnswer(chunks, usage, model) {
    const responseId = `fake${Math.random().toString(36).slice(2, 10)}`;
    return {
      head: [],
      deltas: chunks.map((text, i) => {
        const last = i === chunks.length - 1;
        return sseData({
          candidates: [
            {
              content: { parts: [{ text }], role: 'model' },
              index: 0,
              ...(last ? { finishReason: 'STOP' } : {}),
            },
          ],
          usageMetadata: last
            ? {
                promptTokenCount: usage.inputTokens,
                candidatesTokenCount: usage.outputTokens,
                totalTokenCount: usage.inputTokens + usage.outputTokens,
              }
            : { promptTokenCount: usage.inputTokens, totalTokenCount: usage.inputTokens },
          modelVersion: model,
          responseId,
        });
      }),
      tail:
        chunks.length === 0
          ? [
              sseData({
                candidates: [
                  { content: { parts: [{ text: '' }], role: 'model' }, finishReason: 'STOP', index: 0 },
                ],
                usageMetadata: {
                  promptTokenCount: usage.inputTokens,
                  candidatesTokenCount: usage.outputTokens,
                  totalTokenCount: usage.inputTokens + usage.outputTokens,
                },
                modelVersion: model,
                responseId,
              }),
            ]
          : [],
    };
  },
  encodeStreamError: (message) => sseData({ error: { code: 500, message, status: 'INTERNAL' } }),
  errorBody: (status, message) => ({
    error: { code: status, message, status: STATUS_NAMES[status] ?? 'UNKNOWN' },
  }),
};

export function startFakeGoogle(apiKey = 'google-test-key'): Promise<FakeAiServer> {
  return new FakeAiServer(geminiProtocol, apiKey, '/v1beta').start();
}
