/**
 * Observing upstream endpoints: a new leaf, issuer or root becomes an announcement; a certificate nearing
 * expiry with nothing announced means a rotation is imminent.
 */
import { type CertificateFacts, DAY_MS, daysLeft, shortFingerprint } from '../../domain/certificate';
import { endpointId, upstreamChangeFinding } from '../../domain/endpoint-findings';
import { describeError } from '../../domain/errors';
import { type Finding, certificateOf, keyFingerprint } from '../../domain/findings';
import type { ProbeResult, StateStore } from '../../domain/ports';
import { COLLECTIONS } from '../certificate-state';
import type { AnnouncementRecord, UpstreamDeps, UpstreamSpec } from './model';
import { type RecordedAnnouncement, listAnnouncements, recordAnnouncement } from './announcements';
import { assessConsumers } from './readiness';

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
