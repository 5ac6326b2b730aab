/**
 * What an endpoint actually serves, seen through a fresh TLS handshake every time: no agent, no
 * keep-alive, no session passed in, so a server that swapped its certificate in place (or one hiding
 * an expired certificate behind long-lived connections) is seen as it is now. Every address behind a
 * name is probed with SNI set. Network failures are results with `ok: false`, never exceptions.
 */
import { lookup as dnsLookup } from 'node:dns';
import { X509Certificate, constants as cryptoConstants, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import * as tls from 'node:tls';
import type { CertificateMaterial, Clock, ProbeRequest, ProbeResult, TlsProber } from '../../domain/ports';
import { materialFromDer } from '../../domain/x509';
import { freshHandshake, type HandshakeJob, type HandshakeOutcome } from './tls-handshake';
import type { CertrotorConfig } from '../../config/configuration';
import { type ContextSpec, HandshakeWorkers } from './tls-handshake-workers';

export const DEFAULT_PROBE_TIMEOUT_MS = 5000;
/** Handshakes in flight from which new ones go to worker threads. */
export const DEFAULT_WORKER_THRESHOLD = 16;
/**
 * Worker threads for a busy prober: one per core, at most four. With workers the main thread only
 * hands off jobs and builds results (2–3% of the prober's CPU in bench:probe), so a thread per core
 * already uses every core; more threads than cores only contend (2 CPUs: 3 or 4 workers no faster
 * than 2, 6 workers far slower).
 */
export const DEFAULT_PROBE_WORKERS = Math.min(4, availableParallelism());

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
  /** TCP connect budget within the timeout, for requests that set none. @default the whole timeout */
  readonly defaultConnectTimeoutMs?: number;
  /**
   * Worker threads that run handshakes while many are in flight (a large scan); 0 or 1 keeps every
   * handshake on the calling thread. Results are the same either way.
   * @default available parallelism, at most 4
   */
  readonly workers?: number;
  /** In-flight handshakes from which new ones go to the workers. @default 16 */
  readonly workerThreshold?: number;
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
function describeNetworkError(
  code: string | undefined,
  message: string,
  stage: 'connect' | 'handshake',
): string {
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
 * OpenSSL has already hashed each one, so parsing happens once per certificate. A hit is confirmed
 * byte for byte, so two different certificates are never conflated.
 */
export class MaterialCache {
  private readonly entries = new Map<
    string,
    { readonly der: Buffer; readonly material: CertificateMaterial }
  >();

  constructor(private readonly capacity = 4096) {}

  get size(): number {
    return this.entries.size;
  }

  get(der: Buffer, fingerprint256: string | undefined): CertificateMaterial {
    const known = fingerprint256 ? this.entries.get(fingerprint256) : undefined;
    if (known && known.der.equals(der)) return known.material;
    const material = materialFromDer(der);
    if (fingerprint256 && !known) {
      if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(fingerprint256, { der: Buffer.from(der), material });
    }
    return material;
  }
}

/** A secure context, and what it was built from (for workers, which build their own copy). */
interface ProbeContext {
  readonly id: number;
  readonly spec: ContextSpec;
  readonly context: tls.SecureContext;
}

/**
 * `tls.connect` builds a secure context per call; the same trust anchors and client certificate are
 * reused across probes. Sharing a context shares no session: Node's client never resumes unless a
 * session is passed, and this prober never passes one. No context offers session tickets either.
 */
class ContextCache {
  /** By object identity first: scans build their requests once and reuse the same arrays. */
  private readonly byIdentity = new WeakMap<object, WeakMap<object, ProbeContext>>();
  private readonly byContent = new Map<string, ProbeContext>();
  private defaultContext: ProbeContext | undefined;
  private readonly fallbacks = new WeakMap<ProbeContext, ProbeContext>();
  private nextId = 0;

  get(request: ProbeRequest): ProbeContext {
    if (!request.caPem && !request.clientCertificate) {
      return (this.defaultContext ??= this.create({ secureOptions: NO_TICKETS, ...HANDSHAKE_CHOICES }));
    }
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
      context = this.create({
        ...(request.caPem ? { ca: [...request.caPem] } : {}),
        ...(request.clientCertificate
          ? {
              cert: request.clientCertificate.certificatePem,
              key: request.clientCertificate.privateKey.reveal(),
            }
          : {}),
        secureOptions: NO_TICKETS,
        ...HANDSHAKE_CHOICES,
      });
      if (this.byContent.size >= 256) this.byContent.clear();
      this.byContent.set(contentKey, context);
    }
    let inner = this.byIdentity.get(first);
    if (!inner) this.byIdentity.set(first, (inner = new WeakMap()));
    inner.set(second, context);
    return context;
  }

  /** The same trust anchors and client certificate with OpenSSL's default groups and suites. */
  withDefaultChoices(context: ProbeContext): ProbeContext {
    let fallback = this.fallbacks.get(context);
    if (!fallback) {
      const { ecdhCurve: _groups, ciphersuites: _suites, ...spec } = context.spec;
      fallback = this.create(spec);
      this.fallbacks.set(context, fallback);
    }
    return fallback;
  }

  private create(spec: ContextSpec): ProbeContext {
    return { id: this.nextId++, spec, context: tls.createSecureContext(spec) };
  }
}

const NONE = {};
/** A TLS 1.2 client sends no session ticket extension, so no server issues one for it. */
const NO_TICKETS = cryptoConstants.SSL_OP_NO_TICKET;
/** The server's handshake_failure alert, as Node 22 (OpenSSL 3.5) and Node 20 (OpenSSL 3.0) name it. */
const HANDSHAKE_FAILURE_ALERTS = new Set([
  'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
]);

/**
 * What the probe offers to negotiate. Key exchange: the classical groups of OpenSSL's default list,
 * X25519 first (the one key share sent) then P-256, P-384, P-521 as Go's crypto/tls orders them.
 * Not OpenSSL 3.5's default post-quantum hybrid X25519MLKEM768: a probe protects no secret worth
 * recording for later, and the hybrid costs both ends an ML-KEM operation and a 1.2 KB larger
 * ClientHello on every handshake (profiled here: 9% of the prober's CPU). Listing it after X25519
 * would make a server that prefers it ask again (HelloRetryRequest), so it is not offered at all;
 * a server that refuses the handshake is tried once more with OpenSSL's defaults (see
 * NodeTlsProber.handshake). TLS 1.3 suites: OpenSSL's default three, AES-128-GCM first (a SHA-256
 * transcript). Which certificate a server presents does not depend on either choice.
 */
export const HANDSHAKE_CHOICES = {
  ecdhCurve: 'X25519:P-256:P-384:P-521:X448:ffdhe2048:ffdhe3072:ffdhe4096:ffdhe6144:ffdhe8192',
  ciphersuites: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
} as const;

export class NodeTlsProber implements TlsProber {
  private readonly clock: Clock;
  private readonly lookup: (host: string) => Promise<readonly ResolvedAddress[]>;
  private readonly defaultTimeoutMs: number;
  private readonly defaultConnectTimeoutMs: number | undefined;
  private readonly contexts = new ContextCache();
  private readonly materials = new MaterialCache();
  private readonly workers: HandshakeWorkers | undefined;
  private readonly workerThreshold: number;
  /** Handshakes running on this thread. */
  private inProcess = 0;

  constructor(options: NodeTlsProberOptions = {}) {
    this.clock = options.clock ?? (() => new Date());
    this.lookup = options.lookup ?? systemLookup;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    this.defaultConnectTimeoutMs = options.defaultConnectTimeoutMs;
    const workers = Math.floor(options.workers ?? DEFAULT_PROBE_WORKERS);
    this.workers = workers > 1 ? new HandshakeWorkers(workers) : undefined;
    this.workerThreshold = Math.max(0, options.workerThreshold ?? DEFAULT_WORKER_THRESHOLD);
  }

  /** Stops the worker threads, if any were started. Idle workers never hold a process open anyway. */
  async close(): Promise<void> {
    await this.workers?.close();
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

  private async handshake(
    request: ProbeRequest,
    host: string,
    address: string,
    servername: string | undefined,
    timeoutMs: number,
  ): Promise<ProbeResult> {
    const connectTimeoutMs = request.connectTimeoutMs ?? this.defaultConnectTimeoutMs;
    let context: ProbeContext;
    try {
      context = this.contexts.get(request);
    } catch (error) {
      return this.failure(
        request,
        host,
        address,
        `cannot use the trust anchors or client certificate: ${reason(String((error as Error).message ?? error))}`,
        servername,
      );
    }
    const job: HandshakeJob = {
      address,
      port: request.port,
      ...(servername !== undefined ? { servername } : {}),
      nameToMatch: servername ?? address,
      timeoutMs,
      ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}),
    };
    const started = Date.now();
    let outcome = await this.run(job, context);
    if (!outcome.ok && outcome.stage === 'handshake' && HANDSHAKE_FAILURE_ALERTS.has(outcome.code ?? '')) {
      // The server refused the handshake: perhaps it accepts none of the groups or suites offered
      // (a server that only does post-quantum key exchange). Once more, fresh, with OpenSSL's own
      // choices and what is left of the budget; a server that refuses both is reported as before.
      const left = Math.max(1, timeoutMs - (Date.now() - started));
      const retry: HandshakeJob = {
        ...job,
        timeoutMs: left,
        ...(job.connectTimeoutMs !== undefined
          ? { connectTimeoutMs: Math.min(job.connectTimeoutMs, left) }
          : {}),
      };
      const second = await this.run(retry, this.contexts.withDefaultChoices(context));
      if (second.ok) outcome = second;
    }
    return this.result(request, host, job, outcome);
  }

  private async run(job: HandshakeJob, context: ProbeContext): Promise<HandshakeOutcome> {
    if (this.workers && this.inProcess + this.workers.inFlight >= this.workerThreshold) {
      return this.workers.run(job, context);
    }
    this.inProcess++;
    try {
      return await freshHandshake(tls, job, context.context);
    } finally {
      this.inProcess--;
    }
  }

  private result(
    request: ProbeRequest,
    host: string,
    job: HandshakeJob,
    outcome: HandshakeOutcome,
  ): ProbeResult {
    const { address, servername } = job;
    if (!outcome.ok) {
      return this.failure(request, host, address, describeFailure(outcome, job), servername);
    }
    let chain: CertificateMaterial[];
    try {
      chain = outcome.chain.map(({ der, fingerprint256 }) =>
        this.materials.get(
          Buffer.isBuffer(der) ? der : Buffer.from(der.buffer, der.byteOffset, der.byteLength),
          fingerprint256,
        ),
      );
    } catch (error) {
      return this.failure(
        request,
        host,
        address,
        `the served certificate does not parse: ${reason(error instanceof Error ? error.message : String(error))}`,
        servername,
      );
    }
    const code = outcome.authorizationErrorCode;
    return {
      host,
      port: request.port,
      ...(servername !== undefined ? { servername } : {}),
      address,
      observedAt: this.clock().toISOString(),
      ok: true,
      ...(outcome.protocol ? { protocol: outcome.protocol } : {}),
      chain,
      authorized: outcome.authorized,
      ...(code ? { authorizationError: describeVerifyCode(code), authorizationErrorCode: code } : {}),
      hostnameMatches: outcome.hostnameMatches,
      handshakeMs: Math.round(outcome.handshakeMs * 100) / 100,
    };
  }
}

