/**
 * Connect and handshake budgets: a host that never accepts the TCP connection fails within the connect
 * budget (stage `connect`), a host that accepts but never completes TLS fails within what is left of
 * the whole budget (stage `handshake`).
 */
import { EventEmitter } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import type * as tls from 'node:tls';
import { NodeTlsProber } from '../../../lambda/adapters/net/tls-prober';
import { freshHandshake } from '../../../lambda/adapters/net/tls-handshake';

/** A TLS module whose sockets never connect: what a firewall that drops SYNs looks like. */
function silentNetwork(): Pick<typeof tls, 'connect' | 'checkServerIdentity'> & { destroyed: number } {
  const network = {
    destroyed: 0,
    connect: () => {
      const socket = new EventEmitter() as EventEmitter & { destroy(): void; end(): void };
      socket.destroy = () => {
        network.destroyed++;
      };
      socket.end = () => undefined;
      return socket as unknown as tls.TLSSocket;
    },
    checkServerIdentity: () => undefined,
  };
  return network;
}

describe('the probe timeouts', () => {
  it('gives up on a connection that is never accepted within the connect budget, at the connect stage', async () => {
    // Prepare
    const network = silentNetwork();

    // Act
    const outcome = await freshHandshake(
      network,
      { address: '192.0.2.1', port: 443, nameToMatch: '192.0.2.1', timeoutMs: 60_000, connectTimeoutMs: 50 },
      undefined,
    );

    // Assess: the 50 ms connect budget ended it (the test would time out waiting for 60 s otherwise)
    expect(outcome).toEqual({ ok: false, failure: 'timeout', stage: 'connect' });
    expect(network.destroyed).toBe(1);
  });

  it('reports a host that accepts TCP but never completes TLS as a handshake timeout of the whole budget', async () => {
    // Prepare: a TCP server that accepts and then says nothing
    const sockets: import('node:net').Socket[] = [];
    const server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const prober = new NodeTlsProber({ defaultTimeoutMs: 300, defaultConnectTimeoutMs: 100, workers: 0 });

    try {
      // Act
      const [result] = await prober.probe({ host: '127.0.0.1', port });

      // Assess
      expect(result).toMatchObject({ ok: false, error: 'timed out after 300 ms during handshake' });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
