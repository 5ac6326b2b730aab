/**
 * The rotation, as the steps both drivers run: the CLI's in-process driver (`rotateCertificate`) calls
 * them in a loop, the Step Functions workflow runs each as a task. Each step takes and returns
 * references only (names, version ids, targets, public facts) and is idempotent, so a retried task or
 * a resumed run never issues or delivers twice.
 *
 * Primary course: start (lock, mark pending, Rotation Started) → issue (or resume the bundle already
 * issued for this version; offline checks) → plan (batches, canary first) → next (decide from the
 * target records) → per target of the batch: deliver, then verify rounds until it serves the new
 * version or its deadline passes → next … → promote → finish (record, unlock, outcome event). When
 * `next` says roll back: every touched target is restored and verified → finish. The old certificate
 * is never removed before the new one is verified everywhere.
 */
import { shortFingerprint } from '../../domain/certificate';
import { RotationRefusedError, describeError } from '../../domain/errors';
import type { BundleRef, CertificateBundle, ProbeResult, TargetOutcome } from '../../domain/ports';
import { isInspectable, isPromotable, isStaging } from '../../domain/ports';
import {
  type RolloutDecision,
  type TargetRecord,
  type TargetRef,
  decideNext,
  planBatches,
} from '../../domain/rotation/rollout';
import { checkNewVersion, rotationIdOf } from '../../domain/rotation/version';
import {
  COLLECTIONS,
  nextVersionId,
  readCertificateState,
  updateCertificateState,
} from '../certificate-state';
import type { VerifyEndpoint } from '../managed-certificate';
import { publishStarted } from './events';
import { guardRenewal } from './renewal-guard';
import { acquireRotationLock, renewRotationLock } from './lock';
import { forgetFailedTargets, readPlan, readTargetRecords, writePlan, writeTargetRecord } from './records';
import {
  type RotationDeps,
  type RotationProgress,
  type RotationRef,
  type RotationSpec,
  endpointsFor,
  verifyTimeoutOf,
} from './spec';

export type StartResult =
  | { readonly started: true; readonly resumed: boolean }
  | { readonly started: false; readonly reason: string; readonly kind: 'locked' | 'pending' | 'superseded' };

/**
 * Takes the lock and marks the version pending. A start of the version already pending resumes it (a
 * retried task, or a run after a crash); another version pending is refused with the way out.
 */
export async function startStep(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
): Promise<StartResult> {
  const now = deps.clock();
  const expectedVersion = nextVersionId(
    spec.name,
    (await readCertificateState(deps.state, spec.name, now))?.value,
  );
  if (ref.version !== expectedVersion) {
    return {
      started: false,
      kind: 'superseded',
      reason: `version ${ref.version} is superseded: the next version of ${spec.name} is ${expectedVersion}`,
    };
  }
  const lock = await acquireRotationLock(deps.state, spec.name, ref, now, deps.isHolderGone);
  if (!lock.taken) return { started: false, kind: 'locked', reason: lock.reason };
  // The planner says why in the lock it takes for the workflow it starts: the pending record and
  // Rotation Started carry it, as the CLI's reason does.
  if (ref.reason === undefined && lock.reason !== undefined) ref = { ...ref, reason: lock.reason };
  const state = (await readCertificateState(deps.state, spec.name, now))?.value;
  if (state?.pending && state.pending.version !== ref.version) {
    return {
      started: false,
      kind: 'pending',
      reason:
        `${spec.name} has a pending version ${state.pending.version} from an unfinished rotation started ${state.pending.startedAt}; ` +
        `run \`certrotor repair ${spec.name}\` to finish or undo it`,
    };
  }
  const resumed = state?.pending?.version === ref.version;
  // A resumed rotation (after a crash, or a rollout held within its tolerance) retries what failed.
  if (resumed) await forgetFailedTargets(deps.state, spec.name, ref.version, now);
  else {
    await updateCertificateState(deps.state, spec.name, now, (current) => ({
      ...current,
      pending: {
        version: ref.version,
        rotationId: rotationIdOf(spec.name, ref.version),
        startedAt: now.toISOString(),
        reason: ref.reason ?? ref.trigger ?? 'schedule',
      },
    }));
  }
  await progress(deps, { phase: 'started', name: spec.name, version: ref.version });
  await publishStarted(deps, spec, ref, state?.current, now);
  return { started: true, resumed };
}

