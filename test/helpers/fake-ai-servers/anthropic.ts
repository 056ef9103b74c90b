import { FakeAiServer, sseEvent, type WireProtocol } from './fake-http-server.js';

/**
 * Anthropic Messages API: `POST /v1/messages` with `stream: true`, auth header `x-api-key`.
 * Stream: message_start → content_block_start → content_block_delta(text_delta)* → content_block_stop →
 * message_delta (stop_reason, usage.output_tokens) → message_stop. Errors: `{"type":"error","error":{...}}`.
 */
const anthropicProtocol: WireProtocol = {
  matches: (method, path) => method === 'POST' && path === '/messages',
  authorized: (req, _url, apiKey) => apiKey === undefined || req.headers['x-api-key'] === apiKey,
  modelOf: (req) => String(req.body?.model ?? 'unknown'),
  encodeAnswer(chunks, usage, model) {
    const id = `msg_fake_${Math.random().toString(36).slice(2, 10)}`;
    return {
      head: [
        sseEvent('message_start', {
          type: 'message_start',
          message: {
            id,
            type: 'message',
            role: 'assistant',
            model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: usage.inputTokens, output_tokens: 1 },
          },
        }),
        sseEvent('content_block_start', {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'text', text: '' },
        }),
        sseEvent('ping', { type: 'ping' }),
      ],
      deltas: chunks.map((text) =>
        sseEvent('content_block_delta', {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'text_delta', text },
        }),
      ),
      tail: [
        sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 }),
        sseEvent('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: usage.outputTokens },
        }),
        sseEvent('message_stop', { type: 'message_stop' }),
      ],
    };
  },
  encodeStreamError: (message, errorType) =>
    sseEvent('error', { type: 'error', error: { type: errorType ?? 'overloaded_error', message } }),
  errorBody: (status, message, errorType) => ({
    type: 'error',
    error: { type: errorType ?? defaultErrorType(status), message },
  }),
};

function defaultErrorType(status: number): string {
  if (status === 429) return 'rate_limit_error';
  if (status === 529) return 'overloaded_error';
  if (status === 401) return 'authentication_error';
  if (status === 400) return 'invalid_request_error';
  return 'api_error';
}

export function startFakeAnthropic(apiKey = 'sk-ant-test'): Promise<FakeAiServer> {
  return new FakeAiServer(anthropicProtocol, apiKey, '/v1').start();
}
