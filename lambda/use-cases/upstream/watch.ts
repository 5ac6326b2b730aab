/**
 * One upstream watch, as the upstream-watch Lambda runs it every few hours and `certrotor run` runs
 * it locally. Primary course, per upstream (one failing upstream, feed or endpoint never stops the
 * others):
 *
 * 1. record announcements received from outside (AWS Health events), then poll the status-page feeds;
 * 2. observe the upstream's endpoints (a new leaf, issuer or root; a certificate nearing expiry with
 *    nothing announced);
 * 3. deliver announced new material (a vendor client certificate, a new CA) to every consumer that
 *    does not hold it yet during the overlap, and retire the old material once the cutover passed and
 *    every consumer verified the new;
 * 4. assess every announcement: stage, deadline, per-consumer readiness;
 * 5. turn what is new into catalogue events (announced, needs review, certificate changed, deadline
 *    approaching, consumers not ready, rotation imminent), each once per deduplication key, then
 *    publish and notify. Publishing and notifying never fail the watch; their problems are reported.
 */
import { type CertificateFacts, DAY_MS } from '../../domain/certificate';
import { describeError } from '../../domain/errors';
import { type CertificateRef, DetailType, buildEvent } from '../../domain/events';
import type { Finding } from '../../domain/findings';
import type { EventPublisher, OutgoingEvent, StateStore } from '../../domain/ports';
import { type AnnouncementDraft, windowAnnouncementOf } from '../../domain/upstream/announcement';
import { COLLECTIONS } from '../certificate-state';
import { handOver } from '../hand-over';
import { factsRef, type OwnershipLookup } from '../finding-events';
import { type ScanFailure, claimAlertKey } from '../scan';
import { type AnnouncementRecord, type UpstreamDeps, type UpstreamSpec } from './model';
import { type AnnouncementStatus, upstreamStatus } from './readiness';
import { type UpstreamObservation, observeUpstream } from './observation';
import { distributeNewMaterial, retireOldMaterial } from './distribution';
import { listAnnouncements, pollFeeds, recordAnnouncement } from './announcements';

export interface UpstreamWatchDeps extends UpstreamDeps {
  readonly publisher: EventPublisher;
  readonly ownership: OwnershipLookup;
  /** Sends events to people; returns one line per problem. Never throws. */
  readonly notify?: (events: readonly OutgoingEvent[]) => Promise<string[]>;
}

export interface UpstreamWatchInput {
  readonly upstreams: readonly UpstreamSpec[];
  /** Announcements received from outside the watch (AWS Health events), recorded first. */
  readonly drafts?: readonly AnnouncementDraft[];
  /** Deliver new material to consumers and retire the old. @default true */
  readonly distribute?: boolean;
}

export interface UpstreamWatchEntry {
  readonly upstream: string;
  readonly announcements: readonly AnnouncementStatus[];
  /** Consumers that received new material in this watch, per announcement id. */
  readonly delivered: Readonly<Record<string, readonly string[]>>;
  /** Announcements whose old material was retired in this watch. */
  readonly retired: readonly string[];
}

export interface UpstreamWatchReport {
  readonly upstreams: readonly UpstreamWatchEntry[];
  /** Every event that was new in this watch (already published). */
  readonly events: readonly OutgoingEvent[];
  readonly failures: readonly ScanFailure[];
}

/** Runs one watch over every upstream. Never throws for one upstream: each failure is reported. */
export async function watchUpstreams(
  deps: UpstreamWatchDeps,
  input: UpstreamWatchInput,
): Promise<UpstreamWatchReport> {
  const failures: ScanFailure[] = [];
  const candidates: OutgoingEvent[] = [];
  for (const draft of input.drafts ?? []) {
    try {
      await recordAnnouncement(deps.state, draft, deps.clock());
    } catch (error) {
      failures.push({ what: `announcement ${draft.source} ${draft.sourceId}`, error: describeError(error) });
    }
  }
  const polled = await pollFeeds(deps, input.upstreams);
  for (const f of polled.failures) failures.push({ what: `feed ${f.feed} (${f.upstream})`, error: f.error });

  const entries: UpstreamWatchEntry[] = [];
  for (const spec of input.upstreams) {
    try {
      const entry = await watchOne(deps, spec, input.distribute ?? true, candidates, failures);
      entries.push(entry);
    } catch (error) {
      failures.push({ what: `upstream ${spec.name}`, error: describeError(error) });
    }
  }
  const now = deps.clock();
  const fresh: OutgoingEvent[] = [];
  for (const event of candidates) {
    try {
      if ((await deps.state.get(COLLECTIONS.alerts, String(event.detail.dedupeKey), now)) === undefined)
        fresh.push(event);
    } catch (error) {
      failures.push({ what: `deduplication of ${event.detailType}`, error: describeError(error) });
    }
  }
  const handed = await handOver(deps, fresh);
  failures.push(...handed.failures);
  // Marked as sent only once recorded in the outbox and published: a run that dies first warns again.
  for (const event of handed.events) {
    try {
      await claimAlertKey(deps.state, String(event.detail.dedupeKey), { kind: event.detailType }, now);
    } catch (error) {
      failures.push({ what: `deduplication of ${event.detailType}`, error: describeError(error) });
    }
  }
  return { upstreams: entries, events: fresh, failures };
}