export interface IssuedVersion {
  readonly bundle: BundleRef;
  readonly fingerprint: string;
  readonly notAfter: string;
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
}

/** Issues the version (or finds it already issued), checks it offline and records it as pending. */
export async function issueStep(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
): Promise<IssuedVersion> {
  await renewRotationLock(deps.state, spec.name, ref, deps.clock());
  const { bundle, ref: stored } = await issueBundle(deps, spec, ref.version);
  const state = (await readCertificateState(deps.state, spec.name, deps.clock()))?.value;
  const problem = checkNewVersion(bundle.facts, state?.current, deps.clock());
  if (problem)
    throw new RotationRefusedError(`${spec.name}: new certificate rejected before distribution: ${problem}`);
  const { facts } = bundle;
  await updateCertificateState(deps.state, spec.name, deps.clock(), (current) =>
    current.pending?.version === ref.version
      ? {
          ...current,
          pending: {
            ...current.pending,
            bundle: stored,
            fingerprintSha256: facts.fingerprintSha256,
            facts,
          },
        }
      : current,
  );
  // The renewal guard: a new version that breaks how the certificate is used is held here, before
  // any target is touched; the pending record keeps the issued version, so a retry never reissues.
  const guard = state?.current ? await guardRenewal(deps, spec, state.current, bundle) : undefined;
  if (guard?.hold)
    throw new RotationRefusedError(`${spec.name}: renewal held before distribution: ${guard.hold}`);
  await progress(deps, {
    phase: 'issued',
    name: spec.name,
    version: ref.version,
    detail: facts.fingerprintSha256,
  });
  return {
    bundle: stored,
    fingerprint: facts.fingerprintSha256,
    notAfter: facts.notAfter,
    subject: facts.subject,
    issuer: facts.issuer,
    serialNumber: facts.serialNumber,
  };
}

/** Issues the new version, or returns the one already issued for it (a retried step never reissues). */
export async function issueBundle(
  deps: Pick<RotationDeps, 'issuers' | 'bundles' | 'clock'>,
  spec: RotationSpec,
  version: string,
): Promise<{ bundle: CertificateBundle; ref: BundleRef }> {
  const found = await deps.bundles.find(spec.name, version);
  if (found) return { bundle: await deps.bundles.get(found), ref: found };
  const issuer = deps.issuers.get(spec.issuer);
  if (!issuer) throw new RotationRefusedError(`${spec.name}: issuer ${spec.issuer} is not configured`);
  const bundle = await issuer.issue(
    {
      name: spec.name,
      version,
      commonName: spec.commonName,
      dnsNames: spec.dnsNames,
      ipAddresses: spec.ipAddresses ?? [],
      keySpec: spec.keySpec,
      usage: spec.usage,
      validityDays: spec.validityDays,
      idempotencyKey: `${spec.name}-${version}`,
    },
    deps.clock(),
  );
  const ref = await deps.bundles.put(bundle);
  return { bundle, ref };
}

export async function listTargets(
  deps: Pick<RotationDeps, 'destinations'>,
  spec: Pick<RotationSpec, 'name' | 'destinations'>,
): Promise<TargetRef[]> {
  const targets: TargetRef[] = [];
  for (const name of spec.destinations) {
    const destination = deps.destinations.get(name);
    if (!destination) throw new RotationRefusedError(`${spec.name}: destination ${name} is not configured`);
    for (const target of await destination.targets()) targets.push({ destination: name, target });
  }
  return targets;
}

