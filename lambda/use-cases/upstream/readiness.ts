/**
 * Readiness: which consumers hold (and proved) the new material of each announcement, and the stage of
 * its window.
 */
import { shortFingerprint } from '../../domain/certificate';
import { describeError } from '../../domain/errors';
import { type Finding, keyFingerprint } from '../../domain/findings';
import type { CertificateBundle, ClientAuthResult } from '../../domain/ports';
import { isInspectable } from '../../domain/ports';
import { windowAnnouncementOf } from '../../domain/upstream/announcement';
import {
  type ConsumerReadiness,
  type WindowStage,
  type WindowStatus,
  evaluateWindow,
  windowFindings,
} from '../../domain/upstream/window';
import { type HostReport } from '../../domain/host-agent';
import { hostRecordId } from '../../domain/host-agent';
import { COLLECTIONS } from '../certificate-state';
import {
  type AnnouncementRecord,
  type HostUpstreamReport,
  type UpstreamConsumer,
  type UpstreamDeps,
  type UpstreamSpec,
} from './model';
import { holdsTrustBundles } from '../../domain/ports';
import { listAnnouncements } from './announcements';

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

export function includesFingerprint(list: readonly string[], fingerprint: string): boolean {
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
    // New material must reach it, yet nothing can deliver to it and nothing reports from it: say
    // so, and how to fix it.
    const needsDelivery =
      record.newClientCertificate !== undefined || (record.newCaFingerprints ?? []).length > 0;
    if (needsDelivery && !consumer.destination && !held.clientFingerprint && !held.trusted) {
      missing.push(
        `no destination delivers to ${consumer.name} (add a destination for it to the upstream's consumers.destinations, or run certrotor agent there)`,
      );
    }
    const proven: string[] = [];
    const client = record.newClientCertificate;
    if (client) {
      if (!held.clientFingerprint) {
        if (consumer.destination || held.trusted) missing.push('holds no client certificate we can see');
      } else if (keyFingerprint(held.clientFingerprint) !== keyFingerprint(client.fingerprintSha256)) {
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
      if (!held.trusted) {
        if (consumer.destination || held.clientFingerprint) missing.push('reports no trust bundle');
      } else if (!includesFingerprint(held.trusted, ca))
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
function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
