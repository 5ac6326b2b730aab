/**
 * The rotation as separate workflow steps (the Step Functions state machine runs one per task). Each
 * step takes and returns references only: certificate name, version id, bundle reference, target and
 * public facts. Steps are idempotent, so a retried task never issues or delivers twice.
 *
 * Primary course: start (lock, mark pending) → issue (and stage in the key store) → list targets →
 * per target: deliver, then verify until it serves the new version or its deadline passes → promote →
 * finish (record, unlock, publish). On any failure: roll back every target that was touched → finish.
 */
import { DetailType, buildEvent } from '../domain/events';
import { RotationRefusedError, describeError } from '../domain/errors';
import type { BundleRef, EventPublisher, OutgoingEvent } from '../domain/ports';
import { isAsynchronous, isPromotable, isStaging } from '../domain/ports';
import {
  COLLECTIONS,
  acquireLock,
  nextVersionId,
  readCertificateState,
  releaseLock,
  updateCertificateState,
} from './certificate-state';
import type { ManagedCertificateSpec, VerifyEndpoint } from './managed-certificate';
import {
  type RotationDeps,
  type TargetRef,
  type TargetStatus,
  checkNewVersion,
  issueStep,
  listTargets,
  promoteStep,
  rollbackTargets,
  verifyTarget,
} from './rotate';

/** Records which targets a rotation touched, so that rollback restores those and only those. */
export const ROTATION_TARGETS_COLLECTION = 'rotation-targets';

export interface WorkflowSpec extends ManagedCertificateSpec {
  /** How long a target may take to serve the new version after delivery. */
  readonly verifyTimeoutMs: number;
  /** Pause between verification rounds. */
  readonly verifyIntervalMs: number;
  /** Environment of each destination (by destination name), for events and endpoint matching. */
  readonly destinationEnvironments: ReadonlyMap<string, string | undefined>;
}

export interface WorkflowDeps extends RotationDeps {
  readonly events: EventPublisher;
  /**
   * How long rollbackStep re-checks targets of asynchronous destinations (agents that poll) before
   * calling their rollback failed, and how often; waits with `sleep`. Kept well within the rotation
   * Lambda's 5 minute timeout. @default { timeoutMs: 150000, intervalMs: 5000 }
   */
  readonly rollbackWait?: { readonly timeoutMs: number; readonly intervalMs: number };
}

const DEFAULT_ROLLBACK_WAIT = { timeoutMs: 150_000, intervalMs: 5_000 };

export interface StepReference {
  readonly name: string;
  readonly version: string;
  /** The workflow execution name: the lock owner. */
  readonly execution: string;
  readonly trigger?: 'schedule' | 'manual' | 'upstream' | 'drift';
}

export interface IssuedVersion {
  readonly bundle: BundleRef;
  readonly fingerprint: string;
  readonly notAfter: string;
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
}

export interface WorkflowTargets {
  readonly canary: TargetRef[];
  readonly rest: TargetRef[];
  readonly verifyIntervalSeconds: number;
}

/** A target failed: the task fails with this error name and the workflow rolls back. */
export class TargetFailedError extends RotationRefusedError {}

const LOCK_TTL_MS = 3 * 3_600_000;

