/**
 * The rows of `certrotor status`: every managed certificate, every place a scan recorded, every
 * installed version a host agent reports and the upstreams' client certificates, each with its
 * severity by the scan's threshold rule (what `--fail-on` gates on).
 */
import { thresholdScalingOf } from '../config/views/scan';
import { shortFingerprint } from '../domain/certificate';
import { certificateIdentity } from '../domain/findings';
import { type ClientAuthSunset, clientAuthMark, publicClientAuthSunset } from '../domain/public-client-auth';
import { expiryStanding } from '../domain/thresholds';
import { COLLECTIONS, readCertificateState } from '../use-cases/certificate-state';
import { clientCertificateRecords } from '../use-cases/client-certificate-records';
import { type StoredObservation, agentPlaces } from '../use-cases/cycle';
import type { UpstreamObservation } from '../use-cases/upstream/observation';
import type { Runtime } from './local-runtime';

export interface StatusRow {
  environment: string;
  where: string;
  certificate: string;
  /** Short fingerprint, for the table. */
  fingerprint: string;
  /** Whole days left (toward zero: "expired 2.5 days ago" is -2), for the table; `-` when unknown. */
  daysLeft: string;
  state: string;
  /** The same certificate elsewhere has the same identity (see `certificateIdentity`). */
  identity?: string;
  fingerprintSha256?: string;
  notAfter?: string;
  days?: number;
  /** How bad this row is by the configured thresholds: what `--fail-on` gates on. */
  severity: 'ok' | 'info' | 'warning' | 'critical';
  /** A certificate with clientAuth from a public CA: the date after which it cannot be renewed with it. */
  clientAuthSunset?: ClientAuthSunset;
}

/** Whole days from now until `notAfter`, toward zero (−2 for "expired 2 days and 6 hours ago"). */
function wholeDaysLeft(notAfter: string, now: Date): number {
  const ms = Date.parse(notAfter) - now.getTime();
  return ms >= 0 ? Math.floor(ms / 86_400_000) : -Math.floor(-ms / 86_400_000);
}

