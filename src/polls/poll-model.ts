/** The stored definition of a poll: the `poll` key of a `poll` message's metadata. */
export interface PollDefinition {
  options: { id: string; text: string }[];
  multipleChoice: boolean;
  anonymous: boolean;
}

export interface PollOptionView {
  id: string;
  text: string;
  votes: number;
  /** Who chose this option; left out in anonymous polls. */
  voters?: string[];
}

export interface PollView {
  question: string;
  options: PollOptionView[];
  /** Distinct users with at least one vote. */
  totalVoters: number;
  closed: boolean;
  multipleChoice: boolean;
  anonymous: boolean;
  /** The caller's chosen option ids (HTTP and frame answers only, never in the logged event). */
  myVotes?: string[];
}

export const POLL_LIMITS = {
  question: 300,
  minOptions: 2,
  maxOptions: 10,
  option: 100,
} as const;

/** Reads a poll definition from message metadata; undefined when it is not a well-formed poll. */
export function pollDefinition(metadata: Record<string, unknown> | null): PollDefinition | undefined {
  const raw = metadata?.poll as Partial<PollDefinition> | undefined;
  if (!raw || typeof raw !== 'object' || !Array.isArray(raw.options)) return undefined;
  const options = raw.options.filter(
    (o): o is { id: string; text: string } =>
      typeof o === 'object' && o !== null && typeof o.id === 'string' && typeof o.text === 'string',
  );
  if (options.length !== raw.options.length || options.length < POLL_LIMITS.minOptions) return undefined;
  return { options, multipleChoice: raw.multipleChoice === true, anonymous: raw.anonymous === true };
}
