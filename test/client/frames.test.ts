import { describe, expect, it } from 'vitest';
import { AGENT_STEPS, type AgentStep as ServerAgentStep } from '../../src/agents/agent-progress.js';
import type { AiStreamFrame } from '../../src/ai/stream-publisher.js';
import type { AgentStep, PollData, ServerFrames, ServerFrameType } from '../../src/client/index.js';
import type { RoomEventType } from '../../src/events/room-event.js';
import type { PollView } from '../../src/polls/poll-model.js';

/**
 * The SDK's frame types (kept free of server imports) against the server's own: checked by `tsc`
 * (the assertions below fail to compile when the two drift apart), plus a run-time look at the list
 * of agent steps.
 */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(ok: Equal<A, B>) => ok;

describe('SDK frame types', () => {
  it('match what the server sends', () => {
    // Every logged event type has an entry.
    same<Exclude<RoomEventType, ServerFrameType>, never>(true);
    same<Omit<ServerFrames['ai_stream'], never>, Omit<AiStreamFrame, never>>(true);
    same<AgentStep, ServerAgentStep>(true);
    same<PollData, Omit<PollView, 'myVotes'>>(true);
    expect(AGENT_STEPS).toHaveLength(9);
  });
});
