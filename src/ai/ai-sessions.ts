import { newId } from '../shared/ids.js';
import type { AiRepository, AiSessionRow } from './ai.repository.js';

/** How long a session lives, from its creation (seed: AIContext.expiresAt). */
export const SESSION_TTL_MS = 24 * 60 * 60 * 1000;
/** Question/answer turns a session keeps (older ones fall off). */
export const SESSION_MAX_TURNS = 20;

export interface AiTurn {
  q: string;
  a: string;
  /** The chat message that asked (absent for `POST /v1/chat/ai/ask`). */
  messageId?: string;
}

/** A user's memory with the assistant in one room (`roomId` '' outside rooms). */
export interface AiSession {
  id: string;
  userId: string;
  roomId: string;
  /** Oldest first. */
  turns: AiTurn[];
  /** The latest `/summarize` answer. */
  summary: string | null;
  tokensUsed: number;
  createdAt: number;
  expiresAt: number;
}

/**
 * Per-user, per-room AI sessions (seed 003/004's AIContext): the latest turns and summary, and the
 * tokens spent. A session lives 24 h from its creation; after that it is ignored (a new one starts)
 * and `sweep` deletes it.
 */
export class AiSessions {
  constructor(
    private readonly repo: AiRepository,
    private readonly now: () => number = Date.now,
  ) {}

  /** The live session, or undefined (an expired one is deleted on the way). */
  async find(userId: string, roomId: string): Promise<AiSession | undefined> {
    const row = await this.repo.findSession(userId, roomId);
    if (!row) return undefined;
    if (row.expires_at <= this.now()) {
      await this.repo.deleteSession(row.id);
      return undefined;
    }
    return toSession(row);
  }

  /** Adds a turn (and/or the latest summary) and the tokens it cost, starting a session if needed. */
  async record(
    userId: string,
    roomId: string,
    change: { turn?: AiTurn; summary?: string; tokens: number },
  ): Promise<void> {
    for (let tries = 0; tries < 3; tries++) {
      const now = this.now();
      const current = await this.find(userId, roomId);
      if (current) {
        // A retried job records its turn again: replace it (and count its tokens once).
        const key = change.turn?.messageId;
        const again = key !== undefined && current.turns.some((t) => t.messageId === key);
        const others = again ? current.turns.filter((t) => t.messageId !== key) : current.turns;
        const turns = change.turn ? [...others, change.turn].slice(-SESSION_MAX_TURNS) : current.turns;
        await this.repo.updateSession(current.id, {
          messages: JSON.stringify(turns),
          ...(change.summary !== undefined ? { summary: change.summary } : {}),
          addTokens: again ? 0 : change.tokens,
          now,
        });
        return;
      }
      const inserted = await this.repo.insertSession({
        id: newId('ais'),
        user_id: userId,
        room_id: roomId,
        messages: JSON.stringify(change.turn ? [change.turn] : []),
        summary: change.summary ?? null,
        tokens_used: change.tokens,
        created_at: now,
        updated_at: now,
        expires_at: now + SESSION_TTL_MS,
      });
      if (inserted) return;
      // Another answer started the session at the same moment: add to that one.
    }
  }

  /** Deletes expired sessions; returns how many. */
  sweep(): Promise<number> {
    return this.repo.deleteExpiredSessions(this.now());
  }
}

function toSession(row: AiSessionRow): AiSession {
  let turns: AiTurn[] = [];
  try {
    const parsed: unknown = JSON.parse(row.messages);
    if (Array.isArray(parsed)) {
      turns = parsed.filter(
        (t): t is AiTurn => typeof t?.q === 'string' && typeof t?.a === 'string',
      ) as AiTurn[];
    }
  } catch {
    // A corrupt column is an empty memory, not a failed answer.
  }
  return {
    id: row.id,
    userId: row.user_id,
    roomId: row.room_id,
    turns,
    summary: row.summary,
    tokensUsed: Number(row.tokens_used),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}
