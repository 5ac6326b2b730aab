/**
 * The fleet report's view model: what expires when and where, which hosts hold what, where each
 * upstream's announced rotation stands, and the last rotations. Built from the state store only
 * (what the last scans, agents, rotations and upstream watches recorded): reading it probes nothing,
 * changes nothing and needs no network, so it can be rendered anywhere, any time.
 */
import { shortFingerprint, DAY_MS } from '../domain/certificate';
import type {
  AnnouncementView,
  ExpiryState,
  FleetReport,
  FleetRow,
  CalendarEntry,
  HostReportView,
  RotationView,
  UpstreamView,
} from '../domain/fleet-report';
import { type ExpectedHost, type HostReportFacts, hostDrift } from '../domain/host-drift';
import type { StateStore } from '../domain/ports';
import {
  DEFAULT_THRESHOLDS,
  type Threshold,
  type ThresholdScaling,
  expiryStanding,
} from '../domain/thresholds';
import { type AnnouncementDraft, windowAnnouncementOf } from '../domain/upstream/announcement';
import { type ConsumerReadiness, evaluateWindow } from '../domain/upstream/window';
import { COLLECTIONS, type CertificateState } from './certificate-state';
import type { StoredObservation } from './cycle';
import { type ClientCertificateRecord, clientCertificateRecords } from './client-certificate-records';
import { type ClientAuthSunset, clientAuthMark, publicClientAuthSunset } from '../domain/public-client-auth';

export type {
  AnnouncementView,
  CalendarEntry,
  ExpiryState,
  FleetReport,
  FleetRow,
  HostReportView,
  RotationView,
  UpstreamView,
};

/** What the report is built from: the stored records, plus what the configuration names. */
export interface FleetReportInput {
  readonly environments: readonly string[];
  readonly certificates: readonly CertificateState[];
  /** Managed certificate name → its environments. */
  readonly managedEnvironments: ReadonlyMap<string, readonly string[]>;
  readonly observations: readonly StoredObservation[];
  readonly hostReports: readonly HostReportFacts[];
  readonly expectedHosts: readonly ExpectedHost[];
  readonly announcements: readonly (AnnouncementDraft & {
    readonly id: string;
    readonly distribution?: Readonly<
      Record<string, { delivered: boolean; verified: boolean; at: string; error?: string }>
    >;
  })[];
  /** Upstream name → the consumers that must be ready, and its safety margin. */
  readonly upstreams: ReadonlyMap<
    string,
    { readonly consumers: readonly string[]; readonly safetyMarginMs: number }
  >;
  readonly rotations: readonly (RotationView & { readonly id: string })[];
  /** Client certificates presented to upstreams that come from public CAs with clientAuth. */
  readonly clientCertificates?: readonly ClientCertificateRecord[];
  /** Alert thresholds (`notifications.thresholds`). @default DEFAULT_THRESHOLDS */
  readonly thresholds?: readonly Threshold[];
  /** How day thresholds apply (`notifications.thresholdScaling`). @default 'absolute' */
  readonly thresholdScaling?: ThresholdScaling;
}

export const DEFAULT_HORIZON_DAYS = 120;

/** A row's state by the one threshold rule (`expiryStanding`), as the scan and `status` judge it. */
function expiryState(
  facts: { readonly notAfter: string; readonly notBefore?: string; readonly isCA?: boolean },
  input: Pick<FleetReportInput, 'thresholds' | 'thresholdScaling'>,
  now: Date,
): ExpiryState {
  const standing = expiryStanding(
    facts,
    input.thresholds ?? DEFAULT_THRESHOLDS,
    now,
    input.thresholdScaling ?? 'absolute',
  );
  return standing === 'info' ? 'ok' : standing;
}

function daysUntil(notAfter: string | undefined, now: Date): number | undefined {
  if (notAfter === undefined) return undefined;
  const at = Date.parse(notAfter);
  return Number.isNaN(at) ? undefined : Math.floor((at - now.getTime()) / DAY_MS);
}

