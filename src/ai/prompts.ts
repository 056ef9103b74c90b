import type { AiSession } from './ai-sessions.js';
import type { AiChatMessage } from './providers/ai-provider-chain.js';

/**
 * Prompt assembly: pure functions from chat messages to what the provider chain is sent, within a
 * token budget. Tokens are estimated as characters / 4 (rounded up), a usual rule of thumb for
 * English text with the common tokenizers; it errs large for code and small for some scripts, so
 * the budget should leave room below the model's context window.
 */

/** One chat message as the model sees it. */
export interface ContextLine {
  messageId: string;
  seq: number;
  /** Display name, or the alias of an anonymous message (never its hidden author). */
  author: string;
  content: string;
}

export interface Persona {
  botName: string;
  /** Room name, when the room has one (direct conversations do not). */
  roomName?: string;
  /** AI_SYSTEM_PROMPT. */
  extra?: string;
}

export interface Prompt {
  system: string;
  messages: AiChatMessage[];
}

/** What the budget let in, for metadata and tests. */
export interface ContextUse {
  thread: number;
  recent: number;
  turns: number;
  summary: boolean;
  /** Estimated tokens of the whole prompt. */
  tokens: number;
}

export function approxTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

const lineText = (l: ContextLine) => `${l.author}: ${l.content.replace(/\s*\n\s*/g, ' ')}`;

function systemPrompt(p: Persona, task: string): string {
  const where = p.roomName ? ` in the chat room "${p.roomName}"` : ' in a chat';
  const base =
    `You are ${p.botName}, an AI assistant taking part${where} on Switchboard. ` +
    'Chat messages are shown as "Name: text". Be concise and helpful. ' +
    task;
  return p.extra ? `${base}\n\n${p.extra}` : base;
}

const HEADERS = {
  recent: 'Recent messages in this conversation, oldest first:',
  thread: 'The question replies to this thread, oldest first:',
  summary: 'Earlier summary of this conversation:',
  extra: 'Context given with the question:',
} as const;

/** Tokens a section's header and the blank line before it cost. */
const headerCost = (header: string) => approxTokens(header) + 1;

/**
 * Takes lines newest first while they fit in `budget` (the section's header included); returns them
 * oldest first and the tokens used (0 when none fit).
 */
function fitNewest(
  lines: readonly ContextLine[],
  budget: number,
  header: string,
): { lines: ContextLine[]; tokens: number } {
  const taken: ContextLine[] = [];
  let tokens = headerCost(header);
  for (let i = lines.length - 1; i >= 0; i--) {
    const cost = approxTokens(lineText(lines[i]!)) + 1;
    if (tokens + cost > budget) break;
    taken.push(lines[i]!);
    tokens += cost;
  }
  return taken.length === 0 ? { lines: [], tokens: 0 } : { lines: taken.reverse(), tokens };
}

/**
 * A question with its context. Priority within the budget: the question itself (always sent), the
 * client-supplied context (at most half the budget), the thread the question replies to, the
 * session's last summary, the session's earlier turns (those not among the recent messages read),
 * then the room's recent messages — each newest first, so what is cut is the oldest.
 */
