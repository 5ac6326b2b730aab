/**
 * A Slack incoming webhook on loopback: answers each request from a script (200, 429 with Retry-After,
 * 500, 404 `channel_not_found`, a dropped connection…) and records what arrived and when.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ScriptedResponse =
  | { readonly status: number; readonly body?: string; readonly headers?: Readonly<Record<string, string>> }
  /** Closes the socket without answering: a network error for the client. */
  | { readonly drop: true };

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** Parsed JSON body, or undefined when it did not parse. */
  readonly json: { text?: string; blocks?: unknown[] } | undefined;
  /** Arrival time from the server's clock (injectable so paced tests can run on virtual time). */
  readonly at: number;
  /** What the server answered. */
  readonly response: ScriptedResponse;
}

export interface FakeSlackServerOptions {
  /** Answers in order; once exhausted, `fallback` answers. */
  readonly script?: readonly ScriptedResponse[];
  /** @default 200 `ok` */
  readonly fallback?: ScriptedResponse;
  /** @default Date.now */
  readonly now?: () => number;
  /** The secret part of the webhook URL the server exposes. @default `/services/T0FAKE/B0FAKE/s3cr3t-t0k3n` */
  readonly path?: string;
}

export interface FakeSlackServer {
  /** Full webhook URL (secret path included). */
  readonly url: string;
  readonly path: string;
  readonly requests: readonly ReceivedRequest[];
  /** Replaces the remaining script. */
  script(responses: readonly ScriptedResponse[]): void;
  /** Bodies of requests answered with 2xx: what Slack would have posted. */
  delivered(): { text?: string; blocks?: unknown[] }[];
  /** Idempotent. */
  close(): Promise<void>;
}

export async function startFakeSlackServer(options: FakeSlackServerOptions = {}): Promise<FakeSlackServer> {
  const path = options.path ?? '/services/T0FAKE/B0FAKE/s3cr3t-t0k3n';
  const now = options.now ?? Date.now;
  const fallback = options.fallback ?? { status: 200, body: 'ok' };
  let queue = [...(options.script ?? [])];
  const requests: ReceivedRequest[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: ReceivedRequest['json'];
      try {
        json = JSON.parse(body) as ReceivedRequest['json'];
      } catch {
        json = undefined;
      }
      const wrongPath = req.url !== path;
      const response: ScriptedResponse = wrongPath
        ? { status: 404, body: 'no_service' }
        : (queue.shift() ?? fallback);
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        json,
        at: now(),
        response,
      });
      if ('drop' in response) {
        req.socket.destroy();
        return;
      }
      res.writeHead(response.status, { 'content-type': 'text/plain', ...(response.headers ?? {}) });
      res.end(response.body ?? '');
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${path}`,
    path,
    requests,
    script(responses) {
      queue = [...responses];
    },
    delivered() {
      return requests
        .filter((r) => !('drop' in r.response) && r.response.status >= 200 && r.response.status < 300)
        .map((r) => r.json ?? {});
    },
    close() {
      if (!server.listening) return Promise.resolve();
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