export async function startStep(
  deps: WorkflowDeps,
  spec: WorkflowSpec,
  ref: StepReference,
): Promise<{ started: boolean; reason: string }> {
  const now = deps.clock();
  const state = (await readCertificateState(deps.state, spec.name, now))?.value;
  const expected = nextVersionId(spec.name, state);
  if (ref.version !== expected) {
    return {
      started: false,
      reason: `version ${ref.version} is superseded: the next version of ${spec.name} is ${expected}`,
    };
  }
  const lock = {
    owner: ref.execution,
    acquiredAt: now.toISOString(),
    purpose: `rotate ${spec.name} ${ref.version}`,
  };
  if (!(await acquireLock(deps.state, spec.name, lock, now, LOCK_TTL_MS))) {
    const held = await deps.state.get<{ owner: string }>(COLLECTIONS.locks, spec.name, now);
    // A retried start task of this very execution already holds it.
    if (held?.value.owner !== ref.execution) {
      return {
        started: false,
        reason: `rotation of ${spec.name} is already in progress (lock held by ${held?.value.owner ?? 'another run'})`,
      };
    }
  }
  if (state?.pending && state.pending.version !== ref.version) {
    await releaseLock(deps.state, spec.name, ref.execution, deps.clock());
    return {
      started: false,
      reason: `${spec.name} has a pending version ${state.pending.version} from an unfinished rotation; run \`certrotor repair ${spec.name}\``,
    };
  }
  await updateCertificateState(deps.state, spec.name, now, (current) => ({
    ...current,
    pending: {
      version: ref.version,
      rotationId: `${spec.name}:${ref.version}`,
      startedAt: now.toISOString(),
      reason: ref.trigger ?? 'schedule',
    },
  }));
  const targets = await listTargets(deps, spec);
  await publish(deps, () =>
    buildEvent(
      DetailType.RotationStarted,
      {
        ...common(spec, ref, 'info', now, `rotation of ${spec.name} to ${ref.version} started`),
        rotation: rotation(spec, ref),
        ...(state?.current
          ? { previous: certificateRef(spec.name, state.current.facts, state.current) }
          : {}),
        destinations: [...spec.destinations],
        targets: targets.length,
      },
      now,
    ),
  );
  return { started: true, reason: 'lock taken' };
}

export async function issueRotationStep(
  deps: WorkflowDeps,
  spec: WorkflowSpec,
  ref: StepReference,
): Promise<IssuedVersion> {
  const { bundle, ref: stored } = await issueStep(deps, spec, ref.version);
  const current = (await readCertificateState(deps.state, spec.name, deps.clock()))?.value.current;
  const problem = checkNewVersion(bundle, current, deps.clock());
  if (problem)
    throw new RotationRefusedError(`${spec.name}: new certificate rejected before distribution: ${problem}`);
  const { facts } = bundle;
  return {
    bundle: stored,
    fingerprint: facts.fingerprintSha256,
    notAfter: facts.notAfter,
    subject: facts.subject,
    issuer: facts.issuer,
    serialNumber: facts.serialNumber,
  };
}

export async function listTargetsStep(deps: WorkflowDeps, spec: WorkflowSpec): Promise<WorkflowTargets> {
  const targets = await listTargets(deps, spec);
  const canary = targets.slice(0, Math.max(0, spec.rollout.canary));
  return {
    canary,
    rest: targets.slice(canary.length),
    verifyIntervalSeconds: Math.max(1, Math.round(spec.verifyIntervalMs / 1000)),
  };
}

/** Delivers the staged version to one target; returns the verification deadline. */
export async function deliverStep(
  deps: WorkflowDeps,
  spec: WorkflowSpec,
  ref: StepReference,
  bundleRef: BundleRef,
  target: TargetRef,
): Promise<{ deadline: string }> {
  const destination = deps.destinations.get(target.destination);
  if (!destination)
    throw new RotationRefusedError(`${spec.name}: destination ${target.destination} is not configured`);
  const now = deps.clock();
  const id = targetRecordId(ref, target);
  // Recorded before delivering: a delivery that dies half way still gets rolled back.
  await deps.state.put(ROTATION_TARGETS_COLLECTION, id, { ...target, state: 'delivering' }, now);
  const bundle = await deps.bundles.get(bundleRef);
  let outcome;
  try {
    outcome = await destination.deliver(target.target, bundle);
  } catch (error) {
    outcome = { target: target.target, ok: false, error: describeError(error) };
  }
  if (!outcome.ok) {
    throw new TargetFailedError(
      `${target.destination}/${target.target}: delivery failed: ${outcome.error ?? 'unknown error'}`,
    );
  }
  await deps.state.put(ROTATION_TARGETS_COLLECTION, id, { ...target, state: 'delivered' }, deps.clock());
  return { deadline: new Date(now.getTime() + spec.verifyTimeoutMs).toISOString() };
}

