/**
 * The rotation's events, built from the same records whichever driver ran it: Rotation Started when a
 * rotation starts, and one outcome (Succeeded, Rolled Back or Failed) when it finishes, each with the
 * catalogue's dedupe key (`rotation-<kind>:<rotation id>`), so a channel never drops the outcome as a
 * duplicate of the start.
 */
import type { CertificateFacts } from '../../domain/certificate';
import { DetailType, buildEvent } from '../../domain/events';
import type { OutgoingEvent } from '../../domain/ports';
import type { TargetRecord, TargetRef } from '../../domain/rotation/rollout';
import { rotationDedupeKey, rotationIdOf } from '../../domain/rotation/version';
import type { VersionRecord } from '../certificate-state';
import { factsRef } from '../finding-events';
import { listTargets } from './steps';
import { type RotationDeps, type RotationRef, type RotationSpec, environmentOf } from './spec';

export type RotationOutcome = 'succeeded' | 'rolled-back' | 'failed';

export async function publishStarted(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
  current: VersionRecord | undefined,
  now: Date,
): Promise<void> {
  const targets = await listTargets(deps, spec).then(
    (t) => t.length,
    () => 0,
  );
  await publish(deps, () =>
    buildEvent(
      DetailType.RotationStarted,
      {
        ...common(
          spec,
          ref,
          'started',
          'info',
          now,
          `${spec.name}: rotation ${ref.version} started for ${targets} target(s)${ref.reason ? `: ${ref.reason}` : ''}`,
        ),
        rotation: rotation(spec, ref),
        ...(current ? { previous: versionRef(spec.name, current) } : {}),
        destinations: [...spec.destinations],
        targets,
      },
      now,
    ),
  );
}

export interface OutcomeFacts {
  readonly outcome: RotationOutcome;
  readonly reason?: string;
  readonly stage: 'issue' | 'stage' | 'distribute' | 'verify' | 'promote' | 'rollback';
  readonly issued?: CertificateFacts;
  /** The version replaced (on success) or still current (otherwise). */
  readonly previous?: VersionRecord;
  readonly records: readonly TargetRecord[];
  readonly total: number;
  readonly verifiedBeforeRollback: number;
  /** Escalation level of a failure (`escalationLevel`): part of its dedupe key. */
  readonly level?: number;
}

export function outcomeEvent(
  spec: RotationSpec,
  ref: RotationRef,
  facts: OutcomeFacts,
  now: Date,
): OutgoingEvent {
  const host = (t: TargetRef) => hostRef(spec, t);
  const failedHosts = facts.records
    .filter((r) => r.error)
    .map((r) => ({ ...host(r), reason: r.error!.slice(0, 900) }));
  const issued = facts.issued ? factsRef(facts.issued, spec.name) : undefined;
  const previous = facts.previous ? versionRef(spec.name, facts.previous) : undefined;
  const convergence =
    facts.total === 0
      ? 0
      : Math.round((Math.min(facts.verifiedBeforeRollback, facts.total) / facts.total) * 1000) / 10;
  if (facts.outcome === 'succeeded' && issued) {
    return buildEvent(
      DetailType.RotationSucceeded,
      {
        ...common(
          spec,
          ref,
          'succeeded',
          'info',
          now,
          `${spec.name} rotated to ${ref.version} on ${facts.total} target(s)`,
        ),
        rotation: rotation(spec, ref),
        certificate: issued,
        ...(previous ? { previous } : {}),
        verifiedHosts: facts.records.filter((r) => r.state === 'verified').map(host),
        convergencePercent: 100,
      },
      now,
    );
  }
  const reason = facts.reason ?? facts.outcome;
  if (facts.outcome === 'rolled-back' && previous) {
    return buildEvent(
      DetailType.RotationRolledBack,
      {
        ...common(
          spec,
          ref,
          'rolled-back',
          severityOf(facts.level),
          now,
          `rotation of ${spec.name} to ${ref.version} rolled back: ${reason}`,
          facts.level,
        ),
        rotation: rotation(spec, ref),
        ...(issued ? { certificate: issued } : {}),
        previous,
        failedHosts,
        restoredHosts: facts.records.filter((r) => r.state === 'rolled-back').map(host),
        rollbackVerified: facts.records.every((r) => r.state !== 'rollback-failed'),
        convergencePercent: convergence,
      },
      now,
    );
  }
  // A rollback with no previous version to name is reported as a failure.
  return buildEvent(
    DetailType.RotationFailed,
    {
      ...common(
        spec,
        ref,
        'failed',
        severityOf(facts.level),
        now,
        `rotation of ${spec.name} to ${ref.version} failed: ${reason}`,
        facts.level,
      ),
      rotation: rotation(spec, ref),
      ...(issued ? { certificate: issued } : {}),
      ...(previous ? { previous } : {}),
      stage: facts.stage,
      error: reason.slice(0, 1000),
      failedHosts,
      convergencePercent: convergence,
      rolledBack: facts.outcome === 'rolled-back',
    },
    now,
  );
}

/** Events never decide a rotation: a publishing failure is the publisher's to report. */
export async function publish(deps: Pick<RotationDeps, 'events'>, build: () => OutgoingEvent): Promise<void> {
  if (!deps.events) return;
  try {
    await deps.events.publish([build()]);
  } catch {
    // An invalid or unpublishable event must not fail the rotation; the publisher reports delivery.
  }
}

/** A failure with three days or less left on the current certificate (level 4 and up) is critical. */
const severityOf = (level: number | undefined) => ((level ?? 0) >= 4 ? 'critical' : 'error');

function common(
  spec: RotationSpec,
  ref: RotationRef,
  kind: 'started' | 'succeeded' | 'failed' | 'rolled-back',
  severity: 'info' | 'error' | 'critical',
  now: Date,
  summary: string,
  level?: number,
) {
  return {
    dedupeKey: rotationDedupeKey(kind, rotationIdOf(spec.name, ref.version), level),
    severity,
    occurredAt: now.toISOString(),
    environments: [...spec.environments],
    summary: summary.slice(0, 500),
    ...(spec.owner ? { owner: spec.owner } : {}),
    ...(spec.runbookUrl ? { runbookUrl: spec.runbookUrl } : {}),
  };
}

function rotation(spec: RotationSpec, ref: RotationRef) {
  return {
    id: rotationIdOf(spec.name, ref.version),
    name: spec.name,
    version: ref.version,
    ...(ref.trigger ? { trigger: ref.trigger } : {}),
  };
}

function hostRef(spec: RotationSpec, t: TargetRef) {
  const environment = environmentOf(spec, t.destination);
  return {
    target: t.target.slice(0, 500),
    destination: t.destination,
    ...(environment ? { environment } : {}),
  };
}

function versionRef(name: string, v: VersionRecord) {
  return v.facts
    ? factsRef(v.facts, name)
    : { name, fingerprintSha256: v.fingerprintSha256, subject: name, notAfter: v.notAfter };
}