/**
 * Lists every target and splits them into batches (canary first), once per version: a resumed rotation
 * keeps the plan it started with, so its records still match.
 */
export async function planStep(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
): Promise<{ targets: number; batches: number }> {
  const now = deps.clock();
  await renewRotationLock(deps.state, spec.name, ref, now);
  const existing = await readPlan(deps.state, spec.name, ref.version, now);
  let plan = existing;
  if (!plan) {
    let targets: TargetRef[];
    try {
      targets = await listTargets(deps, spec);
    } catch (error) {
      // Without every target known, a rollout could leave hosts behind: nothing is issued or touched.
      throw new RotationRefusedError(`cannot list the targets of ${spec.name}: ${describeError(error)}`, {
        cause: error,
      });
    }
    plan = { batches: planBatches(targets, spec.rollout), createdAt: now.toISOString() };
  }
  if (!existing) await writePlan(deps.state, spec.name, ref.version, plan, now);
  return { targets: plan.batches.flat().length, batches: plan.batches.length };
}

/** Decides what comes next from the plan and the target records (`decideNext` in the domain). */
export async function nextStep(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
): Promise<RolloutDecision> {
  const now = deps.clock();
  await renewRotationLock(deps.state, spec.name, ref, now);
  const plan = await readPlan(deps.state, spec.name, ref.version, now);
  if (!plan) throw new RotationRefusedError(`${spec.name}: no rollout plan for ${ref.version}`);
  const records = await readTargetRecords(deps.state, spec.name, ref.version, now);
  return decideNext(plan.batches, records, spec.rollout);
}

export type DeliveryResult =
  | { readonly state: 'delivered'; readonly deadline: string }
  | { readonly state: 'failed'; readonly error: string };

/**
 * Delivers the version to one target. A failed delivery is this target's failure, recorded for the
 * decision after the batch; it never stops the other targets of the batch.
 */
export async function deliverStep(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
  bundleRef: BundleRef,
  target: TargetRef,
): Promise<DeliveryResult> {
  const now = deps.clock();
  await renewRotationLock(deps.state, spec.name, ref, now);
  const destination = deps.destinations.get(target.destination);
  if (!destination)
    throw new RotationRefusedError(`${spec.name}: destination ${target.destination} is not configured`);
  // Recorded before delivering: a delivery that dies half way still gets rolled back.
  await writeTargetRecord(deps.state, spec.name, ref.version, { ...target, state: 'delivering' }, now);
  const bundle = await deps.bundles.get(bundleRef);
  const outcome = await guard(target, () => destination.deliver(target.target, bundle));
  if (!outcome.ok) {
    const error = `delivery failed: ${outcome.error ?? 'unknown error'}`;
    await writeTargetRecord(
      deps.state,
      spec.name,
      ref.version,
      { ...target, state: 'failed', failedAt: 'deliver', error },
      deps.clock(),
    );
    await progress(deps, {
      phase: 'verify-failed',
      name: spec.name,
      version: ref.version,
      target: target.target,
      detail: error,
    });
    return { state: 'failed', error: `${target.destination}/${target.target}: ${error}` };
  }
  await writeTargetRecord(
    deps.state,
    spec.name,
    ref.version,
    { ...target, state: 'delivered' },
    deps.clock(),
  );
  await progress(deps, { phase: 'delivered', name: spec.name, version: ref.version, target: target.target });
  return { state: 'delivered', deadline: new Date(now.getTime() + verifyTimeoutOf(spec)).toISOString() };
}

export interface VerifyRound {
  readonly state: 'verified' | 'retry' | 'failed';
  readonly error?: string;
}

/**
 * One verification round: every endpoint that proves the target is probed with a fresh handshake; a
 * target without such endpoints is asked what it holds (a staging destination: what it staged). Before
 * the deadline a miss is `retry`; after it, the target's failure.
 */
