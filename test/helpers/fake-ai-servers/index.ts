export { startFakeAnthropic } from './anthropic.js';
export { type FakeAiServer, type FakeBehaviour, type RecordedRequest, sleep } from './fake-http-server.js';
export { startFakeGoogle } from './google.js';
export { startFakeOpenAI } from './openai.js';
export { startFakeOpenAICompatible } from './openai-compatible.js';