/**
 * One verification round. Endpoints of the target's environment are probed with fresh handshakes; a
 * destination that stages material for promotion (Secrets Manager: consumers switch at promotion)
 * and has no endpoint is verified by reading back what it staged (AWSPENDING).
 */
export async function verifyStep(
  deps: WorkflowDeps,
  spec: WorkflowSpec,
  target: TargetRef,
  fingerprint: string,
  deadline: string,
  ref?: StepReference,
): Promise<{ state: 'verified' | 'retry' | 'failed'; error?: string }> {
  const outcome = await verifyOnce(deps, spec, target, fingerprint, deadline);
  // Recorded per target, so the outcome event can say how far the rollout converged.
  if (outcome.state === 'verified' && ref)
    await deps.state.put(
      ROTATION_TARGETS_COLLECTION,
      targetRecordId(ref, target),
      { ...target, state: 'verified' },
      deps.clock(),
    );
  return outcome;
}

async function verifyOnce(
  deps: WorkflowDeps,
  spec: WorkflowSpec,
  target: TargetRef,
  fingerprint: string,
  deadline: string,
): Promise<{ state: 'verified' | 'retry' | 'failed'; error?: string }> {
  const endpoints = endpointsFor(spec, target);
  const destination = deps.destinations.get(target.destination);
  if (!destination)
    throw new RotationRefusedError(`${spec.name}: destination ${target.destination} is not configured`);
  // A promotable destination that cannot say what it staged is verified by its successful staging.
  if (endpoints.length === 0 && isPromotable(destination) && !isStaging(destination))
    return { state: 'verified' };
  const once: WorkflowSpec = {
    ...spec,
    verify: endpoints,
    verifyPolicy: { ...spec.verifyPolicy, attempts: 1 },
  };
  const status = await verifyTarget(deps, once, target, fingerprint);
  if (status.state === 'verified') return { state: 'verified' };
  if (deps.clock().getTime() < Date.parse(deadline))
    return { state: 'retry', ...(status.error ? { error: status.error } : {}) };
  return {
    state: 'failed',
    error: `${target.destination}/${target.target} not verified by ${deadline}: ${status.error ?? 'does not serve the new version'}`,
  };
}

/** Rolls back every target the rotation touched and verifies each serves the previous version again. */
export async function rollbackStep(
  deps: WorkflowDeps,
  spec: WorkflowSpec,
  ref: StepReference,
): Promise<{
  restored: TargetRef[];
  failed: { target: TargetRef; error: string }[];
  verified: boolean;
  verifiedBeforeRollback: number;
}> {
  const now = deps.clock();
  const touched = await deps.state.list<TargetRef & { state: string }>(
    ROTATION_TARGETS_COLLECTION,
    now,
    `${ref.name}#${ref.version}#`,
  );
  const previous = (await readCertificateState(deps.state, spec.name, now))?.value.current?.fingerprintSha256;
  const statuses: TargetStatus[] = touched.map(({ value }) => ({
    destination: value.destination,
    target: value.target,
    state: 'delivered',
    ...(value.state === 'delivering' ? { failedAt: 'deliver' as const } : {}),
  }));
  const acting = (s: TargetStatus) => {
    const destination = deps.destinations.get(s.destination);
    return destination !== undefined && isAsynchronous(destination);
  };
  // Asynchronous destinations only record the rollback; their hosts act on their next poll, so they
  // are verified by re-checking for a while below rather than right away.
  const [immediate, later] = await Promise.all([
    rollbackTargets(
      deps,
      spec,
      previous,
      statuses.filter((s) => !acting(s)),
    ),
    rollbackTargets(deps, spec, undefined, statuses.filter(acting)),
  ]);
  const settled = previous ? await settleRollbacks(deps, spec, previous, later) : later;
  const rolledBack = [...immediate, ...settled];
  for (const { id } of touched) await deps.state.delete(ROTATION_TARGETS_COLLECTION, id);
  const failed = rolledBack
    .filter((s) => s.state === 'rollback-failed')
    .map((s) => ({
      target: { destination: s.destination, target: s.target },
      error: s.error ?? 'rollback failed',
    }));
  return {
    restored: rolledBack
      .filter((s) => s.state === 'rolled-back')
      .map((s) => ({ destination: s.destination, target: s.target })),
    failed,
    verified: failed.length === 0,
    verifiedBeforeRollback: touched.filter(({ value }) => value.state === 'verified').length,
  };
}