export async function verifyStep(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
  target: TargetRef,
  fingerprint: string,
  deadline: string,
): Promise<VerifyRound> {
  await renewRotationLock(deps.state, spec.name, ref, deps.clock());
  const destination = deps.destinations.get(target.destination);
  if (!destination)
    throw new RotationRefusedError(`${spec.name}: destination ${target.destination} is not configured`);
  const check = await checkTarget(deps, spec, target, fingerprint, 'new');
  const record = (state: TargetRecord['state'], extra: Partial<TargetRecord> = {}) =>
    writeTargetRecord(deps.state, spec.name, ref.version, { ...target, state, ...extra }, deps.clock());
  if (check.ok) {
    await record('verified', { fingerprintSha256: fingerprint });
    await progress(deps, { phase: 'verified', name: spec.name, version: ref.version, target: target.target });
    return { state: 'verified' };
  }
  if (deps.clock().getTime() < Date.parse(deadline)) return { state: 'retry', error: check.error };
  const error = `not verified by ${deadline}: ${check.error}`;
  await record('failed', {
    failedAt: 'verify',
    error,
    ...(check.served ? { fingerprintSha256: check.served } : {}),
  });
  await progress(deps, {
    phase: 'verify-failed',
    name: spec.name,
    version: ref.version,
    target: target.target,
    detail: check.error,
  });
  return { state: 'failed', error: `${target.destination}/${target.target} ${error}` };
}

export interface TargetCheck {
  readonly ok: boolean;
  readonly error: string;
  readonly served?: string;
}

/**
 * Does the target serve (or hold) `fingerprint`? Endpoints are probed with fresh handshakes and every
 * address must serve it; a destination with no endpoint is asked what it holds — for the new version
 * of a staging destination, what it staged; for a rollback, what is current. A promotable destination
 * that can say neither is verified by its successful staging.
 */
export async function checkTarget(
  deps: Pick<RotationDeps, 'destinations' | 'prober'>,
  spec: RotationSpec,
  target: TargetRef,
  fingerprint: string,
  which: 'new' | 'previous',
): Promise<TargetCheck> {
  const endpoints = endpointsFor(spec, target);
  if (endpoints.length > 0) {
    for (const endpoint of endpoints) {
      const results = await deps.prober.probe({
        host: endpoint.host,
        port: endpoint.port,
        ...(endpoint.servername ? { servername: endpoint.servername } : {}),
        ...(endpoint.caPem ? { caPem: endpoint.caPem } : {}),
        timeoutMs: spec.verifyPolicy.timeoutMs,
      });
      const seen = summarise(results, fingerprint);
      if (seen.served !== fingerprint)
        return {
          ok: false,
          error: `${endpointName(endpoint)} ${seen.description}`,
          ...(seen.served ? { served: seen.served } : {}),
        };
    }
    return { ok: true, error: '', served: fingerprint };
  }
  const destination = deps.destinations.get(target.destination)!;
  const holds =
    which === 'new' && isStaging(destination)
      ? (t: string) => destination.stagedFingerprint(t)
      : isInspectable(destination)
        ? (t: string) => destination.currentFingerprint(t)
        : undefined;
  if (!holds) {
    if (which === 'new' && isPromotable(destination)) return { ok: true, error: '' };
    return {
      ok: false,
      error: 'cannot be verified: no endpoint to probe and the destination cannot report what it holds',
    };
  }
  try {
    const held = await holds(target.target);
    if (held === fingerprint) return { ok: true, error: '', served: held };
    return {
      ok: false,
      error: `holds ${held ? shortFingerprint(held) : 'nothing'}, expected ${shortFingerprint(fingerprint)}`,
      ...(held ? { served: held } : {}),
    };
  } catch (error) {
    return { ok: false, error: `could not read what it holds: ${describeError(error)}` };
  }
}

