/**
 * Ports: what the use cases need from the world. Narrow on purpose (one request and one response
 * type per operation); optional abilities are separate small interfaces. Every adapter of a port
 * passes that port's contract suite in test/contracts/.
 */
import type { CertificateFacts } from './certificate';
import type { AgentLocalState, DesiredVersion } from './host-agent';
import type { SecretKey } from './secret';

/** Time is always injected. */
export type Clock = () => Date;
/** Randomness is always injected: returns a float in [0, 1). */
export type RandomSource = () => number;

// ---------------------------------------------------------------------------------------------
// Certificates as material
// ---------------------------------------------------------------------------------------------

/** A certificate together with its PEM body. Public material; safe to log by fingerprint. */
export interface CertificateMaterial {
  readonly facts: CertificateFacts;
  readonly pem: string;
}

/** Everything a destination needs to install one version. The key is wrapped and never serialises. */
export interface CertificateBundle {
  /** Managed certificate name from configuration. */
  readonly name: string;
  /** Version id: stable for one issuance, used as idempotency key and in references. */
  readonly version: string;
  readonly certificatePem: string;
  /** Intermediates, leaf's issuer first, without the leaf. May be empty. */
  readonly chainPem: string;
  readonly privateKey: SecretKey;
  readonly facts: CertificateFacts;
}

/** A reference to a stored bundle: this, never the bundle, travels through workflow state and events. */
export interface BundleRef {
  readonly name: string;
  readonly version: string;
  /** Where the material lives: a Secrets Manager ARN + version id, or a local path. */
  readonly location: string;
}

/** Holds issued bundles (the key store). Local: a 0700 directory; AWS: Secrets Manager. */
export interface BundleStore {
  put(bundle: CertificateBundle): Promise<BundleRef>;
  get(ref: BundleRef): Promise<CertificateBundle>;
  /** The bundle last stored for `name`/`version`, if any: lets a retried step resume instead of reissuing. */
  find(name: string, version: string): Promise<BundleRef | undefined>;
}

// ---------------------------------------------------------------------------------------------
// Inventory: sources and probes
// ---------------------------------------------------------------------------------------------

export interface InventoryItem {
  /** Stable id within its source, e.g. an ACM ARN, a secret ARN, a file path. */
  readonly id: string;
  /** Source name, e.g. `acm`, `secrets-manager`, `files`, `agent`. */
  readonly source: string;
  readonly environment: string;
  /** Human readable place: `acm:us-east-1`, `/etc/nginx/tls/api.pem`, `host-7`. */
  readonly location: string;
  readonly facts: CertificateFacts;
  /** Managed certificate name, when this item is one of ours (tag, naming, or configuration). */
  readonly managedName?: string;
  /** Source-specific status, e.g. ACM `ISSUED`, `EXPIRED`, `PENDING_VALIDATION`. */
  readonly status?: string;
  /** Where it is attached, e.g. ACM `InUseBy` ARNs. */
  readonly inUseBy?: readonly string[];
}

export interface CertificateSource {
  readonly name: string;
  /** Discovers every certificate this source knows. Throws on failure; the use case isolates it. */
  discover(): Promise<InventoryItem[]>;
}

export interface ProbeRequest {
  readonly host: string;
  readonly port: number;
  /** SNI name; defaults to `host` unless host is an IP address. */
  readonly servername?: string;
  /** Trust anchors (PEM) to verify against instead of the system trust store. */
  readonly caPem?: readonly string[];
  /** Client certificate to present (mutual TLS upstreams). */
  readonly clientCertificate?: { readonly certificatePem: string; readonly privateKey: SecretKey };
  /** Connect + handshake timeout. @default 5000 */
  readonly timeoutMs?: number;
  /** TCP connect timeout, within `timeoutMs`. @default the prober's, else `timeoutMs` */
  readonly connectTimeoutMs?: number;
  /** Probe every address behind `host` (each A/AAAA record). @default true */
  readonly allAddresses?: boolean;
}

