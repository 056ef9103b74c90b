import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** Random bytes drawn a page at a time: one getrandom call per 512 ids, not one per id. */
const pool = Buffer.alloc(5120);
let offset = pool.length;

/**
 * Opaque id with a readable prefix: `usr_`, `room_`, `msg_`, ... then 20 base32 chars: 10 of the
 * creation time in ms and 10 random (50 bits). Time first, so ids made later sort later and new
 * rows land at the right edge of every index on an id (random ids scatter each insert over the
 * whole B-tree: many more pages touched per write, on SQLite and PostgreSQL alike). 50 random bits
 * make a collision within one millisecond negligible (below 1e-9 at a million ids in that ms).
 */
export function newId(prefix: string, now = Date.now()): string {
  if (offset + 10 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  let out = `${prefix}_`;
  let t = now;
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  out += time;
  for (let i = 0; i < 10; i++) out += ALPHABET[pool[offset++]! & 31];
  return out;
}
