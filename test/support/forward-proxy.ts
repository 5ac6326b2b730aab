/**
 * A forward proxy on loopback, as corporate networks run: CONNECT tunnels (each recorded with its
 * authority) and absolute-form plain-HTTP requests (each recorded with its URL). `resolve` maps the
 * names clients ask for to the address the proxy connects to, so a test can use names that do not
 * resolve anywhere else (`*.test`): a request that reaches its target without the proxy fails.
 */
import * as http from 'node:http';
import * as net from 'node:net';

export interface ForwardProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Authorities (`host:port`) of the CONNECT tunnels opened, in order. */
  readonly tunnels: string[];
  /** Absolute URLs of the plain-HTTP requests forwarded, in order. */
  readonly forwarded: string[];
  close(): Promise<void>;
}

export interface ForwardProxyOptions {
  /** Answer every CONNECT with 403. */
  readonly refuse?: boolean;
  /** The address to connect to for a requested host name. @default the name itself */
  readonly resolve?: (host: string) => string;
}

export async function startForwardProxy(options: ForwardProxyOptions = {}): Promise<ForwardProxy> {
  const resolveHost = options.resolve ?? ((host: string) => host);
  const tunnels: string[] = [];
  const forwarded: string[] = [];
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = http.createServer((request, response) => {
    forwarded.push(request.url ?? '');
    const target = new URL(request.url ?? '');
    const upstream = http.request(
      {
        host: resolveHost(target.hostname),
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: request.method,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => response.writeHead(502).end());
    request.pipe(upstream);
  });
  server.on('connect', (request: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    tunnels.push(request.url ?? '');
    track(socket);
    if (options.refuse) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const authority = request.url ?? '';
    const split = authority.lastIndexOf(':');
    const host = authority.slice(0, split).replace(/^\[|\]$/g, '');
    const upstream = net.connect(Number(authority.slice(split + 1)), resolveHost(host), () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
