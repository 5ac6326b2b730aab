/**
 * Upstream rotation tracking. Vendors rotate the certificates our consumers use to talk to them (their
 * server certificate or CA, or a client certificate they issue us) with an overlap window and a
 * cutover. This use case:
 *
 * - records announcements from every source, deduplicated by source id (`recordAnnouncement`,
 *   `pollFeeds`);
 * - decides per consumer whether it is ready: it holds the new client certificate or trust material
 *   (asked of its destination, or read from its agent's host report) and, where possible, the new
 *   material is proven by a handshake against the upstream (`upstreamStatus`), producing findings at
 *   the configured thresholds before the deadline;
 * - observes each upstream endpoint: a new leaf, issuer or root is reported and recorded as an
 *   announcement, consumers pinning the old material are named, and a certificate nearing expiry
 *   with nothing announced means a rotation is imminent (`observeUpstream`);
 * - distributes the new material to every consumer during the overlap, the old kept alongside
 *   (`distributeNewMaterial`), and retires the old only after cutover once every consumer verified
 *   the new (`retireOldMaterial`).
 */
import { type CertificateFacts, DAY_MS, daysLeft, shortFingerprint } from '../domain/certificate';
import type { CertrotorConfig, UpstreamConfig } from '../config/configuration';
import { endpointId, upstreamChangeFinding } from '../domain/endpoint-findings';
import { describeError, InvalidInputError } from '../domain/errors';
import { type Finding, certificateOf, keyFingerprint } from '../domain/findings';
import type {
  BundleRef,
  BundleStore,
  CertificateBundle,
  ClientAuthProber,
  ClientAuthResult,
  Clock,
  Destination,
  FeedFetcher,
  ProbeResult,
  StateStore,
  StoredItem,
  TargetOutcome,
  TlsProber,
} from '../domain/ports';
import { ConditionFailedError, isInspectable } from '../domain/ports';
import {
  type AnnouncementDraft,
  announcementIdOf,
  windowAnnouncementOf,
} from '../domain/upstream-announcement';
import {
  type ConsumerReadiness,
  type WindowPolicy,
  type WindowStage,
  type WindowStatus,
  evaluateWindow,
  windowFindings,
} from '../domain/upstream-window';
import { parseFeed, type FeedKind } from '../domain/feed-parsing';
import { parseCertificates } from '../domain/x509';
import { type HostReport, hostRecordId } from './agent';
import { COLLECTIONS } from './certificate-state';

// ---------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------

/** Something that talks to the upstream and must hold the new material before the cutover. */
export interface UpstreamConsumer {
  /** Host or target name, as messages show it. */
  readonly name: string;
  readonly kind: 'host' | 'destination';
  readonly environment?: string;
  /** The destination that holds (and can be given) this consumer's client certificate or trust bundle. */
  readonly destination?: string;
  /** The destination's target for this consumer. @default name */
  readonly target?: string;
  /** The host whose agent reports what it holds (COLLECTIONS.hosts). @default name for kind host */
  readonly host?: string;
}

export interface UpstreamEndpoint {
  readonly host: string;
  readonly port: number;
  readonly servername?: string;
  readonly environment?: string;
}

/** One upstream, resolved from configuration. */
export interface UpstreamSpec {
  readonly name: string;
  /** Environment findings are reported in when an endpoint or consumer names none. */
  readonly environment: string;
  readonly owner?: string;
  readonly endpoints: readonly UpstreamEndpoint[];
  /** Fingerprints every consumer pins for this upstream (configuration `trust.pinnedFingerprints`). */
  readonly pinnedFingerprints: readonly string[];
  /** CA certificates consumers trust for it today (PEM), when a bundle is configured. */
  readonly caPem?: readonly string[];
  /** Managed certificate name of the client certificate consumers present. */
  readonly clientCertificate?: string;
  readonly consumers: readonly UpstreamConsumer[];
  readonly feeds: readonly {
    readonly kind: FeedKind;
    readonly url: string;
    readonly match?: readonly string[];
    readonly components?: readonly string[];
  }[];
  readonly policy: WindowPolicy;
  /** An upstream certificate this close to expiry with nothing announced means a rotation is imminent. */
  readonly expiryWarningMs: number;
}

/** The new material an announcement carries, in public form (the client key stays in the BundleStore). */
export interface NewClientCertificate {
  readonly bundle: BundleRef;
  readonly fingerprintSha256: string;
  readonly subject: string;
  readonly notAfter: string;
}

export interface ConsumerDistribution {
  readonly delivered: boolean;
  readonly verified: boolean;
  readonly at: string;
  readonly fingerprintSha256?: string;
  readonly error?: string;
}

