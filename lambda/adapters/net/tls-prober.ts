/**
 * What an endpoint actually serves, seen through a fresh TLS handshake every time: no agent, no
 * keep-alive, no session passed in, so a server that swapped its certificate in place (or one hiding
 * an expired certificate behind long-lived connections) is seen as it is now. Every address behind a
 * name is probed with SNI set. Network failures are results with `ok: false`, never exceptions.
 */
import { lookup as dnsLookup } from 'node:dns';
import { X509Certificate, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import type { CertificateMaterial, Clock, ProbeRequest, ProbeResult, TlsProber } from '../../domain/ports';
import { materialFromDer } from '../../domain/x509';

export const DEFAULT_PROBE_TIMEOUT_MS = 5000;
const CLOSE_GRACE_MS = 2000;

export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

export interface NodeTlsProberOptions {
  /** @default () => new Date() */
  readonly clock?: Clock;
  /** Resolves every address of a host name. @default dns.lookup with all: true */
  readonly lookup?: (host: string) => Promise<readonly ResolvedAddress[]>;
  /** @default 5000 */
  readonly defaultTimeoutMs?: number;
}

function systemLookup(host: string): Promise<readonly ResolvedAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });
}

/** Strips `[` `]` from a bracketed IPv6 literal. */
function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** One line a person can act on, from a socket or OpenSSL error. */
function describeNetworkError(error: unknown, stage: 'connect' | 'handshake'): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return stage === 'connect' ? 'connection reset' : 'connection reset during handshake';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'EADDRNOTAVAIL':
      return 'address not available';
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
    case 'ERR_SSL_UNKNOWN_PROTOCOL':
    case 'ERR_SSL_RECORD_LAYER_FAILURE':
    case 'ERR_SSL_HTTP_REQUEST':
      return `not TLS (the server answered with something other than a TLS handshake: ${reason(message)})`;
  }
  if (/before secure TLS connection was established/.test(message))
    return 'connection closed during handshake';
  if (code?.startsWith('ERR_SSL_')) return `TLS handshake failed: ${reason(message)}`;
  return `${stage} failed: ${reason(message)}`;
}

function reason(message: string): string {
  // OpenSSL: `…:SSL routines:ssl3_get_record:wrong version number:../deps/…` → `wrong version number`.
  const parts = message.split(':');
  const sslIndex = parts.findIndex((p) => p.includes('routines'));
  const text = sslIndex !== -1 && parts[sslIndex + 2] ? parts[sslIndex + 2]! : message;
  return text.split('\n')[0]!.trim();
}

/** OpenSSL's wording for the verify results a probe meets; anything else keeps its code. */
const VERIFY_MESSAGES: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
  INVALID_CA: 'invalid CA certificate',
  INVALID_PURPOSE: 'unsupported certificate purpose',
  PATH_LENGTH_EXCEEDED: 'path length constraint exceeded',
  CERT_CHAIN_TOO_LONG: 'certificate chain too long',
  CA_KEY_TOO_SMALL: 'CA certificate key too weak',
  EE_KEY_TOO_SMALL: 'end entity key too weak',
  CA_MD_TOO_WEAK: 'CA signature digest algorithm too weak',
};

function describeVerifyCode(code: string): string {
  return VERIFY_MESSAGES[code] ?? code;
}

/**
 * Parsed certificates by SHA-256 fingerprint. A fleet serves the same few certificates over and over;
 * Node has already hashed each one, so a hit costs nothing and parsing happens once per certificate.
 */
class MaterialCache {
  private readonly entries = new Map<string, CertificateMaterial>();

  constructor(private readonly capacity = 4096) {}

  get(cert: tls.PeerCertificate): CertificateMaterial {
    const key = cert.fingerprint256;
    let material = key ? this.entries.get(key) : undefined;
    if (!material) {
      material = materialFromDer(cert.raw);
      if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
      if (key) this.entries.set(key, material);
    }
    return material;
  }
}

/**
 * Walks Node's issuer links from the leaf; the root refers to itself. Node orders the links by
 * issuance (not by how the server sent them), drops sent certificates that are not on the path, and
 * completes the path from the trust store in use: a root at the end may not have been sent.
 */
