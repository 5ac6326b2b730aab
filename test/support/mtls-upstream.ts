/**
 * A loopback upstream for upstream-rotation scenarios: a TLS server that greets every client it
 * accepted. With `clientCaPem` it requires client certificates issued by those CAs (mutual TLS);
 * `swap` replaces its certificate or client CAs in place, as a vendor does at cutover.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';

export interface UpstreamMaterial {
  readonly certificatePem: string;
  readonly keyPem: string;
  /** Client CAs accepted; absent means no client certificate is asked for. */
  readonly clientCaPem?: readonly string[];
}

export interface LoopbackUpstream {
  readonly host: string;
  readonly port: number;
  swap(material: UpstreamMaterial): void;
  close(): Promise<void>;
}

export const GREETING = 'hello from upstream\n';

function contextOptions(material: UpstreamMaterial): tls.SecureContextOptions {
  return {
    cert: material.certificatePem,
    key: material.keyPem,
    ...(material.clientCaPem ? { ca: [...material.clientCaPem] } : {}),
  };
}

export async function startLoopbackUpstream(material: UpstreamMaterial): Promise<LoopbackUpstream> {
  const mutual = material.clientCaPem !== undefined;
  const server = tls.createServer({
    ...contextOptions(material),
    requestCert: mutual,
    rejectUnauthorized: mutual,
  });
  server.on('secureConnection', (socket) => {
    socket.on('error', () => undefined);
    socket.end(GREETING);
  });
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    swap: (next) => server.setSecureContext(contextOptions(next)),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Connects the way a consumer does, presenting `certificatePem`/`keyPem`, and reports whether the
 * upstream let it in (it received the greeting) or the error that stopped it.
 */
export function connectAsConsumer(
  upstream: Pick<LoopbackUpstream, 'host' | 'port'>,
  client: { readonly certificatePem: string; readonly keyPem: string } | undefined,
  caPem?: readonly string[],
): Promise<{ readonly ok: boolean; readonly error?: string }> {
  return new Promise((resolve) => {
    let received = '';
    let settled = false;
    const finish = (result: { ok: boolean; error?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const socket = tls.connect({
      host: upstream.host,
      port: upstream.port,
      ...(client ? { cert: client.certificatePem, key: client.keyPem } : {}),
      ...(caPem ? { ca: [...caPem] } : {}),
      rejectUnauthorized: caPem !== undefined,
      checkServerIdentity: () => undefined,
    });
    const timer = setTimeout(() => finish({ ok: false, error: 'timed out' }), 5000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received === GREETING) finish({ ok: true });
    });
    socket.on('error', (error) => finish({ ok: false, error: error.message }));
    socket.on('close', () => finish(received === GREETING ? { ok: true } : { ok: false, error: 'closed' }));
  });
}
