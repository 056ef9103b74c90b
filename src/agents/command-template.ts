/**
 * Command templates (AGENT_COMMAND, AGENT_BUILD_COMMAND): split once into argv like a shell would
 * split words (single and double quotes, backslash escapes), but nothing is ever run through a shell:
 * no globbing, no variables, no pipes. Placeholders `{name}` are replaced inside each word, so
 * `{instruction}` becomes part of exactly one argv element whatever it contains.
 */

export const PLACEHOLDERS = [
  'instruction',
  'jobId',
  'threadId',
  'projectId',
  'userId',
  'branch',
  'kind',
  'workspace',
  'reportDir',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

export class TemplateError extends Error {}

/** Splits a template into words; throws TemplateError on an unclosed quote or an empty template. */
export function splitTemplate(template: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < template.length && '"\\'.includes(template[i + 1]!))
        word += template[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < template.length) {
      word += template[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new TemplateError(`unclosed ${quote} quote`);
  if (inWord) words.push(word);
  if (words.length === 0) throw new TemplateError('the command is empty');
  for (const w of words) {
    for (const m of w.matchAll(/\{([A-Za-z]+)\}/g)) {
      if (!PLACEHOLDERS.includes(m[1] as Placeholder)) {
        throw new TemplateError(`unknown placeholder {${m[1]}} (known: ${PLACEHOLDERS.join(', ')})`);
      }
    }
  }
  return words;
}

/**
 * The argv for one run. A word that came out as an option-like value only because of a placeholder
 * (user text starting with `-`) gets a leading space, so an instruction can never pass a flag to the
 * agent CLI (`--dangerously-skip-permissions` as an instruction stays a prompt).
 */
export function buildArgv(words: readonly string[], values: Partial<Record<Placeholder, string>>): string[] {
  return words.map((w) => {
    if (!w.includes('{')) return w;
    const out = w.replace(/\{([A-Za-z]+)\}/g, (_m, name: string) => values[name as Placeholder] ?? '');
    return out.startsWith('-') && !w.startsWith('-') ? ` ${out}` : out;
  });
}