function servedChain(peer: tls.DetailedPeerCertificate, cache: MaterialCache): CertificateMaterial[] {
  const chain: CertificateMaterial[] = [];
  const seen = new Set<tls.DetailedPeerCertificate>();
  for (let cert: tls.DetailedPeerCertificate | undefined = peer; cert && !seen.has(cert);) {
    seen.add(cert);
    if (!cert.raw || cert.raw.length === 0) break;
    chain.push(cache.get(cert));
    cert = cert.issuerCertificate;
  }
  return chain;
}

/**
 * `tls.connect` builds a secure context per call; the same trust anchors and client certificate are
 * reused across probes. Sharing a context shares no session: Node's client never resumes unless a
 * session is passed, and this prober never passes one.
 */
class ContextCache {
  /** By object identity first: scans build their requests once and reuse the same arrays. */
  private readonly byIdentity = new WeakMap<object, WeakMap<object, tls.SecureContext>>();
  private readonly byContent = new Map<string, tls.SecureContext>();

  get(request: ProbeRequest): tls.SecureContext | undefined {
    if (!request.caPem && !request.clientCertificate) return undefined;
    const first: object = request.caPem ?? NONE;
    const second: object = request.clientCertificate ?? NONE;
    const known = this.byIdentity.get(first)?.get(second);
    if (known) return known;
    const contentKey = createHash('sha256')
      .update(
        JSON.stringify([
          request.caPem ?? null,
          request.clientCertificate?.certificatePem ?? null,
          request.clientCertificate?.privateKey.reveal() ?? null,
        ]),
      )
      .digest('hex');
    let context = this.byContent.get(contentKey);
    if (!context) {
      for (const pem of request.caPem ?? []) new X509Certificate(pem); // fails loudly, unlike createSecureContext
      context = tls.createSecureContext({
        ...(request.caPem ? { ca: [...request.caPem] } : {}),
        ...(request.clientCertificate
          ? {
              cert: request.clientCertificate.certificatePem,
              key: request.clientCertificate.privateKey.reveal(),
            }
          : {}),
      });
      if (this.byContent.size >= 256) this.byContent.clear();
      this.byContent.set(contentKey, context);
    }
    let inner = this.byIdentity.get(first);
    if (!inner) this.byIdentity.set(first, (inner = new WeakMap()));
    inner.set(second, context);
    return context;
  }
}

const NONE = {};

export class NodeTlsProber implements TlsProber {
  private readonly clock: Clock;
  private readonly lookup: (host: string) => Promise<readonly ResolvedAddress[]>;
  private readonly defaultTimeoutMs: number;
  private readonly contexts = new ContextCache();
  private readonly materials = new MaterialCache();

  constructor(options: NodeTlsProberOptions = {}) {
    this.clock = options.clock ?? (() => new Date());
    this.lookup = options.lookup ?? systemLookup;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  }

  async probe(request: ProbeRequest): Promise<ProbeResult[]> {
    const host = bareHost(request.host);
    const timeoutMs = request.timeoutMs ?? this.defaultTimeoutMs;
    const servername = request.servername ?? (isIP(host) ? undefined : host);
    let addresses: string[];
    if (isIP(host)) {
      addresses = [host];
    } else {
      const started = Date.now();
      try {
        const resolved = await withTimeout(this.lookup(host), timeoutMs);
        if (resolved === undefined) {
          return [
            this.failure(request, host, '', `cannot resolve host ${host}: timed out after ${timeoutMs} ms`),
          ];
        }
        addresses = [...new Set(resolved.map((r) => r.address))];
        if (addresses.length === 0) throw Object.assign(new Error('no addresses'), { code: 'ENODATA' });
      } catch (error) {
        const code = errorCode(error);
        const why =
          code === 'ENOTFOUND' || code === 'ENODATA' ? 'no such host' : reason(String(code ?? error));
        return [this.failure(request, host, '', `cannot resolve host ${host} (${why})`)];
      }
      if (request.allAddresses === false) addresses = addresses.slice(0, 1);
      // The remaining budget bounds the handshakes, so one probe never takes much more than its timeout.
      const remaining = Math.max(1, timeoutMs - (Date.now() - started));
      return Promise.all(
        addresses.map((address) => this.handshake(request, host, address, servername, remaining)),
      );
    }
    return Promise.all(
      addresses.map((address) => this.handshake(request, host, address, servername, timeoutMs)),
    );
  }

