/**
 * Drift from agent reports: a host whose report disagrees with the current version of its
 * certificate (a stale file, a process never reloaded, a report that a probe contradicts, no report,
 * or a report too old to trust). Every host of the certificate is judged at the same time, in every
 * environment, and findings about the same certificate are merged across environments.
 */
import { shortFingerprint } from './certificate';
import { type Finding, groupAcrossEnvironments, keyFingerprint } from './findings';

/** What an agent reported; the use case's HostReport has this shape. */
export interface HostReportFacts {
  readonly host: string;
  readonly certificate: string;
  readonly environment?: string;
  readonly installedFingerprint?: string;
  readonly servedFingerprint?: string;
  readonly healthy: boolean;
  readonly reloadOk: boolean;
  readonly at: string;
  readonly error?: string;
}

export interface CurrentVersion {
  readonly version: string;
  readonly fingerprintSha256: string;
  readonly subject?: string;
  readonly notAfter?: string;
}

/** A host expected to run an agent for a certificate (from configuration). */
export interface ExpectedHost {
  readonly host: string;
  readonly certificate: string;
  readonly environment: string;
  /** Reports older than this are stale. */
  readonly staleAfterMs: number;
}

export type DriftReason =
  'stale-file' | 'not-reloaded' | 'agent-report-mismatch' | 'missing' | 'stale-report';
export type HostStateName = 'ok' | 'drift' | 'stale report' | 'failed' | 'no report';

export interface HostView {
  readonly host: string;
  readonly certificate: string;
  readonly environment: string;
  readonly state: HostStateName;
  readonly reason?: DriftReason;
  readonly expectedFingerprint?: string;
  readonly installedFingerprint?: string;
  readonly servedFingerprint?: string;
  readonly reportAt?: string;
  readonly error?: string;
}

export interface HostDriftInput {
  readonly reports: readonly HostReportFacts[];
  /** Current (promoted) version per certificate name. */
  readonly current: ReadonlyMap<string, CurrentVersion>;
  readonly expected?: readonly ExpectedHost[];
  /** What an independent probe saw per `<host>#<certificate>`, when one ran. */
  readonly probed?: ReadonlyMap<string, string | undefined>;
  /** @default 15 minutes, for reports of hosts not in `expected` */
  readonly defaultStaleAfterMs?: number;
  readonly now: Date;
}

export interface HostDriftResult {
  readonly hosts: readonly HostView[];
  /** Drift findings, merged per certificate across environments. */
  readonly findings: readonly Finding[];
}

const DEFAULT_STALE_MS = 15 * 60_000;

export function hostDrift(input: HostDriftInput): HostDriftResult {
  const byId = new Map(input.reports.map((r) => [`${r.host}#${r.certificate}`, r]));
  const expected = new Map((input.expected ?? []).map((e) => [`${e.host}#${e.certificate}`, e]));
  const ids = [...new Set([...expected.keys(), ...byId.keys()])].sort();
  const hosts = ids.map((id) => judge(byId.get(id), expected.get(id), input, id));
  const checkedEnvironments = new Map<string, Set<string>>();
  for (const h of hosts) {
    const set = checkedEnvironments.get(h.certificate) ?? new Set<string>();
    set.add(h.environment);
    checkedEnvironments.set(h.certificate, set);
  }
  const findings = hosts
    .filter((h) => h.reason !== undefined)
    .map((h) =>
      toFinding(h, input.current.get(h.certificate), [...(checkedEnvironments.get(h.certificate) ?? [])]),
    );
  return { hosts, findings: groupAcrossEnvironments(findings) };
}