/** The report for `input` as of `now`; pure. */
export function fleetReport(
  input: FleetReportInput,
  now: Date,
  horizonDays = DEFAULT_HORIZON_DAYS,
): FleetReport {
  const rows: FleetRow[] = [];
  for (const state of input.certificates) {
    const environments = input.managedEnvironments.get(state.name) ?? ['-'];
    const current = state.current;
    const daysLeft = daysUntil(current?.notAfter, now);
    for (const environment of environments) {
      rows.push({
        environment,
        where: 'managed (issued version)',
        certificate: state.name,
        ...(current?.facts?.subject ? { subject: current.facts.subject } : {}),
        ...(current ? { fingerprint: current.fingerprintSha256, notAfter: current.notAfter } : {}),
        ...(daysLeft !== undefined ? { daysLeft } : {}),
        state:
          current === undefined
            ? 'not issued'
            : expiryState({ ...current, ...(current.facts ? { isCA: current.facts.isCA } : {}) }, input, now),
        ...detailOf([
          state.pending ? `rotation ${state.pending.version} pending` : undefined,
          markOf(current?.facts ? publicClientAuthSunset(current.facts) : undefined, now),
        ]),
        ...(current?.promotedAt ? { observedAt: current.promotedAt } : {}),
      });
    }
  }
  for (const o of input.observations) {
    const daysLeft = daysUntil(o.notAfter, now);
    rows.push({
      environment: o.environment,
      where: o.location,
      certificate: o.managedName ?? o.subject ?? '-',
      ...(o.subject ? { subject: o.subject } : {}),
      ...(o.fingerprintSha256 ? { fingerprint: o.fingerprintSha256 } : {}),
      ...(o.notAfter ? { notAfter: o.notAfter } : {}),
      ...(daysLeft !== undefined ? { daysLeft } : {}),
      state: !o.ok
        ? 'unreachable'
        : o.notAfter === undefined
          ? 'not issued'
          : expiryState(
              { notAfter: o.notAfter, ...(o.notBefore ? { notBefore: o.notBefore } : {}) },
              input,
              now,
            ),
      ...detailOf([o.error, markOf(o.clientAuthSunset, now)]),
      observedAt: o.observedAt,
    });
  }
  for (const r of input.clientCertificates ?? []) {
    const sunset = publicClientAuthSunset(r.facts);
    if (!sunset) continue;
    const daysLeft = daysUntil(r.facts.notAfter, now);
    for (const environment of r.environments.length > 0 ? r.environments : ['-'])
      rows.push({
        environment,
        where: `upstream ${r.upstream} client certificate`,
        certificate: r.certificate,
        subject: r.facts.subject,
        fingerprint: r.facts.fingerprintSha256,
        notAfter: r.facts.notAfter,
        ...(daysLeft !== undefined ? { daysLeft } : {}),
        state: expiryState(r.facts, input, now),
        ...detailOf([markOf(sunset, now)]),
        observedAt: r.recordedAt,
      });
  }
  rows.sort(
    (a, b) =>
      (a.daysLeft ?? Number.MAX_SAFE_INTEGER) - (b.daysLeft ?? Number.MAX_SAFE_INTEGER) ||
      a.environment.localeCompare(b.environment) ||
      a.where.localeCompare(b.where),
  );

  const calendar: CalendarEntry[] = rows
    .filter((r) => r.notAfter !== undefined && r.daysLeft !== undefined && r.daysLeft <= horizonDays)
    .map((r) => ({
      date: new Date(Date.parse(r.notAfter!)).toISOString().slice(0, 10),
      environment: r.environment,
      certificate: r.certificate,
      where: r.where,
      daysLeft: r.daysLeft!,
      state: r.state,
    }));

  const environments = [...new Set([...input.environments, ...rows.map((r) => r.environment)])].filter(
    (e) => e !== '-',
  );
  const counts: Record<ExpiryState, number> = {
    expired: 0,
    critical: 0,
    warning: 0,
    ok: 0,
    unreachable: 0,
    'not issued': 0,
  };
  for (const r of rows) counts[r.state]++;

  const current = new Map(
    input.certificates.flatMap((c) =>
      c.current
        ? [
            [
              c.name,
              {
                version: c.current.version,
                fingerprintSha256: c.current.fingerprintSha256,
                notAfter: c.current.notAfter,
                ...(c.current.facts?.subject ? { subject: c.current.facts.subject } : {}),
              },
            ] as const,
          ]
        : [],
    ),
  );
  // Fingerprint → version label, per certificate: which version a host holds, in words.
  const versions = new Map<string, string>();
  for (const c of input.certificates) {
    if (c.previous)
      versions.set(`${c.name}|${c.previous.fingerprintSha256}`, `previous ${c.previous.version}`);
    if (c.pending?.fingerprintSha256)
      versions.set(`${c.name}|${c.pending.fingerprintSha256}`, `pending ${c.pending.version}`);
    if (c.current) versions.set(`${c.name}|${c.current.fingerprintSha256}`, c.current.version);
  }
  const versionOf = (certificate: string, fingerprint: string | undefined) =>
    fingerprint ? versions.get(`${certificate}|${fingerprint}`) : undefined;
  const hosts: HostReportView[] = hostDrift({
    reports: input.hostReports,
    current,
    expected: input.expectedHosts,
    now,
  }).hosts.map((h) => {
    const expectedVersion = versionOf(h.certificate, h.expectedFingerprint);
    const installedVersion = versionOf(h.certificate, h.installedFingerprint);
    const servedVersion = versionOf(h.certificate, h.servedFingerprint);
    return {
      ...h,
      ...(expectedVersion ? { expectedVersion } : {}),
      ...(installedVersion ? { installedVersion } : {}),
      ...(servedVersion ? { servedVersion } : {}),
    };
  });

  const upstreams: UpstreamView[] = [...input.upstreams.entries()].map(([upstream, spec]) => ({
    upstream,
    consumers: spec.consumers,
    announcements: input.announcements
      .filter((a) => a.upstream === upstream)
      .map((a) => announcementView(a, spec, now)),
  }));

  const rotations = [...input.rotations]
    .sort((a, b) => b.at.localeCompare(a.at))
    .slice(0, 25)
    .map(({ id: _id, ...r }) => r);

  return {
    generatedAt: now.toISOString(),
    environments,
    rows,
    calendar,
    horizonDays,
    upstreams,
    hosts,
    rotations,
    counts,
  };
}