/** Every address behind the endpoint must serve the fingerprint; one that doesn't decides the outcome. */
function summarise(
  results: readonly ProbeResult[],
  fingerprint: string,
): { served?: string; description: string } {
  if (results.length === 0) return { description: 'resolved to no address' };
  for (const r of results) {
    if (!r.ok) return { description: `(${r.address}) failed: ${r.error ?? 'no certificate'}` };
    const leaf = r.chain[0]?.facts.fingerprintSha256;
    if (leaf !== fingerprint)
      return { served: leaf, description: `(${r.address}) still serves ${leaf ?? 'nothing'}` };
  }
  return { served: fingerprint, description: 'serves the new certificate' };
}

/**
 * Promotion, only after every target verified: promotable destinations switch (AWSCURRENT, ACM
 * re-import), then the version becomes current and the old one the rollback target. A destination
 * that refuses is recorded and the rotation is rolled back (no state says "current" before all did).
 */
export async function promoteStep(
  deps: RotationDeps,
  spec: RotationSpec,
  ref: RotationRef,
): Promise<{ promoted: true } | { promoted: false; error: string }> {
  const now = deps.clock();
  await renewRotationLock(deps.state, spec.name, ref, now);
  const state = (await readCertificateState(deps.state, spec.name, now))?.value;
  const pending = state?.pending;
  if (!pending?.bundle || pending.version !== ref.version)
    throw new RotationRefusedError(`${spec.name}: ${ref.version} is not the pending version`);
  const plan = await readPlan(deps.state, spec.name, ref.version, now);
  const targets = plan?.batches.flat() ?? [];
  const failed: string[] = [];
  for (const t of targets) {
    const destination = deps.destinations.get(t.destination);
    if (!destination || !isPromotable(destination)) continue;
    const outcome = await guard(t, () => destination.promote(t.target, pending.bundle!));
    if (!outcome.ok) {
      const error = `promotion failed: ${outcome.error ?? 'unknown error'}`;
      failed.push(`${t.target} (${error})`);
      await writeTargetRecord(
        deps.state,
        spec.name,
        ref.version,
        { ...t, state: 'failed', failedAt: 'promote', error },
        deps.clock(),
      );
    }
  }
  if (failed.length > 0) return { promoted: false, error: `promotion failed on ${failed.join(', ')}` };
  const bundle = await deps.bundles.get(pending.bundle);
  const at = deps.clock();
  await updateCertificateState(deps.state, spec.name, at, (current) => {
    const { pending: _promoted, ...rest } = current;
    return {
      ...rest,
      name: spec.name,
      current: {
        version: ref.version,
        fingerprintSha256: bundle.facts.fingerprintSha256,
        notAfter: bundle.facts.notAfter,
        notBefore: bundle.facts.notBefore,
        bundle: pending.bundle!,
        promotedAt: at.toISOString(),
        facts: bundle.facts,
      },
      ...(current.current ? { previous: current.current } : {}),
      failedAttempts: 0,
    };
  });
  await deps.state.put(
    COLLECTIONS.rotations,
    `${spec.name}#${ref.version}`,
    { status: 'succeeded', at: at.toISOString() },
    at,
  );
  await progress(deps, {
    phase: 'promoted',
    name: spec.name,
    version: ref.version,
    detail: bundle.facts.fingerprintSha256,
  });
  return { promoted: true };
}

export async function guard(
  ref: { target: string },
  action: () => Promise<TargetOutcome>,
): Promise<TargetOutcome> {
  try {
    return await action();
  } catch (error) {
    return { target: ref.target, ok: false, error: describeError(error) };
  }
}

export async function progress(deps: Pick<RotationDeps, 'onProgress'>, p: RotationProgress): Promise<void> {
  try {
    await deps.onProgress?.(p);
  } catch {
    // Progress reporting (lines, logs) must never change the outcome of a rotation.
  }
}

const endpointName = (e: VerifyEndpoint) => `${e.host}:${e.port}${e.servername ? ` (${e.servername})` : ''}`;