/** An announcement as stored (COLLECTIONS.announcements, keyed by id). */
export interface AnnouncementRecord extends AnnouncementDraft {
  readonly id: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly note?: string;
  readonly newClientCertificate?: NewClientCertificate;
  /** New CA certificates (PEM), public. */
  readonly newCaPem?: readonly string[];
  readonly newCaFingerprints?: readonly string[];
  /** Every fingerprint of the chain the upstream serves after the rotation (observed or announced). */
  readonly newServerFingerprints?: readonly string[];
  /** Per consumer name. */
  readonly distribution?: Readonly<Record<string, ConsumerDistribution>>;
  readonly oldRetiredAt?: string;
}

/**
 * What an agent reports about a host (COLLECTIONS.hosts, keyed by host name), as far as upstreams
 * are concerned: per upstream, the client certificate it presents and the fingerprints it trusts or pins.
 */
export interface HostUpstreamReport {
  readonly upstreams?: Readonly<
    Record<
      string,
      {
        readonly clientCertificateFingerprint?: string;
        readonly trustedFingerprints?: readonly string[];
        readonly pinnedFingerprints?: readonly string[];
      }
    >
  >;
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

export interface UpstreamDeps {
  readonly state: StateStore;
  readonly bundles: BundleStore;
  readonly destinations: ReadonlyMap<string, Destination>;
  readonly prober: TlsProber;
  /** Proves client certificates by handshake; without it readiness rests on what consumers hold. */
  readonly clientAuth?: ClientAuthProber;
  readonly feeds?: FeedFetcher;
  readonly clock: Clock;
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/**
 * The spec of one configured upstream: every consumer host, fleet member and destination target.
 * @param caPem the contents of `trust.caBundleFile`, read by the caller
 */
export async function upstreamSpecOf(
  config: CertrotorConfig,
  upstream: UpstreamConfig,
  destinations: ReadonlyMap<string, Destination>,
  caPem?: readonly string[],
): Promise<UpstreamSpec> {
  const hostEnv = new Map(config.hosts.map((h) => [h.name, h.environment]));
  const consumers = new Map<string, UpstreamConsumer>();
  const addHost = (name: string) => {
    if (!consumers.has(name)) {
      const environment = hostEnv.get(name);
      consumers.set(name, { name, kind: 'host', host: name, ...(environment ? { environment } : {}) });
    }
  };
  upstream.consumers.hosts.forEach(addHost);
  for (const fleetName of upstream.consumers.fleets) {
    const fleet = config.fleets.find((f) => f.name === fleetName);
    (fleet?.hosts ?? []).forEach(addHost);
  }
  // A host consumer is reachable through a destination of the client certificate that covers it
  // (typically its agent): the new client certificate is delivered there during the overlap.
  const client = upstream.clientCertificate
    ? config.certificates.find((c) => c.name === upstream.clientCertificate)
    : undefined;
  for (const name of client?.destinations ?? []) {
    const destination = destinations.get(name);
    if (!destination) continue;
    const targets = await destination.targets();
    for (const consumer of [...consumers.values()]) {
      if (consumer.destination || !targets.includes(consumer.name)) continue;
      consumers.set(consumer.name, { ...consumer, destination: name, target: consumer.name });
    }
  }
  for (const name of upstream.consumers.destinations) {
    const destination = destinations.get(name);
    const configured = config.destinations.find((d) => d.name === name);
    const targets = destination ? await destination.targets() : [];
    for (const target of targets) {
      const environment = hostEnv.get(target) ?? configured?.environment;
      consumers.set(target, {
        name: target,
        kind: 'destination',
        destination: name,
        target,
        ...(hostEnv.has(target) ? { host: target } : {}),
        ...(environment ? { environment } : {}),
      });
    }
  }
  const environment =
    upstream.endpoints.find((e) => e.environment)?.environment ?? config.environments[0]?.name ?? 'default';
  return {
    name: upstream.name,
    environment,
    ...(upstream.owner ? { owner: upstream.owner } : {}),
    endpoints: upstream.endpoints.map((e) => ({
      host: e.host,
      port: e.port,
      ...(e.servername ? { servername: e.servername } : {}),
      ...(e.environment ? { environment: e.environment } : {}),
    })),
    pinnedFingerprints: upstream.trust.pinnedFingerprints ?? [],
    ...(caPem ? { caPem } : {}),
    ...(upstream.clientCertificate ? { clientCertificate: upstream.clientCertificate } : {}),
    consumers: [...consumers.values()],
    feeds: upstream.feeds.flatMap((f) =>
      f.kind === 'aws-health'
        ? []
        : [
            {
              kind: f.kind,
              url: f.url,
              ...(f.match ? { match: f.match } : {}),
              ...(f.kind === 'statuspage-json' && f.components ? { components: f.components } : {}),
            },
          ],
    ),
    policy: { safetyMarginMs: upstream.safetyMargin, thresholds: upstream.thresholds },
    expiryWarningMs: upstream.expiryWarning,
  };
}

// ---------------------------------------------------------------------------------------------
// Announcements
// ---------------------------------------------------------------------------------------------

export interface RecordedAnnouncement {
  readonly record: AnnouncementRecord;
  /** First time this source id was seen. */
  readonly created: boolean;
  /** Seen before, and the source changed something (dates, text). */
  readonly changed: boolean;
}

export type AnnouncementExtras = Partial<
  Pick<
    AnnouncementRecord,
    'note' | 'newClientCertificate' | 'newCaPem' | 'newCaFingerprints' | 'newServerFingerprints'
  >
>;

/**
 * Stores an announcement, once per source id. Seeing it again updates what the source says (dates,
 * text) but keeps what certrotor added (new material, distribution state, creation time).
 */
export async function recordAnnouncement(
  state: StateStore,
  draft: AnnouncementDraft,
  now: Date,
  extras: AnnouncementExtras = {},
): Promise<RecordedAnnouncement> {
  const id = announcementIdOf(draft);
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing = await state.get<AnnouncementRecord>(COLLECTIONS.announcements, id, now);
    try {
      if (!existing) {
        const record: AnnouncementRecord = {
          ...draft,
          ...extras,
          id,
          createdAt: now.toISOString(),
          updatedAt: now.toISOString(),
        };
        await state.put(COLLECTIONS.announcements, id, record, now, { ifAbsent: true });
        return { record, created: true, changed: false };
      }
      const merged: AnnouncementRecord = {
        ...existing.value,
        ...draft,
        ...definedOnly(extras),
        id,
        createdAt: existing.value.createdAt,
        updatedAt: existing.value.updatedAt,
      };
      if (sameJson(merged, existing.value)) return { record: existing.value, created: false, changed: false };
      const updated = { ...merged, updatedAt: now.toISOString() };
      await state.put(COLLECTIONS.announcements, id, updated, now, { expectedRevision: existing.revision });
      return { record: updated, created: false, changed: true };
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error; // a concurrent writer: read again
    }
  }
  throw new InvalidInputError(`announcement ${id}: could not be stored after 5 concurrent updates`);
}

export async function listAnnouncements(
  state: StateStore,
  now: Date,
  upstream?: string,
): Promise<AnnouncementRecord[]> {
  const items = await state.list<AnnouncementRecord>(
    COLLECTIONS.announcements,
    now,
    upstream ? `${upstream}:` : undefined,
  );
  return items.map((item) => item.value).sort((a, b) => (a.cutover ?? '').localeCompare(b.cutover ?? ''));
}

async function updateAnnouncement(
  state: StateStore,
  id: string,
  now: Date,
  change: (record: AnnouncementRecord) => AnnouncementRecord,
): Promise<AnnouncementRecord> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing: StoredItem<AnnouncementRecord> | undefined = await state.get(
      COLLECTIONS.announcements,
      id,
      now,
    );
    if (!existing) throw new InvalidInputError(`announcement ${id}: not found`);
    const next = { ...change(existing.value), updatedAt: now.toISOString() };
    try {
      await state.put(COLLECTIONS.announcements, id, next, now, { expectedRevision: existing.revision });
      return next;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
  throw new InvalidInputError(`announcement ${id}: could not be updated after 5 concurrent updates`);
}

/** Attaches new material (a vendor client certificate, new CAs) to a stored announcement. */
export async function attachNewMaterial(
  state: StateStore,
  announcementId: string,
  extras: AnnouncementExtras,
  now: Date,
): Promise<AnnouncementRecord> {
  return updateAnnouncement(state, announcementId, now, (current) => ({
    ...current,
    ...definedOnly(extras),
  }));
}

export interface FeedPollReport {
  readonly recorded: readonly RecordedAnnouncement[];
  readonly skipped: number;
  /** One per feed that could not be fetched or parsed; the others still ran. */
  readonly failures: readonly { readonly upstream: string; readonly feed: string; readonly error: string }[];
}

/** Fetches every feed of every upstream and records its certificate-related items. */
export async function pollFeeds(
  deps: UpstreamDeps,
  upstreams: readonly UpstreamSpec[],
): Promise<FeedPollReport> {
  const recorded: RecordedAnnouncement[] = [];
  const failures: { upstream: string; feed: string; error: string }[] = [];
  let skipped = 0;
  if (!deps.feeds) return { recorded, skipped, failures };
  for (const upstream of upstreams) {
    for (const feed of upstream.feeds) {
      try {
        const text = await deps.feeds.fetchText(feed.url);
        const parsed = parseFeed(text, {
          kind: feed.kind,
          upstream: upstream.name,
          feedName: feed.url,
          ...(feed.match ? { match: feed.match } : {}),
          ...(feed.components ? { components: feed.components } : {}),
        });
        skipped += parsed.skipped;
        for (const draft of parsed.announcements)
          recorded.push(await recordAnnouncement(deps.state, draft, deps.clock()));
      } catch (error) {
        failures.push({ upstream: upstream.name, feed: feed.url, error: describeError(error) });
      }
    }
  }
  return { recorded, skipped, failures };
}

// ---------------------------------------------------------------------------------------------
// Readiness
// ---------------------------------------------------------------------------------------------

export type AnnouncementStage = WindowStage | 'needs-review';

export interface AnnouncementStatus {
  readonly announcement: AnnouncementRecord;
  /** `needs-review` when the announcement has no usable cutover yet. */
  readonly stage: AnnouncementStage;
  readonly deadline?: string;
  readonly cutover?: string;
  readonly window?: WindowStatus;
  readonly consumers: readonly ConsumerReadiness[];
  /** Handshakes against the upstream with the new client certificate, when one was made. */
  readonly proof?: readonly ClientAuthResult[];
  readonly findings: readonly Finding[];
}

/** Every announcement of the upstream, its stage and per-consumer readiness, with findings. */
export async function upstreamStatus(deps: UpstreamDeps, spec: UpstreamSpec): Promise<AnnouncementStatus[]> {
  const now = deps.clock();
  const records = await listAnnouncements(deps.state, now, spec.name);
  const statuses: AnnouncementStatus[] = [];
  for (const record of records.filter((r) => r.upstream === spec.name)) {
    statuses.push(await announcementStatus(deps, spec, record, now));
  }
  return statuses;
}

export async function announcementStatus(
  deps: UpstreamDeps,
  spec: UpstreamSpec,
  record: AnnouncementRecord,
  now: Date,
): Promise<AnnouncementStatus> {
  const window = windowAnnouncementOf(record.id, record);
  const proof =
    window && Date.parse(window.windowStart) <= now.getTime() && !record.oldRetiredAt
      ? await proveClientCertificate(deps, spec, record)
      : undefined;
  const consumers = await assessConsumers(deps, spec, record, now, proof);
  if (!window) {
    return { announcement: record, stage: 'needs-review', consumers, findings: [] };
  }
  const status = evaluateWindow(window, consumers, spec.policy, now);
  return {
    announcement: record,
    stage: status.stage,
    deadline: status.deadline.toISOString(),
    cutover: status.cutover.toISOString(),
    window: status,
    consumers,
    ...(proof ? { proof } : {}),
    findings: windowFindings(window, status),
  };
}

interface HeldMaterial {
  readonly clientFingerprint?: string;
  readonly trusted?: readonly string[];
  readonly pinned?: readonly string[];
  readonly problems: readonly string[];
}

async function heldBy(
  deps: UpstreamDeps,
  spec: UpstreamSpec,
  consumer: UpstreamConsumer,
  now: Date,
): Promise<HeldMaterial> {
  const problems: string[] = [];
  let clientFingerprint: string | undefined;
  let trusted: readonly string[] | undefined;
  let pinned: readonly string[] | undefined;
  const destination = consumer.destination ? deps.destinations.get(consumer.destination) : undefined;
  if (consumer.destination && !destination)
    problems.push(`destination ${consumer.destination} is not configured`);
  const target = consumer.target ?? consumer.name;
  const host = consumer.host ?? (consumer.kind === 'host' ? consumer.name : undefined);
  // What the host's agent reports installed for the upstream's client certificate, when it runs one.
  const agentReport =
    host && spec.clientCertificate
      ? (await deps.state.get<HostReport>(COLLECTIONS.hosts, hostRecordId(host, spec.clientCertificate), now))
          ?.value
      : undefined;
  if (agentReport?.installedFingerprint) clientFingerprint = agentReport.installedFingerprint;
  else if (destination && destination.kind !== 'agent' && isInspectable(destination)) {
    try {
      clientFingerprint = await destination.currentFingerprint(target);
    } catch (error) {
      problems.push(`${destination.name} could not say what ${target} holds: ${describeError(error)}`);
    }
  }
  if (destination && holdsTrustBundles(destination)) {
    try {
      trusted = await destination.trustedFingerprints(target, spec.name);
    } catch (error) {
      problems.push(`${destination.name} could not say what ${target} trusts: ${describeError(error)}`);
    }
  }
  if (host) {
    const report = (await deps.state.get<HostUpstreamReport>(COLLECTIONS.hosts, host, now))?.value;
    const about = report?.upstreams?.[spec.name];
    if (about) {
      clientFingerprint ??= about.clientCertificateFingerprint;
      trusted ??= about.trustedFingerprints;
      pinned = about.pinnedFingerprints;
    }
  }
  return {
    ...(clientFingerprint ? { clientFingerprint } : {}),
    ...(trusted ? { trusted } : {}),
    ...(pinned ? { pinned } : {}),
    problems,
  };
}

/** Fingerprints this consumer pins: its own report, else the upstream's configured pins. */
function pinsOf(spec: UpstreamSpec, held: HeldMaterial): readonly string[] {
  return held.pinned && held.pinned.length > 0 ? held.pinned : spec.pinnedFingerprints;
}

function includesFingerprint(list: readonly string[], fingerprint: string): boolean {
  return list.some((f) => keyFingerprint(f) === keyFingerprint(fingerprint));
}

/** Per consumer: does it hold what the announcement requires? */
export async function assessConsumers(
  deps: UpstreamDeps,
  spec: UpstreamSpec,
  record: AnnouncementRecord,
  now: Date,
  proof?: readonly ClientAuthResult[],
): Promise<ConsumerReadiness[]> {
  const results: ConsumerReadiness[] = [];
  const refused = proof?.filter((p) => !p.accepted) ?? [];
  for (const consumer of spec.consumers) {
    const held = await heldBy(deps, spec, consumer, now);
    const missing: string[] = [...held.problems];
    const proven: string[] = [];
    const client = record.newClientCertificate;
    if (client) {
      if (!held.clientFingerprint) missing.push('holds no client certificate we can see');
      else if (keyFingerprint(held.clientFingerprint) !== keyFingerprint(client.fingerprintSha256)) {
        missing.push(
          `presents client certificate ${shortFingerprint(held.clientFingerprint)}, not the new ${shortFingerprint(client.fingerprintSha256)}`,
        );
      } else if (refused.length > 0) {
        missing.push(
          `holds the new client certificate but ${refused.map((r) => `${r.endpoint} refused it (${r.error ?? 'refused'})`).join('; ')}`,
        );
      } else if (proof && proof.length > 0) {
        proven.push(
          `new client certificate ${shortFingerprint(client.fingerprintSha256)} accepted by ${proof.map((p) => p.endpoint).join(', ')}`,
        );
      } else {
        proven.push(`holds the new client certificate ${shortFingerprint(client.fingerprintSha256)}`);
      }
    }
    for (const ca of record.newCaFingerprints ?? []) {
      if (!held.trusted) missing.push('reports no trust bundle');
      else if (!includesFingerprint(held.trusted, ca))
        missing.push(`does not trust the new CA ${shortFingerprint(ca)}`);
      else proven.push(`trusts the new CA ${shortFingerprint(ca)}`);
    }
    const pins = pinsOf(spec, held);
    const newServer =
      record.newServerFingerprints ??
      (record.newCertificate ? [record.newCertificate.fingerprintSha256] : []);
    if (pins.length > 0 && newServer.length > 0) {
      if (newServer.some((f) => includesFingerprint(pins, f)))
        proven.push('pins include the new certificate');
      else
        missing.push(
          `pins ${pins.map(shortFingerprint).join(', ')}, none of the new chain (${newServer.map(shortFingerprint).join(', ')})`,
        );
    }
    if (!client && (record.newCaFingerprints ?? []).length === 0 && newServer.length === 0) {
      missing.push(
        'the new material is not known yet: attach it (certrotor upstream announce --new-cert/--new-ca)',
      );
    }
    const environment = consumer.environment;
    results.push({
      consumer: consumer.name,
      ready: missing.length === 0,
      ...(environment ? { environment } : {}),
      detail: missing.length > 0 ? unique(missing).join('; ') : proven.join('; ') || 'nothing to change',
    });
  }
  return results;
}

/** Handshakes against every endpoint presenting the new client certificate. */
async function proveClientCertificate(
  deps: UpstreamDeps,
  spec: UpstreamSpec,
  record: AnnouncementRecord,
): Promise<ClientAuthResult[] | undefined> {
  const client = record.newClientCertificate;
  if (!client || !deps.clientAuth) return undefined;
  let bundle: CertificateBundle;
  try {
    bundle = await deps.bundles.get(client.bundle);
  } catch (error) {
    return [
      {
        endpoint: spec.name,
        accepted: false,
        error: `the new client certificate cannot be read: ${describeError(error)}`,
      },
    ];
  }
  const results: ClientAuthResult[] = [];
  for (const endpoint of spec.endpoints) {
    results.push(
      await deps.clientAuth.checkClientAuth({
        host: endpoint.host,
        port: endpoint.port,
        ...(endpoint.servername ? { servername: endpoint.servername } : {}),
        ...(spec.caPem ? { caPem: spec.caPem } : {}),
        clientCertificate: {
          certificatePem: bundle.certificatePem + bundle.chainPem,
          privateKey: bundle.privateKey,
        },
      }),
    );
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Observation
// ---------------------------------------------------------------------------------------------

export interface UpstreamObservation {
  readonly upstream: string;
  readonly endpoint: string;
  readonly observedAt: string;
  /** Leaf first. */
  readonly chain: readonly CertificateFacts[];
}

export interface ObservationReport {
  readonly findings: readonly Finding[];
  /** Announcements created or updated from what was observed. */
  readonly announcements: readonly RecordedAnnouncement[];
  /** Consumers pinning only the previous material, per changed endpoint. */
  readonly pinningConsumers: readonly string[];
  readonly failures: readonly { readonly endpoint: string; readonly error: string }[];
}

/**
 * Probes every endpoint of the upstream with a fresh handshake and compares with what was observed
 * last (stored per endpoint): a new leaf, issuer or root becomes an Upstream Certificate Changed
 * finding and an `observation` announcement whose cutover is now; consumers pinning only the old
 * material are named. A certificate nearing expiry with no announcement ahead means a rotation is
 * imminent.
 */
export async function observeUpstream(deps: UpstreamDeps, spec: UpstreamSpec): Promise<ObservationReport> {
  const now = deps.clock();
  const findings: Finding[] = [];
  const announcements: RecordedAnnouncement[] = [];
  const failures: { endpoint: string; error: string }[] = [];
  const pinning = new Set<string>();
  for (const endpoint of spec.endpoints) {
    const name = `${endpoint.host}:${endpoint.port}`;
    let results: ProbeResult[];
    try {
      results = await deps.prober.probe({
        host: endpoint.host,
        port: endpoint.port,
        ...(endpoint.servername ? { servername: endpoint.servername } : {}),
        ...(spec.caPem ? { caPem: spec.caPem } : {}),
      });
    } catch (error) {
      failures.push({ endpoint: name, error: describeError(error) });
      continue;
    }
    const result = results.find((r) => r.ok && r.chain.length > 0);
    if (!result) {
      failures.push({ endpoint: name, error: results[0]?.error ?? 'no certificate observed' });
      continue;
    }
    const chain = result.chain.map((m) => m.facts);
    const id = `upstream:${spec.name}:${endpointId(result)}`;
    const environment = endpoint.environment ?? spec.environment;
    const previous = await deps.state.get<UpstreamObservation>(COLLECTIONS.observations, id, now);
    const change = previous
      ? upstreamChangeFinding(spec.name, previous.value.chain, chain, now, { environment, location: name })
      : undefined;
    if (change) {
      const leaf = chain[0] as CertificateFacts;
      const covering = await coveringAnnouncement(deps.state, spec.name, chain, now);
      let record: AnnouncementRecord;
      if (covering) {
        record = covering;
      } else {
        const recorded = await recordAnnouncement(
          deps.state,
          {
            source: 'observation',
            sourceId: `${name}#${keyFingerprint(leaf.fingerprintSha256)}`,
            upstream: spec.name,
            title: `${spec.name} started serving "${leaf.subject}" (${shortFingerprint(leaf.fingerprintSha256)}) unannounced`,
            rawText: change.message,
            publishedAt: now.toISOString(),
            windowStart: previous!.value.observedAt,
            cutover: now.toISOString(),
            newCertificate: {
              fingerprintSha256: leaf.fingerprintSha256,
              subject: leaf.subject,
              serialNumber: leaf.serialNumber,
              notAfter: leaf.notAfter,
            },
            needsReview: false,
            reviewReasons: [],
          },
          now,
          { newServerFingerprints: chain.map((f) => f.fingerprintSha256) },
        );
        announcements.push(recorded);
        record = recorded.record;
      }
      const readiness = await assessConsumers(deps, spec, record, now);
      const affected = readiness.filter((r) => !r.ready);
      affected.forEach((r) => pinning.add(r.consumer));
      findings.push({
        ...change,
        details: {
          ...change.details,
          previous: previous!.value.chain[0],
          endpoint: {
            host: endpoint.host,
            port: endpoint.port,
            ...(endpoint.servername ? { servername: endpoint.servername } : {}),
            ...(result.address ? { address: result.address } : {}),
          },
          announced: covering !== undefined,
          announcementId: record.id,
          consumersAffected: affected.map((r) => ({ ...r })),
        },
      });
    }
    await deps.state.put<UpstreamObservation>(
      COLLECTIONS.observations,
      id,
      {
        upstream: spec.name,
        endpoint: name,
        observedAt: now.toISOString(),
        chain,
      },
      now,
    );
    const imminent = await imminentRotation(deps, spec, chain[0] as CertificateFacts, name, environment, now);
    if (imminent) findings.push(imminent);
  }
  return { findings, announcements, pinningConsumers: [...pinning], failures };
}

/** A recorded (not observed) announcement whose new material matches the chain now served. */
async function coveringAnnouncement(
  state: StateStore,
  upstream: string,
  chain: readonly CertificateFacts[],
  now: Date,
): Promise<AnnouncementRecord | undefined> {
  const served = chain.map((f) => keyFingerprint(f.fingerprintSha256));
  return (await listAnnouncements(state, now, upstream)).find((a) => {
    if (a.source === 'observation') return false;
    const announced = [
      ...(a.newServerFingerprints ?? []),
      ...(a.newCertificate ? [a.newCertificate.fingerprintSha256] : []),
      ...(a.newCaFingerprints ?? []),
    ].map(keyFingerprint);
    return announced.some((f) => served.includes(f));
  });
}

async function imminentRotation(
  deps: UpstreamDeps,
  spec: UpstreamSpec,
  leaf: CertificateFacts,
  endpoint: string,
  environment: string,
  now: Date,
): Promise<Finding | undefined> {
  const remaining = Date.parse(leaf.notAfter) - now.getTime();
  if (remaining > spec.expiryWarningMs) return undefined;
  const ahead = (await listAnnouncements(deps.state, now, spec.name)).filter(
    (a) => a.source !== 'observation' && (a.cutover === undefined || Date.parse(a.cutover) >= now.getTime()),
  );
  if (ahead.length > 0) return undefined; // a rotation is announced: readiness covers it
  const days = daysLeft(leaf, now);
  return {
    kind: 'expiring',
    severity: remaining <= 7 * DAY_MS ? 'critical' : 'warning',
    certificate: certificateOf(leaf),
    environments: [environment],
    locations: [endpoint],
    daysLeft: days,
    message: `${spec.name}: rotation imminent: ${endpoint} serves "${leaf.subject}" (${shortFingerprint(leaf.fingerprintSha256)}) expiring ${leaf.notAfter} (${days} days) and nothing is announced`,
    dedupeKey: `upstream-rotation-imminent:${spec.name}:${keyFingerprint(leaf.fingerprintSha256)}`,
    details: {
      upstream: spec.name,
      endpoint,
      rotationImminent: true,
      notAfter: leaf.notAfter,
      managed: false,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Distribution
// ---------------------------------------------------------------------------------------------

export interface DistributionReport {
  readonly announcementId: string;
  readonly consumers: readonly (ConsumerDistribution & { readonly consumer: string })[];
  /** Consumers with no destination certrotor can deliver to: their agent or a human must act. */
  readonly unreachable: readonly string[];
}

/**
 * Delivers the announcement's new material to every consumer during the overlap: the new client
 * certificate (the destination keeps the previous one as its rollback copy), and for a new CA a
 * trust bundle holding the current and the new CA together. Each delivery is verified by asking
 * the destination what the consumer now holds. A failure at one consumer never stops the others.
 */
export async function distributeNewMaterial(
  deps: UpstreamDeps,
  spec: UpstreamSpec,
  announcementId: string,
  only?: readonly string[],
): Promise<DistributionReport> {
  const now = deps.clock();
  const record = (await deps.state.get<AnnouncementRecord>(COLLECTIONS.announcements, announcementId, now))
    ?.value;
  if (!record) throw new InvalidInputError(`announcement ${announcementId}: not found`);
  if (!record.newClientCertificate && !(record.newCaPem && record.newCaPem.length > 0)) {
    throw new InvalidInputError(
      `announcement ${announcementId}: carries no new client certificate or CA to distribute`,
    );
  }
  const bundle = record.newClientCertificate
    ? await deps.bundles.get(record.newClientCertificate.bundle)
    : undefined;
  const trustBundle = record.newCaPem ? combinedTrustBundle(spec.caPem ?? [], record.newCaPem) : undefined;
  const outcomes: (ConsumerDistribution & { consumer: string })[] = [];
  const unreachable: string[] = [];
  for (const consumer of spec.consumers) {
    if (only && !only.includes(consumer.name)) continue;
    const destination = consumer.destination ? deps.destinations.get(consumer.destination) : undefined;
    if (!destination) {
      unreachable.push(consumer.name);
      continue;
    }
    const target = consumer.target ?? consumer.name;
    const problems: string[] = [];
    let fingerprint: string | undefined;
    let verified = true;
    let delivered = true;
    try {
      if (bundle) {
        const outcome = await destination.deliver(target, bundle);
        if (!outcome.ok) {
          delivered = false;
          problems.push(outcome.error ?? 'delivery failed');
        } else if (isInspectable(destination)) {
          fingerprint = await destination.currentFingerprint(target);
          if (
            !fingerprint ||
            keyFingerprint(fingerprint) !== keyFingerprint(bundle.facts.fingerprintSha256)
          ) {
            verified = false;
            problems.push(`holds ${fingerprint ? shortFingerprint(fingerprint) : 'nothing'} after delivery`);
          }
        } else {
          fingerprint = outcome.fingerprintSha256;
          verified =
            fingerprint !== undefined &&
            keyFingerprint(fingerprint) === keyFingerprint(bundle.facts.fingerprintSha256);
          if (!verified) problems.push('the destination cannot confirm what it holds');
        }
      }
      if (trustBundle && delivered) {
        if (!holdsTrustBundles(destination)) {
          delivered = false;
          problems.push(`${destination.name} cannot hold trust bundles`);
        } else {
          const outcome = await destination.installTrustBundle(target, spec.name, trustBundle.pems);
          const trusted = outcome.ok ? await destination.trustedFingerprints(target, spec.name) : undefined;
          if (!outcome.ok) {
            delivered = false;
            problems.push(outcome.error ?? 'trust bundle delivery failed');
          } else if (!trusted || !trustBundle.fingerprints.every((f) => includesFingerprint(trusted, f))) {
            verified = false;
            problems.push('the trust bundle it holds lacks the old or the new CA');
          }
        }
      }
    } catch (error) {
      delivered = false;
      problems.push(describeError(error));
    }
    outcomes.push({
      consumer: consumer.name,
      delivered,
      verified: delivered && verified,
      at: now.toISOString(),
      ...(fingerprint ? { fingerprintSha256: fingerprint } : {}),
      ...(problems.length > 0 ? { error: problems.join('; ') } : {}),
    });
  }
  await updateAnnouncement(deps.state, announcementId, now, (current) => ({
    ...current,
    distribution: {
      ...current.distribution,
      ...Object.fromEntries(outcomes.map(({ consumer, ...rest }) => [consumer, rest])),
    },
  }));
  return { announcementId, consumers: outcomes, unreachable };
}

/** The trust bundle for the overlap: every current CA and every new one, without duplicates. */
export function combinedTrustBundle(
  currentPem: readonly string[],
  newPem: readonly string[],
): { readonly pems: string[]; readonly fingerprints: string[] } {
  const seen = new Set<string>();
  const pems: string[] = [];
  for (const pem of [...currentPem, ...newPem]) {
    const key = pem.replace(/\s+/g, '');
    if (seen.has(key)) continue;
    seen.add(key);
    pems.push(pem);
  }
  return { pems, fingerprints: newPemFingerprints(newPem) };
}

function newPemFingerprints(pems: readonly string[]): string[] {
  return pems.flatMap((pem) => parseCertificates(pem, 'new CA').map((m) => m.facts.fingerprintSha256));
}

export type RetireDecision =
  | { readonly allowed: true; readonly record: AnnouncementRecord }
  | { readonly allowed: false; readonly reason: string };

/**
 * Retires the old material: only after the cutover, and only once every consumer verified the new.
 * For trust bundles the consumers then get a bundle with only the new CA; a client certificate's old
 * version simply stops being the rollback target.
 */
export async function retireOldMaterial(
  deps: UpstreamDeps,
  spec: UpstreamSpec,
  announcementId: string,
): Promise<RetireDecision> {
  const now = deps.clock();
  const record = (await deps.state.get<AnnouncementRecord>(COLLECTIONS.announcements, announcementId, now))
    ?.value;
  if (!record) throw new InvalidInputError(`announcement ${announcementId}: not found`);
  if (record.oldRetiredAt) return { allowed: true, record };
  if (!record.cutover || Date.parse(record.cutover) > now.getTime()) {
    return { allowed: false, reason: `the cutover ${record.cutover ?? '(unknown)'} has not passed` };
  }
  const unverified = spec.consumers
    .filter((c) => !record.distribution?.[c.name]?.verified)
    .map((c) => c.name);
  if (unverified.length > 0) {
    return { allowed: false, reason: `not verified on the new material: ${unverified.join(', ')}` };
  }
  const readiness = await assessConsumers(deps, spec, record, now);
  const notReady = readiness.filter((r) => !r.ready);
  if (notReady.length > 0) {
    return {
      allowed: false,
      reason: `not ready: ${notReady.map((r) => `${r.consumer} (${r.detail})`).join(', ')}`,
    };
  }
  if (record.newCaPem && record.newCaPem.length > 0) {
    for (const consumer of spec.consumers) {
      const destination = consumer.destination ? deps.destinations.get(consumer.destination) : undefined;
      if (destination && holdsTrustBundles(destination)) {
        const outcome = await destination.installTrustBundle(
          consumer.target ?? consumer.name,
          spec.name,
          record.newCaPem,
        );
        if (!outcome.ok)
          return {
            allowed: false,
            reason: `${consumer.name}: ${outcome.error ?? 'trust bundle update failed'}`,
          };
      }
    }
  }
  const updated = await updateAnnouncement(deps.state, announcementId, now, (current) => ({
    ...current,
    oldRetiredAt: now.toISOString(),
  }));
  return { allowed: true, record: updated };
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