/** The outcome of one fresh handshake to one address. */
export interface ProbeResult {
  readonly host: string;
  readonly port: number;
  readonly servername?: string;
  /** The IP address connected to. */
  readonly address: string;
  readonly observedAt: string;
  /** False when no handshake completed or no peer certificate was presented. */
  readonly ok: boolean;
  /** One line, when `ok` is false. */
  readonly error?: string;
  /** e.g. `TLSv1.3`. */
  readonly protocol?: string;
  /** Served chain, leaf first, in the order the server sent it. */
  readonly chain: readonly CertificateMaterial[];
  /** Chain verified against the trust store in use. */
  readonly authorized: boolean;
  readonly authorizationError?: string;
  /** OpenSSL's verify code behind `authorizationError`, e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE` (incomplete chain). */
  readonly authorizationErrorCode?: string;
  readonly hostnameMatches: boolean;
  readonly handshakeMs?: number;
}

export interface TlsProber {
  /** One result per address probed; never throws for network failures (they are results with ok=false). */
  probe(request: ProbeRequest): Promise<ProbeResult[]>;
}

// ---------------------------------------------------------------------------------------------
// Issuing
// ---------------------------------------------------------------------------------------------

export type KeySpec = 'EC_P256' | 'EC_P384' | 'RSA_2048' | 'RSA_3072' | 'RSA_4096';
export type CertificateUsage = 'server' | 'client' | 'server-and-client';

export interface IssueRequest {
  readonly name: string;
  readonly version: string;
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly keySpec: KeySpec;
  readonly usage: CertificateUsage;
  /** Requested lifetime. */
  readonly validityDays: number;
  /** Deterministic per rotation; a retried issue with the same key must not mint a second certificate. */
  readonly idempotencyKey: string;
}

export interface Issuer {
  readonly name: string;
  issue(request: IssueRequest, now: Date): Promise<CertificateBundle>;
}

/** Optional: issuers that can tell when their own CA expires (no AWS event exists for ACM PCA). */
export interface IssuerWithCaExpiry {
  caCertificate(): Promise<CertificateMaterial>;
}

// ---------------------------------------------------------------------------------------------
// Distribution
// ---------------------------------------------------------------------------------------------

/** What a destination reports for one target after an operation. */
export interface TargetOutcome {
  readonly target: string;
  readonly ok: boolean;
  readonly error?: string;
  /** Fingerprint the target holds after the operation, when known. */
  readonly fingerprintSha256?: string;
  readonly detail?: string;
}

/**
 * Delivers a bundle to every target it covers (hosts, an ACM ARN, a secret). `deliver` must keep the
 * previous version so that `rollback` can restore it; nothing is ever deleted before promotion.
 */
export interface Destination {
  readonly name: string;
  readonly kind: string;
  /** The individual targets (hosts, resources) this destination delivers to, for fan-out and per-host status. */
  targets(): Promise<string[]>;
  deliver(target: string, bundle: CertificateBundle): Promise<TargetOutcome>;
  /** Restores what the target held before the last `deliver`. */
  rollback(target: string): Promise<TargetOutcome>;
}

/** Optional: destinations that hold material rather than serve it can say what they hold. */
export interface InspectableDestination {
  currentFingerprint(target: string): Promise<string | undefined>;
}

/** Optional: destinations with an explicit promotion step (Secrets Manager AWSPENDING → AWSCURRENT). */
export interface PromotableDestination {
  promote(target: string, bundle: BundleRef): Promise<TargetOutcome>;
}

/**
 * Optional: destinations that stage material for a later promotion (Secrets Manager AWSPENDING) can
 * say what they have staged, so a rotation verifies the staged version before promoting it.
 */
export interface StagingDestination {
  /** What the target will hold once promoted: its staged version, else (already promoted) its current one. */
  stagedFingerprint(target: string): Promise<string | undefined>;
}

