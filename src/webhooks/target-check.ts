import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** Longest webhook / callback URL accepted, characters. */
export const MAX_URL_LENGTH = 2048;

/** A URL was refused: not http(s), malformed, or its host is (or resolves to) a private address. */
export class TargetRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefusedError';
  }
}

/** The host could not be resolved (DNS down, NXDOMAIN): worth retrying at delivery time. */
export class TargetUnresolvedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetUnresolvedError';
  }
}

/** A checked URL and the address to connect to (the one that was checked: pinned against DNS rebinding). */
export interface CheckedTarget {
  url: URL;
  /** The URL's host without IPv6 brackets. */
  hostname: string;
  address: string;
  family: 4 | 6;
}

export interface TargetCheckOptions {
  /** Private, loopback and link-local targets allowed (tests, all-internal installs). @default false */
  allowPrivate: boolean;
  /** Hosts allowed even when private: exact names or IPs, or `*.suffix` for a domain's subdomains. */
  allowedHosts: readonly string[];
  /** DNS resolution (tests replace it). @default every address of `dns.lookup` */
  resolve?: (hostname: string) => Promise<{ address: string; family: number }[]>;
}

/**
 * The SSRF guard of outgoing webhooks and API-key callbacks: http(s) only, no credentials in the
 * URL, and the host must not be or resolve to a loopback, private, link-local, unique-local,
 * multicast, reserved or unspecified address (IPv4 and IPv6, IPv4-mapped and NAT64 included) unless
 * allowed. A host with several addresses is refused if any of them is not allowed.
 */
export class TargetChecker {
  private readonly resolve: NonNullable<TargetCheckOptions['resolve']>;
  private readonly exact = new Set<string>();
  private readonly suffixes: string[] = [];

  constructor(private readonly opts: TargetCheckOptions) {
    this.resolve = opts.resolve ?? ((h) => dnsLookup(h, { all: true, verbatim: true }));
    for (const raw of opts.allowedHosts) {
      const h = stripBrackets(raw.trim().toLowerCase());
      if (h.startsWith('*.')) this.suffixes.push(h.slice(1));
      else if (h) this.exact.add(h);
    }
  }

  /** Throws TargetRefusedError for a URL that can never be used (syntax, scheme). */
  parse(raw: string): URL {
    if (raw.length > MAX_URL_LENGTH) throw new TargetRefusedError(`URL is longer than ${MAX_URL_LENGTH}`);
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new TargetRefusedError('URL is not valid');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new TargetRefusedError('URL must be http or https');
    if (url.username || url.password) throw new TargetRefusedError('URL must not hold credentials');
    if (!url.hostname) throw new TargetRefusedError('URL has no host');
    return url;
  }

  /**
   * Parses, resolves and checks a URL; returns the address to connect to. Throws
   * TargetRefusedError (refused for good) or TargetUnresolvedError (DNS failed; may work later).
   */
  async check(raw: string): Promise<CheckedTarget> {
    const url = this.parse(raw);
    const hostname = stripBrackets(url.hostname.toLowerCase());
    const trusted = this.opts.allowPrivate || this.hostAllowed(hostname);
    let addresses: { address: string; family: number }[];
    if (isIP(hostname)) addresses = [{ address: hostname, family: isIP(hostname) }];
    else {
      try {
        addresses = await this.resolve(hostname);
      } catch (err) {
        throw new TargetUnresolvedError(
          `could not resolve ${hostname}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
      if (addresses.length === 0) throw new TargetUnresolvedError(`${hostname} has no address`);
    }
    if (!trusted) {
      for (const a of addresses) {
        if (!this.hostAllowed(a.address) && isPrivateAddress(a.address)) {
          throw new TargetRefusedError(
            `${hostname} is a private, loopback or reserved address (${a.address}); set WEBHOOK_ALLOW_PRIVATE or WEBHOOK_ALLOWED_HOSTS to allow it`,
          );
        }
      }
    }
    const first = addresses[0]!;
    return { url, hostname, address: first.address, family: first.family === 6 ? 6 : 4 };
  }

  private hostAllowed(host: string): boolean {
    if (this.exact.has(host)) return true;
    return this.suffixes.some((s) => host.endsWith(s));
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** IPv4 ranges that are not the public internet: [network, prefix length]. */
const V4_BLOCKED: readonly [string, number][] = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local (cloud metadata at 169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];

function v4ToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

const V4_RANGES = V4_BLOCKED.map(([base, bits]) => {
  const size = 2 ** (32 - bits);
  const start = v4ToInt(base)!;
  return [start, start + size - 1] as const;
});

function privateV4(n: number): boolean {
  return V4_RANGES.some(([lo, hi]) => n >= lo && n <= hi);
}

/** An IPv6 address as eight 16-bit groups, or undefined when it is not one. */
export function parseV6(ip: string): number[] | undefined {
  let s = ip.toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two groups.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const n = v4ToInt(tail);
    if (n === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...rest];
  const out: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
    out.push(Number.parseInt(g, 16));
  }
  return out;
}

function privateV6(g: number[]): boolean {
  const [a = 0, b = 0] = g;
  const embeddedV4 = (hi: number, lo: number) => privateV4(hi * 65536 + lo);
  // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
  if (g.slice(0, 6).every((x) => x === 0)) return true;
  // IPv4-translated ::ffff:0:a.b.c.d
  if (g.slice(0, 4).every((x) => x === 0) && g[4] === 0xffff && g[5] === 0) return embeddedV4(g[6]!, g[7]!);
  if ((a & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((a & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((a & 0xffc0) === 0xfec0) return true; // fec0::/10 site-local (deprecated)
  if ((a & 0xff00) === 0xff00) return true; // ff00::/8 multicast
  if (a === 0x2001 && b === 0x0db8) return true; // documentation
  if (a === 0x0064 && b === 0xff9b) return embeddedV4(g[6]!, g[7]!); // NAT64 64:ff9b::/96
  if (a === 0x2002) return embeddedV4(b, g[2]!); // 6to4 carries an IPv4 address
  if (a === 0x0100 && g.slice(1, 4).every((x) => x === 0)) return true; // 100::/64 discard
  return false;
}

/**
 * Whether an IP address is anything but a public unicast address: loopback, private (RFC 1918),
 * carrier-grade NAT, link-local, unique-local, multicast, documentation, reserved or unspecified.
 * IPv4-mapped (::ffff:a.b.c.d), NAT64 and 6to4 addresses are judged by the IPv4 address they carry.
 * Anything that does not parse counts as private (refused).
 */
export function isPrivateAddress(ip: string): boolean {
  const host = stripBrackets(ip);
  if (isIP(host) === 4) return privateV4(v4ToInt(host)!);
  const g = parseV6(host);
  if (!g) return true;
  // IPv4-mapped: ::ffff:a.b.c.d
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return privateV4(g[6]! * 65536 + g[7]!);
  return privateV6(g);
}
