/**
 * One fresh TLS handshake to one address, reduced to plain data (DER bytes, codes, flags) so that it
 * can run on the main thread or in a worker thread and give the same answer either way.
 *
 * `freshHandshake` is shipped to worker threads as source text (`freshHandshake.toString()`), so it
 * must stay self-contained: it may use only its parameters and JavaScript/Node globals, never an
 * import or another function of this module. The worker test proves the text still runs.
 */
import type * as tls from 'node:tls';

export interface HandshakeJob {
  /** The IP address to connect to. */
  readonly address: string;
  readonly port: number;
  readonly servername?: string;
  /** The name the leaf must match: the SNI name, or the address when none is sent. */
  readonly nameToMatch: string;
  /** Connect + handshake budget. */
  readonly timeoutMs: number;
  /** Budget of the TCP connect alone, within `timeoutMs`. @default timeoutMs */
  readonly connectTimeoutMs?: number;
}

export type HandshakeStage = 'connect' | 'handshake';

export type HandshakeOutcome =
  | {
      readonly ok: true;
      readonly protocol: string | null;
      readonly authorized: boolean;
      /** OpenSSL's verify code, e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`. */
      readonly authorizationErrorCode?: string;
      /** DER of each certificate, leaf first, with OpenSSL's SHA-256 fingerprint of each. */
      readonly chain: readonly { readonly der: Uint8Array; readonly fingerprint256: string }[];
      readonly hostnameMatches: boolean;
      readonly handshakeMs: number;
    }
  | {
      readonly ok: false;
      readonly failure:
        | 'connect-threw'
        | 'error'
        | 'closed'
        | 'timeout'
        | 'no-certificate'
        | 'resumed'
        | 'identity-check-threw';
      readonly stage: HandshakeStage;
      readonly code?: string;
      readonly message?: string;
    };

/**
 * Connects with no agent and no session (Node's client never resumes unless handed a session, and the
 * contexts this prober builds do not offer tickets), waits for the handshake within the budget, reads
 * the peer's chain, and closes. Never rejects.
 */
export function freshHandshake(
  tlsModule: Pick<typeof tls, 'connect' | 'checkServerIdentity'>,
  job: HandshakeJob,
  secureContext: tls.SecureContext | undefined,
): Promise<HandshakeOutcome> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    let stage: HandshakeStage = 'connect';
    let settled = false;
    let socket: tls.TLSSocket;
    try {
      const options: tls.ConnectionOptions = {
        host: job.address,
        port: job.port,
        // Verification is reported, not enforced: a probe must see an untrusted chain to describe it.
        rejectUnauthorized: false,
        // Checked below against the name that matters (SNI or the address).
        checkServerIdentity: () => undefined,
      };
      if (job.servername !== undefined) options.servername = job.servername;
      if (secureContext) options.secureContext = secureContext;
      socket = tlsModule.connect(options);
    } catch (error) {
      resolve({
        ok: false,
        failure: 'connect-threw',
        stage,
        message: String((error as Error | undefined)?.message ?? error),
      });
      return;
    }
    // One timer at a time: the connect budget, then what is left of the whole budget for the
    // handshake, then (unref'd) a bound on the polite close.
    const onTimer = () => {
      if (settled) socket.destroy();
      else finish({ ok: false, failure: 'timeout', stage });
    };
    let timer = setTimeout(onTimer, Math.min(job.connectTimeoutMs ?? job.timeoutMs, job.timeoutMs));
    const finish = (outcome: HandshakeOutcome) => {
      if (settled) return;
      settled = true;
      if (outcome.ok) {
        // Our Finished and close_notify reach the server, so a probe is not a handshake error in its
        // logs; a server that never closes its side is cut off when the rearmed timer fires.
        socket.end();
        socket.once('close', () => clearTimeout(timer));
        timer.unref();
        timer.refresh();
      } else {
        clearTimeout(timer);
        socket.destroy();
      }
      resolve(outcome);
    };
    socket.once('connect', () => {
      stage = 'handshake';
      if (settled) return;
      clearTimeout(timer);
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      timer = setTimeout(onTimer, Math.max(1, job.timeoutMs - elapsedMs));
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish({ ok: false, failure: 'error', stage, code: error.code, message: error.message }),
    );
    socket.once('close', () => finish({ ok: false, failure: 'closed', stage }));
    socket.once('secureConnect', () => {
      const handshakeMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (socket.isSessionReused()) {
        finish({ ok: false, failure: 'resumed', stage });
        return;
      }
      // The detailed form is the one public way to the chain that neither leaks nor mutates it.
      // getPeerX509Certificate() builds its issuer objects from copies (X509_dup) of OpenSSL's peer
      // chain and deletes each original from that chain without freeing it: every served
      // intermediate leaks in native memory, however promptly the socket is destroyed or the
      // objects collected (20,000 handshakes with forced full GCs: RSS +5–7 KB per handshake with a
      // leaf + intermediate chain and still rising, V8 heap flat; this form: flat). Node links the
      // certificates by issuance and may complete the path with a root from the trust store in use.
      const peer = socket.getPeerCertificate(true);
      if (!peer || !peer.raw || peer.raw.length === 0) {
        finish({ ok: false, failure: 'no-certificate', stage });
        return;
      }
      const chain: { der: Uint8Array; fingerprint256: string }[] = [];
      const seen = new Set<object>();
      for (let cert: tls.DetailedPeerCertificate | undefined = peer; cert && !seen.has(cert);) {
        seen.add(cert);
        if (!cert.raw || cert.raw.length === 0) break;
        chain.push({ der: cert.raw, fingerprint256: cert.fingerprint256 });
        cert = cert.issuerCertificate;
      }
      let identityError: Error | undefined;
      try {
        identityError = tlsModule.checkServerIdentity(job.nameToMatch, peer);
      } catch (error) {
        finish({
          ok: false,
          failure: 'identity-check-threw',
          stage,
          message: String((error as Error | undefined)?.message ?? error),
        });
        return;
      }
      // Node hands over OpenSSL's verify code (e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`), typed as an Error.
      const verifyError = socket.authorizationError as unknown as { code?: string } | string | undefined;
      const authorizationErrorCode = verifyError
        ? String(typeof verifyError === 'object' ? (verifyError.code ?? verifyError) : verifyError)
        : undefined;
      const outcome: HandshakeOutcome = {
        ok: true,
        protocol: socket.getProtocol(),
        authorized: socket.authorized,
        ...(authorizationErrorCode ? { authorizationErrorCode } : {}),
        chain,
        hostnameMatches: identityError === undefined,
        handshakeMs,
      };
      finish(outcome);
    });
  });
}
