/**
 * Turns findings and rotation outcomes into catalogue events. Every event is built through the
 * catalogue (`buildEvent`), so a producer mistake is an error here, never a malformed event on the bus.
 */
import { type CertificateFacts } from '../domain/certificate';
import { DetailType, buildEvent, type CertificateRef, type EventDetail } from '../domain/events';
import type { Finding, FindingCertificate } from '../domain/findings';
import type { OutgoingEvent } from '../domain/ports';

/** Owner and runbook for a certificate name (or an endpoint/upstream name), from configuration. */
export type OwnershipLookup = (name: string | undefined) => { owner?: string; runbookUrl?: string };

/** `environment:<name>` asks an OwnershipLookup for an environment's owner. */
export const ENVIRONMENT_OWNER_PREFIX = 'environment:';

export interface FindingEventContext {
  readonly now: Date;
  readonly ownership: OwnershipLookup;
  /** Names of managed certificates (to mark `managed`). */
  readonly managed: ReadonlySet<string>;
  /** Environments checked in this run (for drift events). */
  readonly checkedEnvironments: readonly string[];
}

const PROBLEM_KIND: Partial<Record<Finding['kind'], string>> = {
  'hostname-mismatch': 'hostname-mismatch',
  'incomplete-chain': 'incomplete-chain',
  'untrusted-chain': 'untrusted',
  'chain-expired': 'expired-in-chain',
  'weak-key': 'weak-key',
  'not-yet-valid': 'not-yet-valid',
  'probe-failed': 'unreachable',
};

/**
 * One event per finding. Upstream findings are produced as events by the upstream use case itself
 * (they need the announcement), so they are skipped here.
 */
export function findingToEvent(finding: Finding, ctx: FindingEventContext): OutgoingEvent | undefined {
  const name = finding.certificate?.name;
  const common = {
    dedupeKey: finding.dedupeKey,
    severity: finding.severity,
    occurredAt: ctx.now.toISOString(),
    environments: [...finding.environments],
    summary: truncate(finding.message, 500),
    ...definedOnly(findingOwner(finding, ctx.ownership)),
  };
  // Each place with its own environment and, for a certificate seen in several places, its own
  // state there ("expires in 5 days", "ok"): the sibling sweep's answer reaches the message.
  // Unaffected places are named when they are in another environment ("dev: ok").
  const places = (finding.places ?? []).filter(
    (p) => p.affected || !finding.environments.includes(p.environment),
  );
  const locations =
    places.length > 1
      ? places.map((p) => ({
          environment: p.environment,
          location: truncate(`${p.location} — ${p.status}`, 500),
          // What a host agent reports installed: the host, by name.
          ...(p.host !== undefined ? { source: 'agent', host: truncate(p.host, 253) } : {}),
        }))
      : finding.locations.map((location, i) => ({
          environment: finding.environments[Math.min(i, finding.environments.length - 1)] ?? 'default',
          location: truncate(location, 500),
        }));
  switch (finding.kind) {
    case 'expiring':
      return buildEvent(
        DetailType.CertificateExpiring,
        {
          ...common,
          certificate: ref(finding.certificate!),
          daysLeft: finding.daysLeft ?? 0,
          threshold: Math.max(Number(finding.details.threshold) || 1, Number.MIN_VALUE),
          locations:
            locations.length > 0
              ? locations
              : [{ environment: common.environments[0] ?? 'default', location: 'unknown' }],
          managed: name !== undefined && ctx.managed.has(name),
        },
        ctx.now,
      );
    case 'expired':
      return buildEvent(
        DetailType.CertificateExpired,
        {
          ...common,
          certificate: ref(finding.certificate!),
          expiredAt: finding.certificate!.notAfter ?? String(finding.details.notAfter),
          daysLeft: Math.min(0, finding.daysLeft ?? 0),
          locations:
            locations.length > 0
              ? locations
              : [{ environment: common.environments[0] ?? 'default', location: 'unknown' }],
          managed: name !== undefined && ctx.managed.has(name),
        },
        ctx.now,
      );
    case 'renewal-due':
      return buildEvent(
        DetailType.RenewalDue,
        {
          ...common,
          certificate: ref(finding.certificate!),
          name: name ?? finding.certificate!.subject,
          renewAt: String(finding.details.renewAt ?? ctx.now.toISOString()),
          daysLeft: finding.daysLeft ?? 0,
          reason: finding.details.reason === 'expired' ? 'expired' : 'renewal-window',
        },
        ctx.now,
      );
    case 'drift': {
      const expected = (finding.details.expectedFingerprints as string[] | undefined)?.[0];
      const fromAgents = agentDrifts(finding);
      return buildEvent(
        DetailType.EndpointDriftDetected,
        {
          ...common,
          certificate: ref(finding.certificate!),
          drifts:
            fromAgents ??
            finding.locations.map((location, i) => ({
              environment: finding.environments[Math.min(i, finding.environments.length - 1)] ?? 'default',
              endpoint: truncate(location, 500),
              ...(expected
                ? { expectedFingerprint: expected }
                : { expectedFingerprint: finding.certificate!.fingerprintSha256 }),
              servedFingerprint: finding.certificate!.fingerprintSha256,
              reason: 'unexpected-certificate' as const,
              source: 'probe' as const,
            })),
          checkedEnvironments: [
            ...new Set([
              ...(fromAgents && Array.isArray(finding.details.checkedEnvironments)
                ? (finding.details.checkedEnvironments as string[])
                : []),
              ...ctx.checkedEnvironments,
            ]),
          ],
        },
        ctx.now,
      );
    }
    case 'hostname-mismatch':
    case 'incomplete-chain':
    case 'untrusted-chain':
    case 'chain-expired':
    case 'weak-key':
    case 'not-yet-valid':
    case 'probe-failed': {
      const endpoint = parseEndpoint(String(finding.details.endpoint ?? finding.locations[0] ?? ''));
      return buildEvent(
        DetailType.EndpointProblemDetected,
        {
          ...common,
          ...(finding.certificate ? { certificate: ref(finding.certificate) } : {}),
          endpoint: {
            ...endpoint,
            environment: finding.environments[0] ?? 'default',
            ...(typeof finding.details.address === 'string' && finding.details.address
              ? { address: finding.details.address }
              : {}),
          },
          problems: [
            {
              kind: (finding.kind === 'probe-failed' && /no certificate/i.test(finding.message)
                ? 'no-certificate'
                : PROBLEM_KIND[finding.kind]) as 'unreachable',
              message: truncate(finding.message, 1000),
            },
          ],
        },
        ctx.now,
      );
    }
    case 'client-auth-sunset':
      return buildEvent(
        DetailType.ClientCertificateSunset,
        {
          ...common,
          certificate: ref(finding.certificate!),
          upstream: { name: String(finding.details.upstream) },
          authority: String(finding.details.authority),
          sunsetDate: String(finding.details.sunsetDate),
          daysLeft: finding.daysLeft ?? 0,
          locations,
          ...(typeof finding.details.source === 'string' ? { source: finding.details.source } : {}),
        },
        ctx.now,
      );
    default:
      return undefined;
  }
}