/**
 * Re-checks rolled-back targets of asynchronous destinations until each serves (or reports) the
 * previous version, or the wait runs out: those still unconfirmed then are `rollback-failed`.
 */
async function settleRollbacks(
  deps: WorkflowDeps,
  spec: WorkflowSpec,
  previous: string,
  statuses: readonly TargetStatus[],
): Promise<TargetStatus[]> {
  const wait = deps.rollbackWait ?? DEFAULT_ROLLBACK_WAIT;
  const deadline = deps.clock().getTime() + wait.timeoutMs;
  const out = [...statuses];
  // Targets whose rollback was recorded; a delivery that never completed is not re-checked (see rollbackTargets).
  let open = out.flatMap((s, i) => (s.state === 'rolled-back' && s.failedAt !== 'deliver' ? [i] : []));
  const errors = new Map<number, string | undefined>();
  for (;;) {
    const checks = await Promise.all(
      open.map(async (i) => ({ i, check: await verifyTarget(deps, spec, out[i]!, previous, 'rolled-back') })),
    );
    for (const { i, check } of checks) {
      if (check.state === 'rolled-back')
        out[i] = { ...out[i]!, state: 'rolled-back', fingerprintSha256: previous };
      else errors.set(i, check.error);
    }
    open = checks.filter(({ check }) => check.state !== 'rolled-back').map(({ i }) => i);
    if (open.length === 0 || deps.clock().getTime() >= deadline) break;
    await deps.sleep(Math.min(wait.intervalMs, Math.max(0, deadline - deps.clock().getTime())));
  }
  for (const i of open) {
    const s = out[i]!;
    const error = `after rollback not confirmed within ${Math.round(wait.timeoutMs / 1000)} s: ${errors.get(i) ?? 'does not serve the previous version'}`;
    out[i] = { ...s, state: 'rollback-failed', error: s.error ? `${s.error}; ${error}` : error };
  }
  return out;
}

export async function promoteRotationStep(
  deps: WorkflowDeps,
  spec: WorkflowSpec,
  issued: IssuedVersion,
  targets: WorkflowTargets,
): Promise<void> {
  const bundle = await deps.bundles.get(issued.bundle);
  const failed = await promoteStep(deps, spec, [...targets.canary, ...targets.rest], issued.bundle, bundle);
  if (failed.length > 0) {
    throw new TargetFailedError(
      `promotion failed on ${failed.map((f) => `${f.target} (${f.error ?? 'unknown'})`).join(', ')}`,
    );
  }
}

export type WorkflowOutcome = 'succeeded' | 'rolled-back' | 'failed';

export interface FinishInput {
  readonly outcome: WorkflowOutcome;
  readonly issued?: Partial<IssuedVersion>;
  readonly targets?: Partial<WorkflowTargets>;
  /** The Step Functions error caught, `{ Error, Cause }`. */
  readonly error?: { readonly Error?: string; readonly Cause?: string };
  readonly rollback?: {
    readonly restored?: TargetRef[];
    readonly failed?: { target: TargetRef; error: string }[];
    readonly verified?: boolean;
    readonly verifiedBeforeRollback?: number;
  };
}

/**
 * Share of targets verified on the new version: all of them after success; otherwise those recorded
 * verified (counted by the rollback before it cleared the records, or still recorded).
 */
