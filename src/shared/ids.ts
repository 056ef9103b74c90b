import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** Opaque id with a readable prefix: `usr_`, `room_`, `msg_`, ... (20 random base32 chars, 100 bits). */
export function newId(prefix: string): string {
  const bytes = randomBytes(20);
  let out = `${prefix}_`;
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}
