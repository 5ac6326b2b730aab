/**
 * Proves a client certificate against a mutual-TLS server with one fresh handshake. With TLS 1.3 the
 * client sees `secureConnect` before the server has judged its certificate; the verdict arrives
 * afterwards as either an alert (refused) or a session ticket (accepted). So this waits for one of
 * them; a server that sends neither within the grace period is taken to have accepted (it did not
 * close the connection on us).
 */
import { createHash } from 'node:crypto';
import * as tls from 'node:tls';
import type { ClientAuthProber, ClientAuthResult, ProbeRequest } from '../../domain/ports';

export interface NodeClientAuthProberOptions {
  /** @default 5000 */
  readonly timeoutMs?: number;
  /** How long to wait for the server's verdict after the handshake. @default 1000 */
  readonly verdictGraceMs?: number;
}

export class NodeClientAuthProber implements ClientAuthProber {
  private readonly timeoutMs: number;
  private readonly graceMs: number;

  constructor(options: NodeClientAuthProberOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.graceMs = options.verdictGraceMs ?? 1000;
  }

  checkClientAuth(request: ProbeRequest): Promise<ClientAuthResult> {
    const endpoint = `${request.host}:${request.port}`;
    return new Promise((resolve) => {
      let settled = false;
      let serverFingerprint: string | undefined;
      let socket: tls.TLSSocket;
      const finish = (accepted: boolean, error?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(grace);
        socket?.destroy();
        resolve({
          endpoint,
          accepted,
          ...(error !== undefined ? { error } : {}),
          ...(serverFingerprint ? { serverFingerprint } : {}),
        });
      };
      let grace: NodeJS.Timeout | undefined;
      const timer = setTimeout(
        () => finish(false, `timed out after ${request.timeoutMs ?? this.timeoutMs} ms`),
        request.timeoutMs ?? this.timeoutMs,
      );
      try {
        socket = tls.connect({
          host: request.host,
          port: request.port,
          ...(request.servername ? { servername: request.servername } : {}),
          ...(request.caPem ? { ca: [...request.caPem] } : {}),
          ...(request.clientCertificate
            ? {
                cert: request.clientCertificate.certificatePem,
                key: request.clientCertificate.privateKey.reveal(),
              }
            : {}),
          // The server's own certificate is judged elsewhere; here only its verdict on ours matters.
          rejectUnauthorized: false,
          checkServerIdentity: () => undefined,
        });
      } catch (error) {
        finish(false, `cannot use the client certificate: ${oneLine(error)}`);
        return;
      }
      socket.on('error', (error) => finish(false, describeRefusal(error)));
      socket.once('close', () => finish(false, 'the server closed the connection'));
      socket.once('session', () => finish(true));
      socket.once('secureConnect', () => {
        const peer = socket.getPeerCertificate();
        if (peer?.raw) {
          serverFingerprint = createHash('sha256')
            .update(peer.raw)
            .digest('hex')
            .toUpperCase()
            .replace(/(..)(?!$)/g, '$1:');
        }
        if (socket.getProtocol() !== 'TLSv1.3') {
          finish(true); // before TLS 1.3 the server judged the client certificate inside the handshake
          return;
        }
        grace = setTimeout(() => finish(true), this.graceMs);
      });
    });
  }
}

function describeRefusal(error: unknown): string {
  const message = oneLine(error);
  if (/certificate required/i.test(message)) return 'the server requires a client certificate';
  if (/unknown ca|bad certificate|certificate unknown|alert number 4[0-9]/i.test(message)) {
    return `the server refused the client certificate (${message})`;
  }
  return message;
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? text).replace(/-----BEGIN[\s\S]*/g, '');
}
