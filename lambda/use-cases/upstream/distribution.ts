/**
 * Distributing the new material to every consumer during the overlap (the old kept alongside), and
 * retiring the old only after cutover once every consumer verified the new.
 */
import { shortFingerprint } from '../../domain/certificate';
import { describeError, InvalidInputError } from '../../domain/errors';
import { keyFingerprint } from '../../domain/findings';
import { isInspectable } from '../../domain/ports';
import { parseCertificates } from '../../domain/x509';
import { COLLECTIONS } from '../certificate-state';
import {
  type AnnouncementRecord,
  type ConsumerDistribution,
  type UpstreamDeps,
  type UpstreamSpec,
} from './model';
import { holdsTrustBundles } from '../../domain/ports';
import { updateAnnouncement } from './announcements';
import { assessConsumers, includesFingerprint } from './readiness';

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
