/**
 * The fleet report as people read it: each certificate in each place with its expiry state, the
 * expiry calendar, each upstream's announced window with per-consumer readiness, each host's
 * installed vs served version and the last rotations. Built by use-cases/fleet-report.ts from the
 * recorded state; rendered by the adapters (the HTML page).
 */
import type { HostView } from './host-drift';
import type { ConsumerReadiness } from './upstream/window';

export type ExpiryState = 'expired' | 'critical' | 'warning' | 'ok' | 'unreachable' | 'not issued';

/** One certificate in one place. */
export interface FleetRow {
  readonly environment: string;
  /** host:port, a file, an ACM ARN, or `managed` for the issued version. */
  readonly where: string;
  readonly certificate: string;
  readonly subject?: string;
  readonly fingerprint?: string;
  readonly notAfter?: string;
  readonly daysLeft?: number;
  readonly state: ExpiryState;
  readonly detail?: string;
  readonly observedAt?: string;
}

export interface CalendarEntry {
  /** YYYY-MM-DD (UTC) the certificate expires. */
  readonly date: string;
  readonly environment: string;
  readonly certificate: string;
  readonly where: string;
  readonly daysLeft: number;
  readonly state: ExpiryState;
}

export interface AnnouncementView {
  readonly id: string;
  readonly title: string;
  readonly stage: string;
  readonly windowStart?: string;
  readonly cutover?: string;
  readonly deadline?: string;
  readonly daysLeft?: number;
  readonly consumers: readonly ConsumerReadiness[];
  readonly note?: string;
}

export interface UpstreamView {
  readonly upstream: string;
  readonly consumers: readonly string[];
  readonly announcements: readonly AnnouncementView[];
}

/** A host's certificate: what should be there, what is installed, what it serves, by version. */
export interface HostReportView extends HostView {
  /** Version ids (`v1a2b…`, or `previous v…`) of the fingerprints, where the state knows them. */
  readonly expectedVersion?: string;
  readonly installedVersion?: string;
  readonly servedVersion?: string;
}

export interface RotationView {
  readonly certificate: string;
  readonly version: string;
  readonly status: string;
  readonly at: string;
  readonly reason?: string;
}

export interface FleetReport {
  readonly generatedAt: string;
  readonly environments: readonly string[];
  readonly rows: readonly FleetRow[];
  /** Expiries from the past (expired) through `horizonDays`, soonest first. */
  readonly calendar: readonly CalendarEntry[];
  readonly horizonDays: number;
  readonly upstreams: readonly UpstreamView[];
  readonly hosts: readonly HostReportView[];
  readonly rotations: readonly RotationView[];
  readonly counts: Readonly<Record<ExpiryState, number>>;
}