export function buildAskPrompt(input: {
  persona: Persona;
  asker: string;
  question: string;
  /** Ancestors of the question's message (the reply chain), oldest first. */
  thread: readonly ContextLine[];
  /** The room's latest messages before the question, oldest first. */
  recent: readonly ContextLine[];
  session?: AiSession | undefined;
  /** Extra context given with `POST /v1/chat/ai/ask`. */
  extraContext?: string | undefined;
  budget: number;
}): Prompt & { use: ContextUse } {
  const system = systemPrompt(
    input.persona,
    'Answer in the language of the question. Use the conversation shown for context; say so when it does not hold the answer.',
  );
  const question = input.question.trim() || '(no question: respond to the conversation above)';
  const ask = `${input.asker} asks: ${question}`;
  let left = input.budget - approxTokens(system) - approxTokens(ask);

  let extra = input.extraContext?.trim() ?? '';
  if (extra) {
    const maxChars = Math.max(0, Math.floor(input.budget / 2) * 4);
    if (extra.length > maxChars) extra = `${extra.slice(0, maxChars)}…`;
    left -= approxTokens(extra) + headerCost(HEADERS.extra);
  }
  const thread = fitNewest(input.thread, Math.max(0, left), HEADERS.thread);
  left -= thread.tokens;
  const inThread = new Set(thread.lines.map((l) => l.messageId));

  const summaryText = input.session?.summary ?? null;
  const summaryCost = summaryText === null ? 0 : approxTokens(summaryText) + headerCost(HEADERS.summary);
  const summary = summaryText !== null && summaryCost <= left;
  if (summary) left -= summaryCost;

  const turns: AiChatMessage[] = [];
  // Turns asked in the room are among its recent messages already: the transcript shows them.
  const candidates = new Set(input.recent.map((l) => l.messageId));
  const sessionTurns = (input.session?.turns ?? []).filter(
    (t) => !t.messageId || !candidates.has(t.messageId),
  );
  for (let i = sessionTurns.length - 1; i >= 0; i--) {
    const t = sessionTurns[i]!;
    const cost = approxTokens(t.q) + approxTokens(t.a);
    if (cost > left) break;
    turns.unshift({ role: 'user', content: t.q }, { role: 'assistant', content: t.a });
    left -= cost;
  }
  const recent = fitNewest(
    input.recent.filter((l) => !inThread.has(l.messageId)),
    Math.max(0, left),
    HEADERS.recent,
  );
  left -= recent.tokens;

  const sections: string[] = [];
  if (summary) sections.push(`${HEADERS.summary}\n${summaryText}`);
  if (recent.lines.length > 0) {
    sections.push(`${HEADERS.recent}\n${recent.lines.map(lineText).join('\n')}`);
  }
  if (thread.lines.length > 0) {
    sections.push(`${HEADERS.thread}\n${thread.lines.map(lineText).join('\n')}`);
  }
  if (extra) sections.push(`${HEADERS.extra}\n${extra}`);
  sections.push(ask);
  const content = sections.join('\n\n');
  const messages: AiChatMessage[] = [...turns, { role: 'user', content }];
  return {
    system,
    messages,
    use: {
      thread: thread.lines.length,
      recent: recent.lines.length,
      turns: turns.length / 2,
      summary,
      tokens: approxTokens(system) + messages.reduce((n, m) => n + approxTokens(m.content), 0),
    },
  };
}

/** A summary of `lines` (oldest first); the newest that fit the budget. Undefined if none fit. */
export function buildSummaryPrompt(input: {
  persona: Persona;
  requester: string;
  lines: readonly ContextLine[];
  unread: boolean;
  budget: number;
}): (Prompt & { use: ContextUse }) | undefined {
  const system = systemPrompt(
    input.persona,
    'You summarize chat conversations: the main topics, decisions, open questions and who said what, ' +
      'in a few short bullet points, in the language most of the messages use.',
  );
  const head = (n: number) =>
    input.unread
      ? `Summarize the ${n} messages ${input.requester} has not seen yet, oldest first:`
      : `Summarize the last ${n} messages of this conversation, oldest first:`;
  const left = input.budget - approxTokens(system) - approxTokens(head(input.lines.length));
  const fit = fitNewest(input.lines, Math.max(0, left), '');
  if (fit.lines.length === 0) return undefined;
  const content = `${head(fit.lines.length)}\n${fit.lines.map(lineText).join('\n')}`;
  return {
    system,
    messages: [{ role: 'user', content }],
    use: {
      thread: 0,
      recent: fit.lines.length,
      turns: 0,
      summary: false,
      tokens: approxTokens(system) + approxTokens(content),
    },
  };
}

export function buildTranslatePrompt(input: { persona: Persona; language: string; text: string }): Prompt {
  return {
    system: systemPrompt(
      input.persona,
      'You translate text. Reply with the translation only: no quotes, notes or explanations.',
    ),
    messages: [{ role: 'user', content: `Translate into ${input.language}:\n\n${input.text}` }],
  };
}