async function watchOne(
  deps: UpstreamWatchDeps,
  spec: UpstreamSpec,
  distribute: boolean,
  events: OutgoingEvent[],
  failures: ScanFailure[],
): Promise<UpstreamWatchEntry> {
  const observed = await observeUpstream(deps, spec);
  for (const f of observed.failures) {
    failures.push({ what: `upstream ${spec.name} endpoint ${f.endpoint}`, error: f.error });
  }
  const delivered: Record<string, string[]> = {};
  const retired: string[] = [];
  if (distribute) {
    // Records and their windows are enough to decide; readiness (with its proof handshakes) is
    // assessed once, below, after any delivery.
    const records = await listAnnouncements(deps.state, deps.clock(), spec.name);
    for (const record of records.filter((r) => r.upstream === spec.name)) {
      const hasMaterial =
        record.newClientCertificate !== undefined ||
        (record.newCaPem !== undefined && record.newCaPem.length > 0);
      const window = windowAnnouncementOf(record.id, record);
      if (!hasMaterial || record.oldRetiredAt || !window) continue;
      const now = deps.clock().getTime();
      if (now < Date.parse(window.windowStart)) continue; // overlap not open yet
      const pending = spec.consumers
        .filter((c) => c.destination !== undefined && !record.distribution?.[c.name]?.verified)
        .map((c) => c.name);
      try {
        if (pending.length > 0) {
          const report = await distributeNewMaterial(deps, spec, record.id, pending);
          delivered[record.id] = report.consumers.filter((c) => c.verified).map((c) => c.consumer);
          for (const c of report.consumers.filter((x) => !x.verified)) {
            failures.push({
              what: `upstream ${spec.name} delivery to ${c.consumer}`,
              error: c.error ?? 'not verified',
            });
          }
        }
        if (record.cutover && Date.parse(record.cutover) <= now) {
          const decision = await retireOldMaterial(deps, spec, record.id);
          if (decision.allowed && !record.oldRetiredAt) retired.push(record.id);
        }
      } catch (error) {
        failures.push({
          what: `upstream ${spec.name} distribution for ${record.id}`,
          error: describeError(error),
        });
      }
    }
  }
  const statuses = await upstreamStatus(deps, spec);
  const now = deps.clock();
  const served = await lastServed(deps.state, spec, now);
  const ctx = { spec, now, ownership: deps.ownership(spec.name) };
  for (const status of statuses) {
    for (const event of announcementEvents(status, served, ctx, failures)) events.push(event);
  }
  for (const finding of observed.findings) {
    const event = safely(failures, `event for ${finding.dedupeKey}`, () => observationEvent(finding, ctx));
    if (event) events.push(event);
  }
  return { upstream: spec.name, announcements: statuses, delivered, retired };
}

interface EventContext {
  readonly spec: UpstreamSpec;
  readonly now: Date;
  readonly ownership: { owner?: string; runbookUrl?: string };
}