async function convergencePercent(
  deps: WorkflowDeps,
  ref: StepReference,
  input: FinishInput,
  total: number,
  now: Date,
): Promise<number> {
  if (input.outcome === 'succeeded') return 100;
  if (total === 0) return 0;
  const verified =
    input.rollback?.verifiedBeforeRollback ??
    (
      await deps.state.list<{ state: string }>(
        ROTATION_TARGETS_COLLECTION,
        now,
        `${ref.name}#${ref.version}#`,
      )
    ).filter(({ value }) => value.state === 'verified').length;
  return Math.round((Math.min(verified, total) / total) * 1000) / 10;
}

/** Records the outcome, releases the lock and publishes the outcome event (which the notifier turns into Slack). */
export async function finishStep(
  deps: WorkflowDeps,
  spec: WorkflowSpec,
  ref: StepReference,
  input: FinishInput,
): Promise<{ outcome: WorkflowOutcome }> {
  const now = deps.clock();
  const targets = [...(input.targets?.canary ?? []), ...(input.targets?.rest ?? [])];
  const reason = failureReason(input.error);
  if (input.outcome !== 'succeeded') {
    await updateCertificateState(deps.state, spec.name, now, (state) => {
      const { pending: _cleared, ...rest } = state;
      const ours = state.pending?.version === ref.version;
      return {
        ...(ours ? rest : state),
        failedAttempts: state.failedAttempts + 1,
        lastFailure: { at: now.toISOString(), reason, version: ref.version },
      };
    });
    await deps.state.put(
      COLLECTIONS.rotations,
      `${spec.name}#${ref.version}`,
      { status: input.outcome, reason, at: now.toISOString() },
      now,
    );
  }
  await releaseLock(deps.state, spec.name, ref.execution, now);
  const state = (await readCertificateState(deps.state, spec.name, now))?.value;
  const issued = input.issued?.fingerprint !== undefined ? issuedRef(spec.name, input.issued) : undefined;
  const previous = input.outcome === 'succeeded' ? state?.previous : state?.current;
  const previousRef = previous ? certificateRef(spec.name, previous.facts, previous) : undefined;
  const hosts = targets.map((t) => hostRef(spec, t));
  const failedHosts = failedHostsFrom(spec, input, reason);
  const convergence = await convergencePercent(deps, ref, input, targets.length, now);
  await publish(deps, () => {
    if (input.outcome === 'succeeded' && issued) {
      return buildEvent(
        DetailType.RotationSucceeded,
        {
          ...common(
            spec,
            ref,
            'info',
            now,
            `${spec.name} rotated to ${ref.version} on ${targets.length} target(s)`,
          ),
          rotation: rotation(spec, ref),
          certificate: issued,
          ...(previousRef ? { previous: previousRef } : {}),
          verifiedHosts: hosts,
          convergencePercent: 100,
        },
        now,
      );
    }
    if (input.outcome === 'rolled-back' && previousRef) {
      return buildEvent(
        DetailType.RotationRolledBack,
        {
          ...common(
            spec,
            ref,
            'error',
            now,
            `rotation of ${spec.name} to ${ref.version} rolled back: ${reason}`,
          ),
          rotation: rotation(spec, ref),
          ...(issued ? { certificate: issued } : {}),
          previous: previousRef,
          failedHosts,
          restoredHosts: (input.rollback?.restored ?? []).map((t) => hostRef(spec, t)),
          rollbackVerified: input.rollback?.verified ?? false,
          convergencePercent: convergence,
        },
        now,
      );
    }
    return buildEvent(
      DetailType.RotationFailed,
      {
        ...common(spec, ref, 'error', now, `rotation of ${spec.name} to ${ref.version} failed: ${reason}`),
        rotation: rotation(spec, ref),
        ...(issued ? { certificate: issued } : {}),
        ...(previousRef ? { previous: previousRef } : {}),
        stage: input.outcome === 'rolled-back' ? 'verify' : issued ? 'distribute' : 'issue',
        error: reason,
        failedHosts,
        convergencePercent: convergence,
        rolledBack: input.outcome === 'rolled-back',
      },
      now,
    );
  });
  return { outcome: input.outcome };
}