/**
 * Who owns a finding: the certificate's owner, else the owner of an endpoint it was made at, else
 * the upstream's, else the owner of an environment it is in. Runbook alongside.
 */
export function findingOwner(
  finding: Finding,
  ownership: OwnershipLookup,
): { owner?: string; runbookUrl?: string } {
  const candidates = [
    finding.certificate?.name,
    ...(finding.endpoints ?? []),
    typeof finding.details.upstream === 'string' ? finding.details.upstream : undefined,
    ...finding.environments.map((environment) => `${ENVIRONMENT_OWNER_PREFIX}${environment}`),
  ];
  let runbookUrl: string | undefined;
  for (const candidate of candidates) {
    if (!candidate) continue;
    const found = ownership(candidate);
    runbookUrl ??= found.runbookUrl;
    if (found.owner)
      return {
        owner: found.owner,
        ...((found.runbookUrl ?? runbookUrl) ? { runbookUrl: found.runbookUrl ?? runbookUrl } : {}),
      };
  }
  return runbookUrl ? { runbookUrl } : {};
}

function ref(c: FindingCertificate): CertificateRef {
  return {
    fingerprintSha256: c.fingerprintSha256,
    subject: truncate(c.subject || c.name || 'unknown', 1000),
    ...(c.name ? { name: c.name } : {}),
    ...(c.serialNumber && /^[0-9A-F]{1,64}$/.test(c.serialNumber) ? { serialNumber: c.serialNumber } : {}),
    ...(c.notAfter ? { notAfter: c.notAfter } : {}),
    ...(c.notBefore ? { notBefore: c.notBefore } : {}),
  };
}

export function factsRef(f: CertificateFacts, name?: string): CertificateRef {
  return {
    ...ref({
      fingerprintSha256: f.fingerprintSha256,
      subject: f.subject,
      serialNumber: f.serialNumber,
      notAfter: f.notAfter,
      notBefore: f.notBefore,
      ...(name ? { name } : {}),
    }),
    ...(f.issuer ? { issuer: truncate(f.issuer, 1000) } : {}),
    dnsNames: f.subjectAltNames.filter((s) => s.type === 'DNS').map((s) => s.value),
  };
}

function parseEndpoint(text: string): { host: string; port: number; servername?: string } {
  const [hostPort, servername] = text.split('#');
  const match = /^\[?(.+?)\]?:(\d+)/.exec(hostPort ?? '');
  if (!match) return { host: truncate(text || 'unknown', 253), port: 443 };
  return { host: match[1]!, port: Number(match[2]), ...(servername ? { servername } : {}) };
}

function definedOnly(o: { owner?: string; runbookUrl?: string }): { owner?: string; runbookUrl?: string } {
  return {
    ...(o.owner ? { owner: o.owner } : {}),
    ...(o.runbookUrl ? { runbookUrl: o.runbookUrl } : {}),
  };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

type DriftEntry = EventDetail<'Endpoint Drift Detected'>['drifts'][number];

/** Per-host drift entries a host-agent drift finding carries (see cycle.ts), when they are usable. */
function agentDrifts(finding: Finding): DriftEntry[] | undefined {
  const drifts = finding.details.drifts;
  if (finding.details.source !== 'agent' || !Array.isArray(drifts) || drifts.length === 0) return undefined;
  const fallback = finding.certificate?.fingerprintSha256;
  return (drifts as Record<string, unknown>[]).flatMap((d) => {
    const expectedFingerprint = typeof d.expectedFingerprint === 'string' ? d.expectedFingerprint : fallback;
    if (!expectedFingerprint) return [];
    return [
      {
        environment: String(d.environment ?? finding.environments[0] ?? 'default'),
        endpoint: truncate(String(d.endpoint ?? ''), 500),
        expectedFingerprint,
        ...(typeof d.servedFingerprint === 'string' ? { servedFingerprint: d.servedFingerprint } : {}),
        reason: d.reason as DriftEntry['reason'],
        source: 'agent' as const,
      },
    ];
  });
}