  private failure(request: ProbeRequest, host: string, address: string, error: string, servername?: string) {
    const result: ProbeResult = {
      host,
      port: request.port,
      ...(servername !== undefined ? { servername } : {}),
      address,
      observedAt: this.clock().toISOString(),
      ok: false,
      error,
      chain: [],
      authorized: false,
      hostnameMatches: false,
    };
    return result;
  }

  private handshake(
    request: ProbeRequest,
    host: string,
    address: string,
    servername: string | undefined,
    timeoutMs: number,
  ): Promise<ProbeResult> {
    return new Promise<ProbeResult>((resolve) => {
      const started = process.hrtime.bigint();
      let stage: 'connect' | 'handshake' = 'connect';
      let settled = false;
      let secureContext: tls.SecureContext | undefined;
      let socket: tls.TLSSocket;
      try {
        secureContext = this.contexts.get(request);
      } catch (error) {
        resolve(
          this.failure(
            request,
            host,
            address,
            `cannot use the trust anchors or client certificate: ${reason(String((error as Error).message ?? error))}`,
            servername,
          ),
        );
        return;
      }
      try {
        socket = tls.connect({
          host: address,
          port: request.port,
          ...(servername !== undefined ? { servername } : {}),
          ...(secureContext ? { secureContext } : {}),
          // Verification is reported, not enforced: a probe must see an untrusted chain to describe it.
          rejectUnauthorized: false,
          // Checked ourselves below against the name that matters (SNI or the address).
          checkServerIdentity: () => undefined,
        });
      } catch (error) {
        resolve(
          this.failure(
            request,
            host,
            address,
            `connect failed: ${reason(String((error as Error).message ?? error))}`,
            servername,
          ),
        );
        return;
      }
      const finish = (result: ProbeResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (result.ok) {
          // A polite close: our Finished and close_notify reach the server, so a probe is not a
          // handshake error in its logs. The unref'd timer bounds a server that never closes its side.
          socket.end();
          setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
        } else {
          socket.destroy();
        }
        resolve(result);
      };
      const fail = (error: string) => finish(this.failure(request, host, address, error, servername));
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms during ${stage}`), timeoutMs);
      socket.once('connect', () => {
        stage = 'handshake';
      });
      socket.on('error', (error) => fail(describeNetworkError(error, stage)));
      socket.once('close', () =>
        fail(stage === 'connect' ? 'connection closed' : 'connection closed during handshake'),
      );
      socket.once('secureConnect', () => {
        const handshakeMs = Number(process.hrtime.bigint() - started) / 1e6;
        if (socket.isSessionReused()) {
          fail('the TLS session was resumed; a resumed session shows no certificate');
          return;
        }
        const peer = socket.getPeerCertificate(true);
        if (!peer || !peer.raw) {
          fail('the server presented no certificate');
          return;
        }
        let chain: CertificateMaterial[];
        try {
          chain = servedChain(peer, this.materials);
        } catch (error) {
          fail(
            `the served certificate does not parse: ${reason(error instanceof Error ? error.message : String(error))}`,
          );
          return;
        }
        const nameToMatch = servername ?? address;
        const identityError = tls.checkServerIdentity(nameToMatch, peer);
        // Node hands over OpenSSL's verify code (e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`), typed as an Error.
        const authorizationErrorCode = socket.authorizationError
          ? String(
              (socket.authorizationError as unknown as { code?: string }).code ?? socket.authorizationError,
            )
          : undefined;
        const protocol = socket.getProtocol();
        finish({
          host,
          port: request.port,
          ...(servername !== undefined ? { servername } : {}),
          address,
          observedAt: this.clock().toISOString(),
          ok: true,
          ...(protocol ? { protocol } : {}),
          chain,
          authorized: socket.authorized,
          ...(authorizationErrorCode
            ? { authorizationError: describeVerifyCode(authorizationErrorCode), authorizationErrorCode }
            : {}),
          hostnameMatches: identityError === undefined,
          handshakeMs: Math.round(handshakeMs * 100) / 100,
        });
      });
    });
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Probes every request with at most `concurrency` in flight; results come back in request order,
 * one array (one entry per address) per request.
 */
export async function probeMany(
  prober: TlsProber,
  requests: readonly ProbeRequest[],
  options: { readonly concurrency?: number } = {},
): Promise<ProbeResult[][]> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 32));
  const results = new Array<ProbeResult[]>(requests.length);
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const index = next++;
      results[index] = await prober.probe(requests[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker));
  return results;
}