/** Endpoints that prove a target: those in the target's destination environment. */
export function endpointsFor(spec: WorkflowSpec, target: TargetRef): VerifyEndpoint[] {
  const environment = spec.destinationEnvironments.get(target.destination);
  return spec.verify
    .filter(
      (e) =>
        e.target === target.target ||
        (e.target === undefined && environment !== undefined && e.environment === environment),
    )
    .map((e) => ({ ...e, target: target.target }));
}

function targetRecordId(ref: StepReference, target: TargetRef): string {
  return `${ref.name}#${ref.version}#${target.destination}#${target.target}`;
}

function failureReason(error: FinishInput['error']): string {
  if (!error || (!error.Error && !error.Cause)) return 'unknown failure';
  let cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (typeof parsed.errorMessage === 'string') cause = parsed.errorMessage;
  } catch {
    // Cause is plain text (a Fail state's cause).
  }
  const line = `${error.Error ?? 'Error'}${cause ? `: ${cause}` : ''}`.split('\n')[0] ?? 'failure';
  return line.slice(0, 900);
}

function failedHostsFrom(spec: WorkflowSpec, input: FinishInput, reason: string) {
  const fromRollback = (input.rollback?.failed ?? []).map((f) => ({
    ...hostRef(spec, f.target),
    reason: f.error.slice(0, 900),
  }));
  if (fromRollback.length > 0) return fromRollback;
  const match = /^[^:]*: ?([^/\s]+)\/(\S+?):/.exec(reason);
  if (match?.[1] && match[2])
    return [{ ...hostRef(spec, { destination: match[1], target: match[2] }), reason: reason.slice(0, 900) }];
  return [];
}

function hostRef(spec: WorkflowSpec, t: TargetRef) {
  const environment = spec.destinationEnvironments.get(t.destination);
  return {
    target: t.target.slice(0, 500),
    destination: t.destination,
    ...(environment ? { environment } : {}),
  };
}

function rotation(spec: WorkflowSpec, ref: StepReference) {
  return {
    id: `${spec.name}:${ref.version}`,
    name: spec.name,
    version: ref.version,
    ...(ref.trigger ? { trigger: ref.trigger } : {}),
  };
}

function common(
  spec: WorkflowSpec,
  ref: StepReference,
  severity: 'info' | 'error',
  now: Date,
  summary: string,
) {
  return {
    dedupeKey: `rotation:${spec.name}:${ref.version}:${ref.execution}`.slice(0, 512),
    severity,
    occurredAt: now.toISOString(),
    environments: [...spec.environments],
    summary: summary.slice(0, 500),
    ...(spec.owner ? { owner: spec.owner } : {}),
    ...(spec.runbookUrl ? { runbookUrl: spec.runbookUrl } : {}),
  };
}

function issuedRef(name: string, issued: Partial<IssuedVersion>) {
  return {
    name,
    fingerprintSha256: issued.fingerprint!,
    subject: issued.subject ?? name,
    ...(issued.issuer ? { issuer: issued.issuer } : {}),
    ...(issued.notAfter ? { notAfter: issued.notAfter } : {}),
  };
}

function certificateRef(
  name: string,
  facts: { subject: string; issuer?: string; dnsNames?: readonly string[] } | undefined,
  version: { fingerprintSha256: string; notAfter: string },
) {
  return {
    name,
    fingerprintSha256: version.fingerprintSha256,
    subject: facts?.subject ?? name,
    ...(facts?.issuer ? { issuer: facts.issuer } : {}),
    notAfter: version.notAfter,
  };
}

/** Events never decide a rotation: a publishing failure is reported by the publisher and ignored here. */
async function publish(deps: WorkflowDeps, build: () => OutgoingEvent): Promise<void> {
  try {
    await deps.events.publish([build()]);
  } catch {
    // An invalid or unpublishable event must not fail the rotation step.
  }
}
