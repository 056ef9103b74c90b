/** `--name value` / `--flag` parsing for scenarios. */
export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

export function intFlag(args: string[], name: string, fallback: number): number {
  const v = flag(args, name);
  return v === undefined ? fallback : Number.parseInt(v, 10);
}

export const has = (args: string[], name: string) => args.includes(`--${name}`);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Loopback source addresses to spread client sockets over (each has its own ephemeral ports). */
export const sourceAddress = (i: number) => `127.0.0.${2 + (i % 16)}`;