function announcementEvents(
  status: AnnouncementStatus,
  served: CertificateFacts | undefined,
  ctx: EventContext,
  failures: ScanFailure[],
): OutgoingEvent[] {
  const { spec, now } = ctx;
  const record = status.announcement;
  const out: OutgoingEvent[] = [];
  const consumers = status.consumers.map((c) => consumerOf(spec, c));
  const environments = environmentsOf(spec, consumers);
  const common = {
    occurredAt: now.toISOString(),
    environments,
    ...definedOnly(ctx.ownership),
  };
  const upstream = upstreamRef(spec);
  const feedKind = record.source;
  if (record.needsReview && feedKind !== 'manual' && feedKind !== 'observation') {
    const event = safely(failures, `needs-review event for ${record.id}`, () =>
      buildEvent(
        DetailType.UpstreamAnnouncementNeedsReview,
        {
          ...common,
          dedupeKey: truncate(
            `upstream-announcement-needs-review:${spec.name}:${record.link ?? record.sourceId}`,
            512,
          ),
          severity: 'warning',
          summary: truncate(
            `${spec.name}: "${record.title}" needs review: ${record.reviewReasons.join('; ')}`,
            500,
          ),
          upstream,
          feed: {
            kind: feedKind,
            ...(feedUrlOf(spec, record) ? { url: feedUrlOf(spec, record)! } : {}),
          },
          title: truncate(record.title, 500),
          reason: truncate(record.reviewReasons.join('; ') || 'dates or scope unclear', 1000),
          ...(record.rawText ? { excerpt: truncate(record.rawText, 2000) } : {}),
          ...(isUrl(record.link) ? { itemUrl: record.link! } : {}),
        },
        now,
      ),
    );
    if (event) out.push(event);
  }
  if (!status.cutover || !status.deadline || !status.window) return out;
  const announcement = {
    id: truncate(record.id, 300),
    source: record.source,
    title: truncate(record.title, 500),
    ...(isUrl(record.link) ? { url: record.link! } : {}),
    windowStart: status.window.windowStart.toISOString(),
    cutover: status.cutover,
    deadline: status.deadline,
    ...(newFingerprints(record).length > 0 ? { newFingerprints: newFingerprints(record) } : {}),
    ...(record.note ? { note: truncate(record.note, 2000) } : {}),
  };
  if (record.source !== 'observation') {
    const event = safely(failures, `announced event for ${record.id}`, () =>
      buildEvent(
        DetailType.UpstreamRotationAnnounced,
        {
          ...common,
          dedupeKey: `upstream-rotation-announced:${record.id}`,
          severity: 'info',
          summary: truncate(
            `${spec.name}: rotation announced (${record.source}), cutover ${status.cutover}, deadline ${status.deadline}; ${consumers.filter((c) => c.ready).length} of ${consumers.length} consumers ready`,
            500,
          ),
          upstream,
          announcement,
          ...(served ? { certificate: factsRef(served) } : {}),
          consumers,
        },
        now,
      ),
    );
    if (event) out.push(event);
  }
  // An observed change already happened: Upstream Certificate Changed names who is affected.
  const windowFindings = record.source === 'observation' ? [] : status.findings;
  for (const finding of windowFindings) {
    const notReady = consumers.filter((c) => !c.ready);
    const remainingMs = status.window.remainingMs;
    const threshold = status.window.threshold ?? 'overdue';
    const event = safely(failures, `event for ${finding.dedupeKey}`, () =>
      finding.kind === 'upstream-window'
        ? buildEvent(
            DetailType.UpstreamRotationDeadlineApproaching,
            {
              ...common,
              dedupeKey: finding.dedupeKey,
              severity: finding.severity,
              summary: truncate(finding.message, 500),
              upstream,
              announcement,
              stage: status.window!.stage,
              daysLeft: status.window!.daysLeft,
              threshold,
              consumersNotReady: notReady,
              consumersReady: consumers.length - notReady.length,
              consumersTotal: consumers.length,
            },
            now,
          )
        : notReady.length > 0
          ? buildEvent(
              DetailType.ConsumersNotReady,
              {
                ...common,
                environments: environmentsOf(spec, notReady),
                dedupeKey: finding.dedupeKey,
                severity: finding.severity,
                summary: truncate(finding.message, 500),
                upstream,
                announcement,
                daysLeft: status.window!.daysLeft,
                hoursLeft: Math.round((remainingMs / 3_600_000) * 10) / 10,
                consumersNotReady: notReady,
                consumersReady: consumers.length - notReady.length,
                consumersTotal: consumers.length,
                readyPercent:
                  consumers.length === 0
                    ? 100
                    : Math.round(((consumers.length - notReady.length) / consumers.length) * 1000) / 10,
              },
              now,
            )
          : undefined,
    );
    if (event) out.push(event);
  }
  return out;
}

