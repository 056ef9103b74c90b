import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** A process killed by a signal has a signalCode and no exitCode. */
const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A `switchboard serve` in its own process, as an operator runs it. */
export class NodeProcess {
  private child: ChildProcess | undefined;
  readonly log: string[] = [];

  constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve'], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, PORT: String(this.port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (d) => this.log.push(String(d)));
    this.child.stderr?.on('data', (d) => this.log.push(String(d)));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (exited(this.child)) throw new Error(`node ${this.port} exited: ${this.log.join('')}`);
      try {
        const r = await fetch(`${this.url}/ready`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`node ${this.port} did not become ready: ${this.log.join('')}`);
  }

  /** kill -9: no shutdown handlers, sockets just vanish. */
  async kill9(): Promise<void> {
    if (!this.child || exited(this.child)) return;
    const gone = new Promise((r) => this.child!.once('exit', r));
    this.child.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    if (!this.child || exited(this.child)) return;
    const gone = new Promise((r) => this.child!.once('exit', r));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
}

/** A private redis-server on its own port, so a test may stop and restart it without disturbing others. */
export class RedisProcess {
  private child: ChildProcess | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(this.port, '127.0.0.1', () => {
          s.end();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on ${this.port} did not start`);
  }

  async stop(): Promise<void> {
    if (!this.child || exited(this.child)) return;
    const gone = new Promise((r) => this.child!.once('exit', r));
    this.child.kill('SIGKILL');
    await gone;
  }
}
