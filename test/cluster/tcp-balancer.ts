import net from 'node:net';

/**
 * A minimal TCP load balancer for cluster tests: each client connection goes to the next live
 * backend (round robin, skipping ones that refuse). When a backend dies its connections drop, and
 * clients reconnecting through the balancer land on another node — as behind a real one.
 */
export class TcpBalancer {
  private readonly server: net.Server;
  private next = 0;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private backends: number[]) {
    this.server = net.createServer((client) => this.route(client, 0));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  setBackends(ports: number[]): void {
    this.backends = ports;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private route(client: net.Socket, tries: number): void {
    if (this.backends.length === 0 || tries >= this.backends.length) {
      client.destroy();
      return;
    }
    const port = this.backends[this.next++ % this.backends.length]!;
    const upstream = net.connect(port, '127.0.0.1');
    let connected = false;
    this.sockets.add(client);
    this.sockets.add(upstream);
    upstream.once('connect', () => {
      connected = true;
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', () => {
      if (!connected) {
        this.sockets.delete(upstream);
        this.route(client, tries + 1);
      } else {
        client.destroy();
      }
    });
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      if (connected) client.destroy();
    });
    client.on('error', () => upstream.destroy());
    client.on('close', () => {
      this.sockets.delete(client);
      upstream.destroy();
    });
  }
}