function describeFailure(outcome: Extract<HandshakeOutcome, { ok: false }>, job: HandshakeJob): string {
  const { stage } = outcome;
  switch (outcome.failure) {
    case 'connect-threw':
      return `connect failed: ${reason(outcome.message ?? 'unknown error')}`;
    case 'error':
      return describeNetworkError(outcome.code, outcome.message ?? 'unknown error', stage);
    case 'closed':
      return stage === 'connect' ? 'connection closed' : 'connection closed during handshake';
    case 'timeout':
      return stage === 'connect' && job.connectTimeoutMs !== undefined && job.connectTimeoutMs < job.timeoutMs
        ? `connect timed out after ${job.connectTimeoutMs} ms`
        : `timed out after ${job.timeoutMs} ms during ${stage}`;
    case 'no-certificate':
      return 'the server presented no certificate';
    case 'resumed':
      return 'the TLS session was resumed; a resumed session shows no certificate';
    case 'identity-check-threw':
      return `hostname check failed: ${reason(outcome.message ?? 'unknown error')}`;
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

/**
 * Probes every request with at most `concurrency` in flight and hands each request's results to
 * `onResult` as they arrive (completion order), keeping none: memory stays flat however many requests
 * there are. `requests` is read one request at a time, so it may be a generator. Resolves with the
 * number of requests probed.
 */
export async function probeEach(
  prober: TlsProber,
  requests: Iterable<ProbeRequest>,
  onResult: (results: ProbeResult[], request: ProbeRequest) => void | Promise<void>,
  options: { readonly concurrency?: number } = {},
): Promise<number> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 32));
  const iterator = requests[Symbol.iterator]();
  let done = false;
  let probed = 0;
  const worker = async () => {
    for (;;) {
      if (done) return;
      const next = iterator.next();
      if (next.done) {
        done = true;
        return;
      }
      probed++;
      await onResult(await prober.probe(next.value), next.value);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return probed;
}

/**
 * The prober the configuration's `probe` section asks for. `inLambda`: a function has a fraction of a
 * CPU, so worker threads are off unless `probe.workers` says otherwise.
 */
export function configuredProber(
  probe: Pick<CertrotorConfig['probe'], 'timeout' | 'connectTimeout' | 'workers'>,
  options: { readonly clock: Clock; readonly inLambda?: boolean },
): NodeTlsProber {
  const workers = probe.workers ?? (options.inLambda ? 0 : undefined);
  return new NodeTlsProber({
    clock: options.clock,
    defaultTimeoutMs: probe.timeout,
    ...(probe.connectTimeout !== undefined ? { defaultConnectTimeoutMs: probe.connectTimeout } : {}),
    ...(workers !== undefined ? { workers } : {}),
  });
}