export function isStaging(d: Destination): d is Destination & StagingDestination {
  return typeof (d as Partial<StagingDestination>).stagedFingerprint === 'function';
}

export function isInspectable(d: Destination): d is Destination & InspectableDestination {
  return typeof (d as Partial<InspectableDestination>).currentFingerprint === 'function';
}

export function isPromotable(d: Destination): d is Destination & PromotableDestination {
  return typeof (d as Partial<PromotableDestination>).promote === 'function';
}

/**
 * Optional: destinations whose deliver and rollback return before the target acted (agents that poll
 * for their desired version), so a caller checks the target again for a while instead of once.
 */
export interface AsynchronousDestination {
  readonly asynchronous: boolean;
}

export function isAsynchronous(d: Destination): d is Destination & AsynchronousDestination {
  return (d as Partial<AsynchronousDestination>).asynchronous === true;
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

export interface StoredItem<T> {
  readonly id: string;
  readonly value: T;
  /** Increments on every write; used for optimistic concurrency. */
  readonly revision: number;
  readonly updatedAt: string;
  readonly expiresAt?: string;
}

export interface PutOptions {
  /** Write only if no live (unexpired) item exists: locks and alert deduplication. */
  readonly ifAbsent?: boolean;
  /** Write only if the stored revision is this one. */
  readonly expectedRevision?: number;
  /** Item is treated as absent after this time (DynamoDB TTL; local store filters). */
  readonly expiresAt?: Date;
}

/** Thrown by `put`/`delete` when a condition fails. */
export class ConditionFailedError extends Error {
  constructor(
    readonly collection: string,
    readonly id: string,
  ) {
    super(`${collection}/${id}: condition failed (already exists or changed concurrently)`);
    this.name = 'ConditionFailedError';
  }
}

/**
 * A small keyed document store. Collections used: `observations`, `alerts` (dedupe keys), `locks`,
 * `certificates` (current/previous/pending version per managed certificate), `rotations`,
 * `hosts` (agent reports), `announcements`, `silences`.
 */
export interface StateStore {
  get<T>(collection: string, id: string, now: Date): Promise<StoredItem<T> | undefined>;
  put<T>(collection: string, id: string, value: T, now: Date, options?: PutOptions): Promise<StoredItem<T>>;
  list<T>(collection: string, now: Date, prefix?: string): Promise<StoredItem<T>[]>;
  delete(collection: string, id: string, options?: { expectedRevision?: number }): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Events and notifications
// ---------------------------------------------------------------------------------------------

/** An event ready to publish; `detail` conforms to the catalogue schema of `detailType`. */
export interface OutgoingEvent {
  readonly source: 'certrotor';
  readonly detailType: string;
  readonly time: string;
  readonly detail: Record<string, unknown>;
  /** Resources the event is about (ARNs or `certrotor:` ids). */
  readonly resources?: readonly string[];
}

export interface PublishReport {
  readonly published: number;
  readonly failed: readonly { readonly event: OutgoingEvent; readonly error: string }[];
}

export interface EventPublisher {
  readonly name: string;
  publish(events: readonly OutgoingEvent[]): Promise<PublishReport>;
}

/** A built chat message, independent of transport. */
export interface ChatMessage {
  readonly text: string;
  readonly blocks: readonly Record<string, unknown>[];
}

export interface DeliveryOutcome {
  readonly ok: boolean;
  /** HTTP status when one was received. */
  readonly status?: number;
  readonly attempts: number;
  /** Permanent failures (400/403/404/410) are not retried and need an operator. */
  readonly permanent?: boolean;
  readonly error?: string;
  /** The receiver asked to wait this long before the next message (429 `Retry-After`). */
  readonly retryAfterMs?: number;
}

export interface Notifier {
  readonly name: string;
  send(message: ChatMessage): Promise<DeliveryOutcome>;
}

// ---------------------------------------------------------------------------------------------
// Upstream rotation tracking
// ---------------------------------------------------------------------------------------------

/** Fetches a status-page feed's text (http(s) or file URL), bounded in time and size. */
export interface FeedFetcher {
  /** @throws OperationError naming the URL on network failure, timeout, non-2xx or oversize body */
  fetchText(url: string): Promise<string>;
}

/** Whether a mutual-TLS server accepted the client certificate presented in a fresh handshake. */
export interface ClientAuthResult {
  readonly endpoint: string;
  readonly accepted: boolean;
  /** One line: why the server refused, or why acceptance could not be established. */
  readonly error?: string;
  /** Fingerprint of the server leaf seen, when the handshake got that far. */
  readonly serverFingerprint?: string;
}

/**
 * Proves client certificates against mutual-TLS upstreams. A TLS 1.3 server rejects a client
 * certificate only after the client considers the handshake done, so acceptance needs more than a
 * probe: the adapter waits for the server's verdict.
 */
export interface ClientAuthProber {
  checkClientAuth(request: ProbeRequest): Promise<ClientAuthResult>;
}

/**
 * Optional ability of a destination: holds trust bundles (CA certificates a consumer trusts for an
 * upstream) rather than certificates with keys.
 */
export interface TrustBundleHolder {
  installTrustBundle(target: string, upstream: string, caPem: readonly string[]): Promise<TargetOutcome>;
  trustedFingerprints(target: string, upstream: string): Promise<readonly string[] | undefined>;
}

export function holdsTrustBundles(d: Destination): d is Destination & TrustBundleHolder {
  return typeof (d as Partial<TrustBundleHolder>).installTrustBundle === 'function';
}

// ---------------------------------------------------------------------------------------------
// Issuers' CA certificates as inventory
// ---------------------------------------------------------------------------------------------

/** How the composition root reads one issuer's CA certificate. */
export interface CaCertificateReader {
  /** Issuer name from configuration. */
  readonly issuer: string;
  /** Where the CA lives: the CA ARN, or `issuer:<name>`; also the item id. */
  readonly location: string;
  /**
   * The CA certificate, or undefined while the CA does not exist yet (a local CA is created on its
   * first issue). Must never create the CA: a scan only looks. Throws when the CA cannot be read.
   */
  read(): Promise<CertificateMaterial | undefined>;
}

// ---------------------------------------------------------------------------------------------
// Host agent
// ---------------------------------------------------------------------------------------------

/** Where an agent learns which version it should install. */
export interface DesiredVersionSource {
  readonly name: string;
  /** Undefined when nothing is desired yet. Throws when the store cannot be read. */
  desired(host: string, certificate: string, now: Date): Promise<DesiredVersion | undefined>;
}

/** One certificate's files on this host (the local FileDestination, for one host). */
export interface CertificateInstaller {
  installedFingerprint(): Promise<string | undefined>;
  /** Writes the files atomically, keeps the previous set, reloads; restores the previous set when the reload fails. */
  install(bundle: CertificateBundle): Promise<TargetOutcome>;
  /** Puts the previous set back and reloads. */
  restorePrevious(): Promise<TargetOutcome>;
}

export interface HealthResult {
  readonly healthy: boolean;
  readonly servedFingerprint?: string;
  readonly error?: string;
}

/** How the host proves it serves what it installed. */
export interface HealthCheck {
  check(expectedFingerprint: string | undefined): Promise<HealthResult>;
}

export interface AgentStateFile {
  load(): Promise<AgentLocalState>;
  save(state: AgentLocalState): Promise<void>;
}

/**
 * Starts one rotation workflow execution by name; a name already used is `already-started`, never a
 * second execution (the deployed planner's way into Step Functions).
 */
export type StartExecution = (
  executionName: string,
  input: Record<string, unknown>,
) => Promise<'started' | 'already-started'>;
