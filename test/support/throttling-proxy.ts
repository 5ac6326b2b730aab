/**
 * A loopback HTTP proxy in front of the emulator that answers the first `throttle` requests with an
 * AWS ThrottlingException (JSON protocol, HTTP 400) and forwards the rest. SDK clients pointed at it
 * go through their real retry strategy, which is what tests of retries need (aws-sdk-client-mock
 * replaces `send` and so skips the retry middleware).
 *
 *   const proxy = await startThrottlingProxy(moto.endpoint, { throttle: 2 });
 *   const client = createAwsClient(EventBridgeClient, { ...moto.clientConfig(), endpoint: proxy.endpoint });
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertLoopbackEndpoint } from './moto';

export interface ThrottlingProxy {
  readonly endpoint: string;
  /** Requests received, throttled or forwarded. */
  readonly requests: () => number;
  readonly throttled: () => number;
  close(): Promise<void>;
}

export interface ThrottlingProxyOptions {
  /** How many requests, from the first, are throttled. Infinity throttles all. */
  readonly throttle: number;
  /** @default 'ThrottlingException' */
  readonly errorCode?: string;
}

async function body(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startThrottlingProxy(
  upstream: string,
  options: ThrottlingProxyOptions,
): Promise<ThrottlingProxy> {
  assertLoopbackEndpoint(upstream);
  let requests = 0;
  let throttled = 0;
  const code = options.errorCode ?? 'ThrottlingException';

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const payload = await body(request);
      requests += 1;
      if (throttled < options.throttle) {
        throttled += 1;
        response.writeHead(400, {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-errortype': code,
          'x-amzn-requestid': `throttled-${requests}`,
        });
        response.end(JSON.stringify({ __type: code, message: 'Rate exceeded' }));
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
      }
      const forwarded = await fetch(new URL(request.url ?? '/', upstream), {
        method: request.method ?? 'POST',
        headers,
        ...(payload.length > 0 ? { body: new Uint8Array(payload) } : {}),
      });
      const answer = Buffer.from(await forwarded.arrayBuffer());
      const answerHeaders: Record<string, string> = {};
      forwarded.headers.forEach((value, name) => {
        if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'content-encoding') {
          answerHeaders[name] = value;
        }
      });
      response.writeHead(forwarded.status, answerHeaders);
      response.end(answer);
    })().catch((error: unknown) => {
      response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests: () => requests,
    throttled: () => throttled,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
