import { bearerToken, FakeAiServer, sseEvent, type WireProtocol } from './fake-http-server.js';

/**
 * OpenAI Responses API (what AI SDK 6's `openai(model)` calls): `POST /v1/responses` with `stream: true`,
 * auth `Authorization: Bearer`. Stream: response.created → response.output_item.added (message) →
 * response.content_part.added → response.output_text.delta* → response.output_text.done →
 * response.output_item.done → response.completed (usage). Errors: `{"error":{"message","type","code"}}`.
 */
const openaiResponsesProtocol: WireProtocol = {
  matches: (method, path) => method === 'POST' && path === '/responses',
  authorized: (req, _url, apiKey) => apiKey === undefined || bearerToken(req) === apiKey,
  modelOf: (req) => String(req.body?.model ?? 'unknown'),
  encodeAnswer(chunks, usage, model) {
    const responseId = `resp_fake_${Math.random().toString(36).slice(2, 10)}`;
    const itemId = `msg_fake_${Math.random().toString(36).slice(2, 10)}`;
    const createdAt = Math.floor(Date.now() / 1000);
    let seq = 0;
    const ev = (type: string, data: Record<string, unknown>) =>
      sseEvent(type, { type, sequence_number: seq++, ...data });
    const baseResponse = { id: responseId, object: 'response', created_at: createdAt, model, output: [] };
    const text = chunks.join('');
    const message = {
      id: itemId,
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text, annotations: [] }],
    };
    return {
      head: [
        ev('response.created', { response: { ...baseResponse, status: 'in_progress', usage: null } }),
        ev('response.in_progress', { response: { ...baseResponse, status: 'in_progress', usage: null } }),
        ev('response.output_item.added', {
          output_index: 0,
          item: { id: itemId, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
        }),
        ev('response.content_part.added', {
          item_id: itemId,
          output_index: 0,
          content_index: 0,
          part: { type: 'output_text', text: '', annotations: [] },
        }),
      ],
      deltas: chunks.map((delta) =>
        ev('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta }),
      ),
      tail: [
        ev('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text }),
        ev('response.output_item.done', { output_index: 0, item: message }),
        ev('response.completed', {
          response: {
            ...baseResponse,
            status: 'completed',
            output: [message],
            incomplete_details: null,
            usage: {
              input_tokens: usage.inputTokens,
              input_tokens_details: { cached_tokens: 0 },
              output_tokens: usage.outputTokens,
              output_tokens_details: { reasoning_tokens: 0 },
              total_tokens: usage.inputTokens + usage.outputTokens,
            },
          },
        }),
      ],
    };
  },
  encodeStreamError: (message, errorType) =>
    sseEvent('error', {
      type: 'error',
      sequence_number: 999,
      code: errorType ?? 'server_error',
      message,
      param: null,
    }),
  errorBody: (status, message, errorType) => ({
    error: {
      message,
      type:
        errorType ??
        (status === 429 ? 'requests' : status === 401 ? 'invalid_request_error' : 'server_error'),
      param: null,
      code: status === 429 ? 'rate_limit_exceeded' : null,
    },
  }),
};

export function startFakeOpenAI(apiKey = 'sk-openai-test'): Promise<FakeAiServer> {
  return new FakeAiServer(openaiResponsesProtocol, apiKey, '/v1').start();
}
