/**
 * Reads agent output. Claude Code's `--output-format stream-json` prints one JSON object per line:
 * `{"type":"assistant","message":{"content":[{"type":"text","text":...},{"type":"tool_use","name":...}]}}`,
 * `{"type":"user",...}` (tool results), and a last `{"type":"result","result":...,"is_error":...}`.
 * Other agent CLIs print plain text: every non-JSON line is progress as it is.
 */
export interface ParsedLine {
  /** Progress to show, if the line has any. */
  text?: string;
  /** The agent's final answer (a `result` event), used as the job's summary. */
  result?: string;
  /** The `result` event reports a failure. */
  isError?: boolean;
}

const MAX_TEXT = 1000;

export function parseAgentLine(line: string): ParsedLine {
  const trimmed = line.trim();
  if (trimmed === '') return {};
  if (!trimmed.startsWith('{')) return { text: clip(trimmed) };
  let obj: unknown;
  try {
    obj = JSON.parse(trimmed);
  } catch {
    return { text: clip(trimmed) };
  }
  if (typeof obj !== 'object' || obj === null) return {};
  const e = obj as Record<string, unknown>;
  switch (e.type) {
    case 'assistant':
      return { text: describeContent((e.message as { content?: unknown } | undefined)?.content) };
    case 'result': {
      const result = typeof e.result === 'string' ? e.result : undefined;
      const isError = e.is_error === true || (typeof e.subtype === 'string' && e.subtype.startsWith('error'));
      return {
        ...(result !== undefined ? { result } : {}),
        isError,
        ...(isError && result ? { text: clip(result) } : {}),
      };
    }
    case 'system':
      return e.subtype === 'init' ? { text: 'Agent started' } : {};
    default:
      // user (tool results) and unknown events: nothing worth showing
      return typeof e.text === 'string' ? { text: clip(e.text) } : {};
  }
}

function describeContent(content: unknown): string | undefined {
  if (!Array.isArray(content)) return undefined;
  const parts: string[] = [];
  for (const c of content as Record<string, unknown>[]) {
    if (c?.type === 'text' && typeof c.text === 'string' && c.text.trim()) parts.push(c.text.trim());
    else if (c?.type === 'tool_use' && typeof c.name === 'string') parts.push(describeTool(c.name, c.input));
  }
  return parts.length > 0 ? clip(parts.join('\n')) : undefined;
}

function describeTool(name: string, input: unknown): string {
  const i = (input ?? {}) as Record<string, unknown>;
  const target = [i.file_path, i.path, i.command, i.pattern, i.url].find((v) => typeof v === 'string') as
    | string
    | undefined;
  return target ? `${name}: ${clip(target, 200)}` : name;
}

function clip(s: string, max = MAX_TEXT): string {
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