function announcementView(
  record: FleetReportInput['announcements'][number],
  spec: { readonly consumers: readonly string[]; readonly safetyMarginMs: number },
  now: Date,
): AnnouncementView {
  const consumers: ConsumerReadiness[] = spec.consumers.map((consumer) => {
    const d = record.distribution?.[consumer];
    if (!d) return { consumer, ready: false, detail: 'new material not delivered yet' };
    if (d.error) return { consumer, ready: false, detail: d.error };
    return d.verified
      ? { consumer, ready: true, detail: `delivered and verified ${d.at}` }
      : { consumer, ready: false, detail: d.delivered ? `delivered ${d.at}, not verified` : 'not delivered' };
  });
  const window = windowAnnouncementOf(record.id, record);
  if (!window)
    return {
      id: record.id,
      title: record.title,
      stage: 'needs review',
      consumers,
      note: 'no cutover date yet: a person must confirm the dates (certrotor upstream announce)',
    };
  try {
    const status = evaluateWindow(window, consumers, { safetyMarginMs: spec.safetyMarginMs }, now);
    return {
      id: record.id,
      title: record.title,
      stage: status.stage,
      windowStart: status.windowStart.toISOString(),
      cutover: status.cutover.toISOString(),
      deadline: status.deadline.toISOString(),
      daysLeft: status.daysLeft,
      consumers,
    };
  } catch (error) {
    return {
      id: record.id,
      title: record.title,
      stage: 'invalid',
      consumers,
      note: (error as Error).message,
    };
  }
}

/** `detail` from the parts that apply, joined. */
function detailOf(parts: readonly (string | undefined)[]): { detail?: string } {
  const present = parts.filter((p): p is string => p !== undefined && p !== '');
  return present.length > 0 ? { detail: present.join('; ') } : {};
}

function markOf(sunset: ClientAuthSunset | undefined, now: Date): string | undefined {
  return sunset ? clientAuthMark(sunset, now) : undefined;
}

/** Reads everything the report needs from the state store. */
export async function readFleetReportInput(
  state: StateStore,
  now: Date,
  configured: FleetReportSettings,
): Promise<FleetReportInput> {
  const [certificates, observations, hosts, announcements, rotations, clientCertificates] = await Promise.all(
    [
      state.list<CertificateState>(COLLECTIONS.certificates, now),
      state.list<StoredObservation | Record<string, unknown>>(COLLECTIONS.observations, now),
      state.list<HostReportFacts>(COLLECTIONS.hosts, now),
      state.list<FleetReportInput['announcements'][number]>(COLLECTIONS.announcements, now),
      state.list<{ status: string; at: string; reason?: string }>(COLLECTIONS.rotations, now),
      clientCertificateRecords(state, now),
    ],
  );
  return {
    ...configured,
    certificates: certificates.map((i) => i.value),
    // Observations of endpoints and sources; upstream observations are shown with their upstream.
    observations: observations
      .map((i) => i.value)
      .filter((o): o is StoredObservation => typeof o === 'object' && o !== null && 'location' in o),
    // Host records also hold per-upstream reports without a certificate; only certificate reports here.
    hostReports: hosts
      .map((i) => i.value)
      .filter((h) => typeof h.host === 'string' && typeof h.certificate === 'string'),
    announcements: announcements.map((i) => i.value).filter((a) => typeof a.upstream === 'string'),
    clientCertificates,
    rotations: rotations.map((i) => {
      const [certificate = i.id, version = ''] = i.id.split('#');
      return {
        id: i.id,
        certificate,
        version,
        status: i.value.status,
        at: i.value.at,
        ...(i.value.reason ? { reason: i.value.reason } : {}),
      };
    }),
  };
}

/** Short fingerprint for display ('-' when unknown). */
export function shortOf(fingerprint: string | undefined): string {
  return fingerprint ? shortFingerprint(fingerprint) : '-';
}

/** What the report needs of the configuration (lambda/wiring/upstreams.ts `fleetReportSettings`). */
export type FleetReportSettings = Pick<
  FleetReportInput,
  'environments' | 'managedEnvironments' | 'expectedHosts' | 'upstreams' | 'thresholds' | 'thresholdScaling'
>;

/**
 * The report from `state` as of `now`: what the CLI's `report` and the scheduled report Lambda both
 * build, from the same settings view of the configuration.
 */
export async function buildFleetReport(
  deps: { readonly state: StateStore },
  settings: FleetReportSettings,
  now: Date,
  horizonDays?: number,
): Promise<FleetReport> {
  return fleetReport(await readFleetReportInput(deps.state, now, settings), now, horizonDays);
}