/** Upstream Certificate Changed, or Certificate Expiring for an unannounced rotation about to happen. */
function observationEvent(finding: Finding, ctx: EventContext): OutgoingEvent | undefined {
  const { spec, now } = ctx;
  const common = {
    dedupeKey: finding.dedupeKey,
    severity: finding.severity,
    occurredAt: now.toISOString(),
    environments: [...finding.environments],
    summary: truncate(finding.message, 500),
    ...definedOnly(ctx.ownership),
  };
  const details = finding.details as Record<string, unknown>;
  if (finding.kind === 'upstream-certificate-changed') {
    const previous = details.previous as CertificateFacts | undefined;
    const current = finding.certificate;
    if (!previous || !current) return undefined;
    const change = String(details.change);
    const affected =
      (details.consumersAffected as
        { consumer: string; ready: boolean; environment?: string; detail?: string }[] | undefined) ?? [];
    return buildEvent(
      DetailType.UpstreamCertificateChanged,
      {
        ...common,
        upstream: upstreamRef(spec),
        endpoint: {
          ...(details.endpoint as { host: string; port: number; servername?: string; address?: string }),
          environment: finding.environments[0] ?? spec.environment,
        },
        certificate: certificateRef(current),
        previous: factsRef(previous),
        changes: change === 'leaf' ? ['leaf'] : ['leaf', change as 'issuer' | 'root'],
        announced: details.announced === true,
        ...(typeof details.announcementId === 'string'
          ? { announcementId: truncate(details.announcementId, 300) }
          : {}),
        consumersAffected: affected.map((c) => consumerOf(spec, c)),
      },
      now,
    );
  }
  if (finding.kind === 'expiring' && finding.certificate) {
    return buildEvent(
      DetailType.CertificateExpiring,
      {
        ...common,
        certificate: certificateRef(finding.certificate),
        daysLeft: finding.daysLeft ?? 0,
        threshold: Math.max(1, Math.ceil(spec.expiryWarningMs / DAY_MS)),
        locations: finding.locations.map((location) => ({
          environment: finding.environments[0] ?? spec.environment,
          location: truncate(location, 500),
          source: 'probe',
        })),
        managed: false,
        upstream: spec.name,
      },
      now,
    );
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** The leaf the upstream served at its last observation, when observed. */
async function lastServed(
  state: StateStore,
  spec: UpstreamSpec,
  now: Date,
): Promise<CertificateFacts | undefined> {
  const items = await state.list<UpstreamObservation>(
    COLLECTIONS.observations,
    now,
    `upstream:${spec.name}:`,
  );
  return items.map((i) => i.value).sort((a, b) => b.observedAt.localeCompare(a.observedAt))[0]?.chain[0];
}

interface ConsumerRef {
  name: string;
  kind?: 'host' | 'fleet' | 'destination';
  environment?: string;
  ready: boolean;
  reason?: string;
}

function consumerOf(
  spec: UpstreamSpec,
  c: { consumer: string; ready: boolean; environment?: string; detail?: string },
): ConsumerRef {
  const known = spec.consumers.find((x) => x.name === c.consumer);
  const environment = c.environment ?? known?.environment;
  return {
    name: truncate(c.consumer, 300),
    ...(known ? { kind: known.kind } : {}),
    ...(environment ? { environment } : {}),
    ready: c.ready,
    ...(!c.ready && c.detail ? { reason: truncate(c.detail, 1000) } : {}),
  };
}

function environmentsOf(spec: UpstreamSpec, consumers: readonly { environment?: string }[]): string[] {
  const envs = new Set<string>();
  for (const c of consumers) if (c.environment) envs.add(c.environment);
  for (const e of spec.endpoints) if (e.environment) envs.add(e.environment);
  if (envs.size === 0) envs.add(spec.environment);
  return [...envs];
}

function upstreamRef(spec: UpstreamSpec): { name: string; endpoints?: string[] } {
  return {
    name: spec.name,
    ...(spec.endpoints.length > 0
      ? { endpoints: spec.endpoints.map((e) => truncate(`${e.host}:${e.port}`, 300)) }
      : {}),
  };
}

function certificateRef(c: NonNullable<Finding['certificate']>): CertificateRef {
  return {
    fingerprintSha256: c.fingerprintSha256,
    subject: truncate(c.subject ?? '-', 1000),
    ...(c.serialNumber && /^[0-9A-F]{1,64}$/.test(c.serialNumber) ? { serialNumber: c.serialNumber } : {}),
    ...(c.notAfter ? { notAfter: c.notAfter } : {}),
  };
}

function newFingerprints(record: AnnouncementRecord): string[] {
  return [
    ...new Set([
      ...(record.newCertificate ? [record.newCertificate.fingerprintSha256] : []),
      ...(record.newServerFingerprints ?? []),
      ...(record.newCaFingerprints ?? []),
      ...(record.newClientCertificate ? [record.newClientCertificate.fingerprintSha256] : []),
    ]),
  ];
}

function feedUrlOf(spec: UpstreamSpec, record: AnnouncementRecord): string | undefined {
  const feed = spec.feeds.find((f) => f.kind === record.source);
  return feed && isUrl(feed.url) ? feed.url : undefined;
}

function isUrl(value: string | undefined): boolean {
  if (!value) return false;
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

function safely<T>(failures: ScanFailure[], what: string, build: () => T): T | undefined {
  try {
    return build();
  } catch (error) {
    failures.push({ what, error: describeError(error) });
    return undefined;
  }
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