export async function statusRows(runtime: Runtime, now: Date): Promise<StatusRow[]> {
  const thresholds = runtime.config.notifications.thresholds;
  const scaling = thresholdScalingOf(runtime.config);
  const severityOf = (notAfter: string | undefined, notBefore?: string): StatusRow['severity'] => {
    if (!notAfter) return 'ok';
    // The scan's threshold rule; an expired certificate is critical.
    const standing = expiryStanding(
      { notAfter, ...(notBefore ? { notBefore } : {}) },
      thresholds,
      now,
      scaling,
    );
    return standing === 'expired' ? 'critical' : standing;
  };
  const timed = (notAfter: string | undefined) =>
    notAfter
      ? { notAfter, days: wholeDaysLeft(notAfter, now), daysLeft: String(wholeDaysLeft(notAfter, now)) }
      : { daysLeft: '-' };
  const rows: StatusRow[] = [];
  for (const spec of runtime.specs) {
    const state = (await readCertificateState(runtime.state, spec.name, now))?.value;
    const cur = state?.current;
    const sunset = cur?.facts
      ? publicClientAuthSunset(cur.facts, publicCaOf(runtime, spec.issuer))
      : undefined;
    rows.push({
      environment: spec.environments.join(','),
      where: `managed (${spec.destinations.join(', ')})`,
      certificate: spec.name,
      identity: `name:${spec.name}`,
      fingerprint: cur ? shortFingerprint(cur.fingerprintSha256) : '-',
      ...(cur ? { fingerprintSha256: cur.fingerprintSha256 } : {}),
      ...timed(cur?.notAfter),
      severity: cur ? severityOf(cur.notAfter, cur.facts?.notBefore) : 'warning',
      state: withMark(
        state?.pending
          ? `pending ${state.pending.version}`
          : cur
            ? `current ${cur.version}`
            : 'not issued: issue it now (certrotor rotate ' + spec.name + ')',
        sunset,
        now,
      ),
      ...(sunset ? { clientAuthSunset: sunset } : {}),
    });
  }
  const stored = (
    await runtime.state.list<StoredObservation | UpstreamObservation>(COLLECTIONS.observations, now)
  ).map((i) => i.value);
  for (const u of stored.filter((o): o is UpstreamObservation => 'upstream' in o && 'chain' in o)) {
    const leaf = u.chain[0];
    const days = leaf ? wholeDaysLeft(leaf.notAfter, now) : undefined;
    rows.push({
      environment: '-',
      where: `upstream ${u.upstream} ${u.endpoint}`,
      certificate: leaf?.subject ?? '-',
      fingerprint: leaf ? shortFingerprint(leaf.fingerprintSha256) : '-',
      ...(leaf ? { fingerprintSha256: leaf.fingerprintSha256 } : {}),
      ...timed(leaf?.notAfter),
      severity: severityOf(leaf?.notAfter, leaf?.notBefore),
      state:
        days !== undefined && leaf && Date.parse(leaf.notAfter) < now.getTime()
          ? 'EXPIRED'
          : `seen ${u.observedAt}`,
    });
  }
  for (const o of stored.filter((o): o is StoredObservation => 'location' in o)) {
    const expired = o.notAfter !== undefined && Date.parse(o.notAfter) < now.getTime();
    rows.push({
      environment: o.environment,
      where: o.location,
      certificate: o.managedName ?? o.subject ?? '-',
      ...(o.identity ? { identity: o.identity } : {}),
      fingerprint: o.fingerprintSha256 ? shortFingerprint(o.fingerprintSha256) : '-',
      ...(o.fingerprintSha256 ? { fingerprintSha256: o.fingerprintSha256 } : {}),
      ...timed(o.notAfter),
      severity: !o.ok ? 'warning' : severityOf(o.notAfter, o.notBefore),
      state: withMark(
        !o.ok ? `unreachable: ${o.error ?? ''}` : expired ? 'EXPIRED' : `seen ${o.observedAt}`,
        o.clientAuthSunset,
        now,
      ),
      ...(o.clientAuthSunset ? { clientAuthSunset: o.clientAuthSunset } : {}),
    });
  }
  // What host agents report installed: places of their certificate, as the sibling sweep counts them.
  for (const o of await agentPlaces(runtime.state, [], now)) {
    if (o.kind !== 'inventory') continue;
    const facts = o.item.facts;
    rows.push({
      environment: o.item.environment,
      where: o.item.location,
      certificate: o.item.managedName ?? facts.subject,
      identity: certificateIdentity(facts, o.item.managedName, runtime.config.notifications.identity),
      fingerprint: shortFingerprint(facts.fingerprintSha256),
      fingerprintSha256: facts.fingerprintSha256,
      ...timed(facts.notAfter),
      severity: severityOf(facts.notAfter, facts.notBefore),
      state: Date.parse(facts.notAfter) < now.getTime() ? 'EXPIRED' : 'installed (agent report)',
    });
  }
  // Client certificates presented to upstreams that public CAs will not renew with clientAuth.
  for (const r of await clientCertificateRecords(runtime.state, now)) {
    const sunset = publicClientAuthSunset(r.facts);
    if (!sunset) continue;
    const past = now.getTime() >= Date.parse(`${sunset.date}T00:00:00Z`);
    rows.push({
      environment: r.environments.join(',') || '-',
      where: `upstream ${r.upstream} client certificate`,
      certificate: r.certificate,
      identity: `name:${r.certificate}`,
      fingerprint: shortFingerprint(r.facts.fingerprintSha256),
      fingerprintSha256: r.facts.fingerprintSha256,
      ...timed(r.facts.notAfter),
      severity: past ? 'critical' : 'warning',
      state: withMark(`presented to ${r.upstream}`, sunset, now),
      clientAuthSunset: sunset,
    });
  }
  return rows;
}

/** The row's state with the public-clientAuth mark after it, when the certificate has one. */
function withMark(state: string, sunset: ClientAuthSunset | undefined, now: Date): string {
  return sunset ? `${state}; ${clientAuthMark(sunset, now)}` : state;
}

/** Whether a managed certificate's issuer is a public CA: ACME CAs are; the local CA and ACM PCA are not. */
function publicCaOf(runtime: Runtime, issuerName: string): { publicCa?: boolean } {
  const kind = runtime.config.issuers.find((i) => i.name === issuerName)?.kind;
  if (kind === 'acme') return { publicCa: true };
  if (kind === 'local-ca' || kind === 'acm-pca') return { publicCa: false };
  return {};
}
