/**
 * A background watcher for rollout tests: fresh TLS handshakes (no session reuse, full chain and
 * host name verification against a CA) to every live host, round after round, until stopped. It
 * records every moment a live host served no certificate, an invalid or an expired one, or could not
 * be reached, and every leaf fingerprint each host served.
 *
 *   const watch = watchHandshakes(() => liveHosts, { caPem, servername: 'localhost' });
 *   await watch.nextRound();          // every host handshaken once before
 *   ... rotate ...
 *   await watch.nextRound();          // and once after
 *   const seen = await watch.stop();  // { violations, rounds, fingerprints }
 */
import { type PeerCertificate, connect } from 'node:tls';

export interface WatchedHost {
  readonly name: string;
  readonly port: number;
}

export interface HandshakeWatchOptions {
  readonly caPem: string;
  readonly servername: string;
  /** Pause between rounds. @default 50 */
  readonly intervalMs?: number;
  /** Handshake timeout; a live host that takes longer counts as serving nothing. @default 3000 */
  readonly timeoutMs?: number;
}

export interface HandshakeWatchReport {
  /** One line per handshake that did not end with a valid, unexpired certificate. */
  readonly violations: readonly string[];
  readonly rounds: number;
  /** Every leaf fingerprint (SHA-256, colon-separated) each host served, by host name. */
  readonly fingerprints: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface HandshakeWatch {
  /** Resolves once a whole round that started after this call has finished. */
  nextRound(): Promise<void>;
  stop(): Promise<HandshakeWatchReport>;
}

type Handshake =
  { readonly ok: true; readonly leaf: PeerCertificate } | { readonly ok: false; readonly error: string };

/** One fresh handshake, verified against `caPem` and `servername`. */
export function handshake(
  port: number,
  options: Pick<HandshakeWatchOptions, 'caPem' | 'servername' | 'timeoutMs'>,
): Promise<Handshake> {
  return new Promise((done) => {
    let settled = false;
    const finish = (result: Handshake) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      done(result);
    };
    const socket = connect(
      {
        host: '127.0.0.1',
        port,
        servername: options.servername,
        ca: [options.caPem],
        rejectUnauthorized: true,
        // No session resumption: each handshake must see what the server serves now.
        session: undefined,
      },
      () => {
        const leaf = socket.getPeerCertificate();
        if (!leaf || !leaf.fingerprint256) finish({ ok: false, error: 'no certificate' });
        else finish({ ok: true, leaf });
      },
    );
    socket.setTimeout(options.timeoutMs ?? 3000, () => finish({ ok: false, error: 'handshake timed out' }));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      finish({ ok: false, error: error.code ? `${error.code}: ${error.message}` : error.message }),
    );
  });
}

/** The leaf fingerprint a host serves now (a verified fresh handshake), or the reason there is none. */
export async function servedFingerprint(
  port: number,
  options: Pick<HandshakeWatchOptions, 'caPem' | 'servername'>,
): Promise<string> {
  const result = await handshake(port, options);
  return result.ok ? result.leaf.fingerprint256 : `no valid certificate: ${result.error}`;
}

/** Starts watching; `hosts` is read each round, so a host taken down can be dropped from it. */
export function watchHandshakes(
  hosts: () => readonly WatchedHost[],
  options: HandshakeWatchOptions,
): HandshakeWatch {
  const violations: string[] = [];
  const fingerprints = new Map<string, Set<string>>();
  let rounds = 0;
  let stopped = false;
  const waiters: { after: number; done: () => void }[] = [];
  const loop = (async () => {
    while (!stopped) {
      await Promise.all(
        hosts().map(async (host) => {
          const result = await handshake(host.port, options);
          if (!result.ok) {
            violations.push(`${host.name}: ${result.error}`);
            return;
          }
          const now = Date.now();
          if (Date.parse(result.leaf.valid_to) <= now || Date.parse(result.leaf.valid_from) > now)
            violations.push(
              `${host.name}: served a certificate outside its validity (${result.leaf.valid_to})`,
            );
          const seen = fingerprints.get(host.name) ?? new Set<string>();
          seen.add(result.leaf.fingerprint256);
          fingerprints.set(host.name, seen);
        }),
      );
      rounds++;
      for (const waiter of waiters.filter((w) => rounds >= w.after)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.done();
      }
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
    }
  })();
  return {
    nextRound() {
      // A round may be in flight now (it started before this call): wait for the one after it.
      return new Promise((done) => waiters.push({ after: rounds + 2, done }));
    },
    async stop() {
      stopped = true;
      await loop;
      return { violations, rounds, fingerprints };
    },
  };
}