function judge(
  report: HostReportFacts | undefined,
  expected: ExpectedHost | undefined,
  input: HostDriftInput,
  id: string,
): HostView {
  const [host = '', certificate = ''] = splitId(id);
  const environment = expected?.environment ?? report?.environment ?? 'unknown';
  const current = input.current.get(certificate);
  const base = {
    host,
    certificate,
    environment,
    ...(current ? { expectedFingerprint: current.fingerprintSha256 } : {}),
  };
  if (!report) return { ...base, state: 'no report', reason: 'missing' };
  const seen = {
    ...base,
    ...(report.installedFingerprint ? { installedFingerprint: report.installedFingerprint } : {}),
    ...(report.servedFingerprint ? { servedFingerprint: report.servedFingerprint } : {}),
    reportAt: report.at,
    ...(report.error ? { error: report.error } : {}),
  };
  const staleAfter = expected?.staleAfterMs ?? input.defaultStaleAfterMs ?? DEFAULT_STALE_MS;
  if (input.now.getTime() - Date.parse(report.at) > staleAfter)
    return { ...seen, state: 'stale report', reason: 'stale-report' };
  const probed = input.probed?.get(id);
  if (input.probed?.has(id) && probed !== (report.servedFingerprint ?? report.installedFingerprint))
    return { ...seen, state: 'drift', reason: 'agent-report-mismatch' };
  if (!report.installedFingerprint) return { ...seen, state: 'drift', reason: 'missing' };
  if (current && report.installedFingerprint !== current.fingerprintSha256)
    return { ...seen, state: 'drift', reason: 'stale-file' };
  if (report.servedFingerprint && report.servedFingerprint !== report.installedFingerprint)
    return { ...seen, state: 'drift', reason: 'not-reloaded' };
  if (!report.healthy || !report.reloadOk) return { ...seen, state: 'failed' };
  return { ...seen, state: 'ok' };
}

const MESSAGES: Record<DriftReason, (h: HostView) => string> = {
  'stale-file': (h) =>
    `${h.host} has ${short(h.installedFingerprint)} installed, not the current ${short(h.expectedFingerprint)}`,
  'not-reloaded': (h) =>
    `${h.host} serves ${short(h.servedFingerprint)} although ${short(h.installedFingerprint)} is installed (not reloaded)`,
  'agent-report-mismatch': (h) => `${h.host}: a probe contradicts what its agent reports`,
  missing: (h) => `${h.host} reports no installed certificate ${h.certificate}`,
  'stale-report': (h) => `${h.host} has not reported since ${h.reportAt ?? 'never'}`,
};

function toFinding(h: HostView, current: CurrentVersion | undefined, checkedEnvironments: string[]): Finding {
  const reason = h.reason as DriftReason;
  const fingerprint = current?.fingerprintSha256 ?? h.installedFingerprint ?? '';
  return {
    kind: 'drift',
    severity: reason === 'stale-report' ? 'warning' : 'critical',
    ...(fingerprint
      ? {
          certificate: {
            fingerprintSha256: fingerprint,
            subject: current?.subject ?? h.certificate,
            ...(current?.notAfter ? { notAfter: current.notAfter } : {}),
            name: h.certificate,
          },
        }
      : {}),
    environments: [h.environment],
    locations: [h.host],
    message: `${h.certificate}: ${MESSAGES[reason](h)}`,
    dedupeKey: `drift:agent:${h.certificate}:${h.host}:${reason}:${fingerprint ? keyFingerprint(fingerprint) : 'none'}`,
    details: {
      source: 'agent',
      reason,
      host: h.host,
      certificate: h.certificate,
      checkedEnvironments,
      ...(h.expectedFingerprint ? { expectedFingerprint: h.expectedFingerprint } : {}),
      ...(h.installedFingerprint ? { installedFingerprint: h.installedFingerprint } : {}),
      ...(h.servedFingerprint ? { servedFingerprint: h.servedFingerprint } : {}),
      ...(h.reportAt ? { reportAt: h.reportAt } : {}),
    },
  };
}

function short(fingerprint: string | undefined): string {
  return fingerprint ? shortFingerprint(fingerprint) : 'nothing';
}

function splitId(id: string): [string, string] {
  const at = id.indexOf('#');
  return [id.slice(0, at), id.slice(at + 1)];
}
