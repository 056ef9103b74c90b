import type { OutboundMessage } from './bridge-model.js';

/**
 * Splits `text` into pieces of at most `max` UTF-16 units (what Telegram, Discord and Slack count),
 * preferring to cut at a line break, then at a space; never inside a surrogate pair.
 */
export function splitText(text: string, max: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = rest.lastIndexOf('\n', max);
    if (cut < max / 2) cut = rest.lastIndexOf(' ', max);
    if (cut < max / 2) cut = max;
    // Do not split a surrogate pair.
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut--;
    out.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).replace(/^[\n ]/, '');
  }
  if (rest.length > 0 || out.length === 0) out.push(rest);
  return out.filter((p, i) => p.length > 0 || i === 0);
}

/**
 * The text a platform shows for a Switchboard message: a person's messages carry their name (the
 * platform shows the bot as the author), the assistant's answers speak for themselves.
 * `bold` wraps the name in the platform's markup.
 */
export function outboundText(msg: OutboundMessage, bold: (name: string) => string): string {
  const body = msg.text.trim() === '' ? '[attachment]' : msg.text;
  if (msg.authorName === null) return body;
  return `${bold(msg.authorName)}: ${body}`;
}
