/**
 * Rotation, make before break. Primary course: take the per-certificate lock → issue (or resume the
 * bundle already issued for this version) → check the new certificate offline → stage it as pending →
 * deliver to a canary target and verify it with fresh handshakes → deliver to the rest in batches,
 * verifying each → promote only when every target is verified (the previous version is kept as the
 * rollback target) → report. On failure beyond the rollout's tolerance every target already changed
 * is rolled back and the rollback is verified; the old certificate is never removed before the new
 * one is verified everywhere.
 *
 * Each step is exported on its own so the Step Functions workflow can run them as separate tasks.
 */
import type {
  BundleRef,
  BundleStore,
  CertificateBundle,
  Clock,
  Destination,
  Issuer,
  ProbeResult,
  StateStore,
  TargetOutcome,
  TlsProber,
} from '../domain/ports';
import { isInspectable, isPromotable, isStaging } from '../domain/ports';
import { RotationRefusedError, describeError } from '../domain/errors';
import {
  COLLECTIONS,
  type CertificateState,
  type VersionRecord,
  acquireLock,
  nextVersionId,
  readCertificateState,
  releaseLock,
  updateCertificateState,
} from './certificate-state';
import type { ManagedCertificateSpec, VerifyEndpoint } from './managed-certificate';

export interface RotationDeps {
  readonly issuers: ReadonlyMap<string, Issuer>;
  readonly destinations: ReadonlyMap<string, Destination>;
  readonly bundles: BundleStore;
  readonly state: StateStore;
  readonly prober: TlsProber;
  readonly clock: Clock;
  /** Pauses between verification attempts; injected so tests can run fast. */
  readonly sleep: (ms: number) => Promise<void>;
  /** Called at each transition; never allowed to fail the rotation. */
  readonly onProgress?: (progress: RotationProgress) => void | Promise<void>;
}

export type RotationPhase =
  | 'started'
  | 'issued'
  | 'delivered'
  | 'verified'
  | 'verify-failed'
  | 'rolled-back'
  | 'rollback-failed'
  | 'promoted'
  | 'failed';

export interface RotationProgress {
  readonly phase: RotationPhase;
  readonly name: string;
  readonly version: string;
  readonly target?: string;
  readonly detail?: string;
}

/** One target of one destination: the unit of delivery, verification and rollback. */
export interface TargetRef {
  readonly destination: string;
  readonly target: string;
}

export type TargetState = 'pending' | 'delivered' | 'verified' | 'failed' | 'rolled-back' | 'rollback-failed';

export interface TargetStatus extends TargetRef {
  readonly state: TargetState;
  readonly error?: string;
  /** Which step failed, when one did: a failed delivery may have changed nothing on the target. */
  readonly failedAt?: 'deliver' | 'verify' | 'promote';
  /** What the target was found to serve or hold after the last step. */
  readonly fingerprintSha256?: string;
}

export type RotationResultStatus = 'succeeded' | 'rolled-back' | 'failed' | 'refused' | 'dry-run';

export interface RotationResult {
  readonly name: string;
  readonly version: string;
  readonly rotationId: string;
  readonly status: RotationResultStatus;
  readonly reason?: string;
  readonly previousFingerprint?: string;
  readonly newFingerprint?: string;
  readonly newNotAfter?: string;
  readonly targets: readonly TargetStatus[];
  /** Percentage of targets verified on the new version (0-100). */
  readonly convergence: number;
}

export interface RotateOptions {
  readonly reason: string;
  readonly dryRun?: boolean;
  /** Lock owner id; the CLI and the planner pass their invocation id. */
  readonly owner: string;
  /** @default 1 hour */
  readonly lockTtlMs?: number;
}

export async function rotateCertificate(
  deps: RotationDeps,
  spec: ManagedCertificateSpec,
  options: RotateOptions,
): Promise<RotationResult> {
  const now = deps.clock();
  const existing = (await readCertificateState(deps.state, spec.name, now))?.value;
  const version = nextVersionId(spec.name, existing);
  const rotationId = `${spec.name}:${version}`;
  const base = {
    name: spec.name,
    version,
    rotationId,
    previousFingerprint: existing?.current?.fingerprintSha256,
  };

  let targets: TargetRef[];
  try {
    targets = await listTargets(deps, spec);
  } catch (error) {
    // Without every target known, a rollout could leave hosts behind: nothing is touched.
    return refused(base, [], `cannot list the targets of ${spec.name}: ${describeError(error)}`);
  }
  if (options.dryRun) {
    return {
      ...base,
      status: 'dry-run',
      reason: planSummary(spec, targets),
      targets: targets.map(pending),
      convergence: 0,
    };
  }

  if (
    !(await acquireLock(deps.state, spec.name, lockFor(options, now), now, options.lockTtlMs ?? 3_600_000))
  ) {
    return refused(base, targets, `rotation of ${spec.name} is already in progress (lock held)`);
  }
  try {
    const stale = existing?.pending;
    if (stale && stale.version !== version) {
      return refused(
        base,
        targets,
        `${spec.name} has a pending version ${stale.version} from an unfinished rotation started ${stale.startedAt}; ` +
          `run \`certrotor repair ${spec.name}\` after checking its hosts`,
      );
    }
    return await runRotation(deps, spec, { ...base, targets }, options);
  } finally {
    await releaseLock(deps.state, spec.name, options.owner, deps.clock());
  }
}

async function runRotation(
  deps: RotationDeps,
  spec: ManagedCertificateSpec,
  run: {
    name: string;
    version: string;
    rotationId: string;
    previousFingerprint?: string;
    targets: TargetRef[];
  },
  options: RotateOptions,
): Promise<RotationResult> {
  const { version, rotationId } = run;
  await markPending(deps, spec.name, {
    version,
    rotationId,
    startedAt: deps.clock().toISOString(),
    reason: options.reason,
  });
  await progress(deps, { phase: 'started', name: spec.name, version });

  let bundle: CertificateBundle;
  let ref: BundleRef;
  try {
    ({ bundle, ref } = await issueStep(deps, spec, version));
    const previous = (await readCertificateState(deps.state, spec.name, deps.clock()))?.value.current;
    const problem = checkNewVersion(bundle, previous, deps.clock());
    if (problem)
      throw new RotationRefusedError(
        `${spec.name}: new certificate rejected before distribution: ${problem}`,
      );
  } catch (error) {
    await recordFailure(deps, spec.name, version, describeError(error));
    await progress(deps, { phase: 'failed', name: spec.name, version, detail: describeError(error) });
    return result(run, 'failed', run.targets.map(pending), describeError(error));
  }
  await progress(deps, { phase: 'issued', name: spec.name, version, detail: bundle.facts.fingerprintSha256 });
  const fingerprint = bundle.facts.fingerprintSha256;

  const statuses = new Map<string, TargetStatus>(run.targets.map((t) => [key(t), pending(t)]));
  const failures = () => [...statuses.values()].filter((s) => s.state === 'failed').length;
  const canary = run.targets.slice(0, Math.max(0, spec.rollout.canary));
  const rest = run.targets.slice(canary.length);
  const batches = [canary, ...chunk(rest, Math.max(1, spec.rollout.batchSize))].filter((b) => b.length > 0);

  let abort = false;
  for (const [index, batch] of batches.entries()) {
    const outcomes = await Promise.all(
      batch.map((t) => deliverAndVerify(deps, spec, t, bundle, fingerprint)),
    );
    for (const outcome of outcomes) statuses.set(key(outcome), outcome);
    // The canary must pass on its own: a broken certificate should touch one host, not a batch.
    const canaryFailed = index === 0 && canary.length > 0 && outcomes.some((o) => o.state === 'failed');
    if (canaryFailed || failures() > spec.rollout.failureTolerance) {
      abort = true;
      break;
    }
  }

  const all = () => [...statuses.values()];
  if (abort) {
    const failed = all().filter((s) => s.state === 'failed');
    const rolledBack = await rollbackTargets(deps, spec, run.previousFingerprint, all());
    for (const s of rolledBack) statuses.set(key(s), s);
    const reason = `failed on ${describeTargets(failed)}; ${rolledBack.length} target(s) rolled back`;
    await recordFailure(deps, spec.name, version, reason);
    const status = all().some((s) => s.state === 'rollback-failed') ? 'failed' : 'rolled-back';
    await progress(deps, {
      phase: status === 'failed' ? 'rollback-failed' : 'rolled-back',
      name: spec.name,
      version,
      detail: reason,
    });
    return result(run, status, all(), reason, bundle);
  }

  const unverified = all().filter((s) => s.state !== 'verified');
  if (unverified.length > 0) {
    // Within tolerance: the verified targets keep the new (valid) certificate, the rest keep the old
    // (valid) one, and nothing is promoted. A later run retries the stragglers.
    const reason = `not promoted: ${describeTargets(unverified)} not verified (within failure tolerance ${spec.rollout.failureTolerance})`;
    await recordFailure(deps, spec.name, version, reason, { keepPending: true, bundle: ref, fingerprint });
    await progress(deps, { phase: 'failed', name: spec.name, version, detail: reason });
    return result(run, 'failed', all(), reason, bundle);
  }

  const promotion = await promoteStep(deps, spec, run.targets, ref, bundle);
  if (promotion.length > 0) {
    const reason = `promotion failed on ${describeTargets(promotion)}`;
    for (const s of promotion) statuses.set(key(s), s);
    await recordFailure(deps, spec.name, version, reason, { keepPending: true, bundle: ref, fingerprint });
    return result(run, 'failed', all(), reason, bundle);
  }
  await progress(deps, { phase: 'promoted', name: spec.name, version, detail: fingerprint });
  return result(run, 'succeeded', all(), undefined, bundle);
}

/** Issues the new version, or returns the one already issued for it (a retried step never reissues). */
export async function issueStep(
  deps: Pick<RotationDeps, 'issuers' | 'bundles' | 'clock'>,
  spec: ManagedCertificateSpec,
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

/** Offline checks before anything is delivered: a new version must be strictly better than the current. */
export function checkNewVersion(
  bundle: CertificateBundle,
  current: VersionRecord | undefined,
  now: Date,
): string | undefined {
  const { facts } = bundle;
  if (Date.parse(facts.notAfter) <= now.getTime()) return `it expired at ${facts.notAfter}`;
  if (Date.parse(facts.notBefore) > now.getTime() + 5 * 60_000)
    return `it is not valid before ${facts.notBefore}`;
  if (current && Date.parse(facts.notAfter) <= Date.parse(current.notAfter)) {
    return `its notAfter ${facts.notAfter} is not later than the current version's ${current.notAfter}`;
  }
  if (current && facts.fingerprintSha256 === current.fingerprintSha256)
    return 'it is the current certificate';
  return undefined;
}

export async function listTargets(
  deps: Pick<RotationDeps, 'destinations'>,
  spec: ManagedCertificateSpec,
): Promise<TargetRef[]> {
  const targets: TargetRef[] = [];
  for (const name of spec.destinations) {
    const destination = deps.destinations.get(name);
    if (!destination) throw new RotationRefusedError(`${spec.name}: destination ${name} is not configured`);
    for (const target of await destination.targets()) targets.push({ destination: name, target });
  }
  return targets;
}

/** Delivers to one target, then verifies it; a throw from an adapter is this target's failure only. */
export async function deliverAndVerify(
  deps: RotationDeps,
  spec: ManagedCertificateSpec,
  ref: TargetRef,
  bundle: CertificateBundle,
  fingerprint: string,
): Promise<TargetStatus> {
  const destination = deps.destinations.get(ref.destination)!;
  const delivered = await guard(ref, () => destination.deliver(ref.target, bundle));
  if (!delivered.ok) {
    await progress(deps, {
      phase: 'verify-failed',
      name: spec.name,
      version: bundle.version,
      target: ref.target,
      detail: delivered.error,
    });
    return {
      ...ref,
      state: 'failed',
      failedAt: 'deliver',
      error: `delivery failed: ${delivered.error ?? 'unknown error'}`,
    };
  }
  await progress(deps, { phase: 'delivered', name: spec.name, version: bundle.version, target: ref.target });
  const checked = await verifyTarget(deps, spec, ref, fingerprint);
  const verified: TargetStatus = checked.state === 'failed' ? { ...checked, failedAt: 'verify' } : checked;
  await progress(deps, {
    phase: verified.state === 'verified' ? 'verified' : 'verify-failed',
    name: spec.name,
    version: bundle.version,
    target: ref.target,
    ...(verified.error ? { detail: verified.error } : {}),
  });
  return verified;
}

/**
 * Verification means the target really serves (or holds) the expected certificate: every endpoint
 * mapped to the target is probed with fresh handshakes until it serves `fingerprint` or attempts run
 * out; a destination with no endpoints is asked what it holds (a staging destination, before
 * promotion: what it has staged).
 */
export async function verifyTarget(
  deps: Pick<RotationDeps, 'destinations' | 'prober' | 'sleep'>,
  spec: ManagedCertificateSpec,
  ref: TargetRef,
  fingerprint: string,
  verifiedState: TargetState = 'verified',
): Promise<TargetStatus> {
  const endpoints = spec.verify.filter((e) => e.target === ref.target);
  if (endpoints.length > 0) {
    for (const endpoint of endpoints) {
      const seen = await probeUntil(deps, spec, endpoint, fingerprint);
      if (seen.served !== fingerprint) {
        return {
          ...ref,
          state: 'failed',
          error: `${endpointName(endpoint)} ${seen.description}`,
          ...fp(seen.served),
        };
      }
    }
    return { ...ref, state: verifiedState, fingerprintSha256: fingerprint };
  }
  const destination = deps.destinations.get(ref.destination)!;
  // Before promotion a staging destination holds the new version as staged, not yet as current.
  const holds =
    verifiedState === 'verified' && isStaging(destination)
      ? (target: string) => destination.stagedFingerprint(target)
      : isInspectable(destination)
        ? (target: string) => destination.currentFingerprint(target)
        : undefined;
  if (holds) {
    const held = await guard(ref, async () => ({
      target: ref.target,
      ok: true,
      fingerprintSha256: await holds(ref.target),
    }));
    if (!held.ok) return { ...ref, state: 'failed', error: `could not read what it holds: ${held.error}` };
    if (held.fingerprintSha256 !== fingerprint) {
      return {
        ...ref,
        state: 'failed',
        error: `holds ${held.fingerprintSha256 ?? 'nothing'}, expected ${fingerprint}`,
        ...fp(held.fingerprintSha256),
      };
    }
    return { ...ref, state: verifiedState, fingerprintSha256: fingerprint };
  }
  return {
    ...ref,
    state: 'failed',
    error: 'cannot be verified: no endpoint to probe and the destination cannot report what it holds',
  };
}

async function probeUntil(
  deps: Pick<RotationDeps, 'prober' | 'sleep'>,
  spec: ManagedCertificateSpec,
  endpoint: VerifyEndpoint,
  fingerprint: string,
): Promise<{ served?: string; description: string }> {
  let last: { served?: string; description: string } = { description: 'was not probed' };
  for (let attempt = 1; attempt <= Math.max(1, spec.verifyPolicy.attempts); attempt++) {
    const results = await deps.prober.probe({
      host: endpoint.host,
      port: endpoint.port,
      ...(endpoint.servername ? { servername: endpoint.servername } : {}),
      ...(endpoint.caPem ? { caPem: endpoint.caPem } : {}),
      timeoutMs: spec.verifyPolicy.timeoutMs,
    });
    last = summarise(results, fingerprint);
    if (last.served === fingerprint) return last;
    if (attempt < spec.verifyPolicy.attempts) await deps.sleep(spec.verifyPolicy.intervalMs);
  }
  return last;
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

/** Rolls back every target that may have changed and verifies each serves a valid certificate again. */
export async function rollbackTargets(
  deps: RotationDeps,
  spec: ManagedCertificateSpec,
  previousFingerprint: string | undefined,
  statuses: readonly TargetStatus[],
): Promise<TargetStatus[]> {
  const touched = statuses.filter((s) => s.state !== 'pending');
  return Promise.all(
    touched.map(async (s): Promise<TargetStatus> => {
      const destination = deps.destinations.get(s.destination)!;
      const outcome = await guard(s, () => destination.rollback(s.target));
      if (s.failedAt === 'deliver') {
        // Delivery never completed (host down, write refused): the host most likely still holds the
        // old version, so a rollback that cannot reach it is noted, not counted as a broken host.
        return outcome.ok
          ? { ...s, state: 'rolled-back' }
          : { ...s, state: 'failed', error: joinErrors(s.error, `rollback not confirmed: ${outcome.error}`) };
      }
      if (!outcome.ok)
        return {
          ...s,
          state: 'rollback-failed',
          error: joinErrors(s.error, `rollback failed: ${outcome.error}`),
        };
      if (!previousFingerprint) return { ...s, state: 'rolled-back' };
      const check = await verifyTarget(deps, spec, s, previousFingerprint, 'rolled-back');
      if (check.state !== 'rolled-back') {
        return {
          ...s,
          state: 'rollback-failed',
          error: joinErrors(s.error, `after rollback ${check.error}`),
        };
      }
      // A target that failed keeps its error: the report must still name it after the rollback.
      return { ...s, state: 'rolled-back', fingerprintSha256: previousFingerprint };
    }),
  );
}

/** Promotion happens only after every target verified; the current version becomes the previous. */
export async function promoteStep(
  deps: RotationDeps,
  spec: ManagedCertificateSpec,
  targets: readonly TargetRef[],
  ref: BundleRef,
  bundle: CertificateBundle,
): Promise<TargetStatus[]> {
  const failed: TargetStatus[] = [];
  for (const t of targets) {
    const destination = deps.destinations.get(t.destination)!;
    if (!isPromotable(destination)) continue;
    const outcome = await guard(t, () => destination.promote(t.target, ref));
    if (!outcome.ok)
      failed.push({
        ...t,
        state: 'failed',
        failedAt: 'promote',
        error: `promotion failed: ${outcome.error}`,
      });
  }
  if (failed.length > 0) return failed;
  const now = deps.clock();
  await updateCertificateState(deps.state, spec.name, now, (state) => ({
    name: spec.name,
    current: {
      version: bundle.version,
      fingerprintSha256: bundle.facts.fingerprintSha256,
      notAfter: bundle.facts.notAfter,
      notBefore: bundle.facts.notBefore,
      bundle: ref,
      promotedAt: now.toISOString(),
      facts: bundle.facts,
    },
    ...(state.current ? { previous: state.current } : {}),
    failedAttempts: 0,
  }));
  await deps.state.put(
    COLLECTIONS.rotations,
    `${spec.name}#${bundle.version}`,
    { status: 'succeeded', at: now.toISOString() },
    now,
  );
  return [];
}

async function markPending(
  deps: RotationDeps,
  name: string,
  pendingRotation: { version: string; rotationId: string; startedAt: string; reason: string },
): Promise<void> {
  await updateCertificateState(deps.state, name, deps.clock(), (state) => ({
    ...state,
    pending: pendingRotation,
  }));
}

async function recordFailure(
  deps: RotationDeps,
  name: string,
  version: string,
  reason: string,
  keep?: { keepPending: boolean; bundle: BundleRef; fingerprint: string },
): Promise<void> {
  const now = deps.clock();
  await updateCertificateState(deps.state, name, now, (state) => {
    const { pending: stillPending, ...rest } = state;
    return {
      ...rest,
      // A rollout left partly on the new version keeps its pending record so that the next run
      // resumes it instead of minting yet another certificate.
      ...(keep?.keepPending && stillPending
        ? { pending: { ...stillPending, bundle: keep.bundle, fingerprintSha256: keep.fingerprint } }
        : {}),
      failedAttempts: keep?.keepPending ? state.failedAttempts : state.failedAttempts + 1,
      lastFailure: { at: now.toISOString(), reason, version },
    };
  });
  await deps.state.put(
    COLLECTIONS.rotations,
    `${name}#${version}`,
    { status: 'failed', reason, at: now.toISOString() },
    now,
  );
}

/** Clears a stale pending rotation after an operator checked the hosts (`certrotor repair`). */
export async function clearPending(state: StateStore, name: string, now: Date): Promise<CertificateState> {
  return updateCertificateState(state, name, now, (current) => {
    const { pending: _cleared, ...rest } = current;
    return rest;
  });
}

async function guard(ref: { target: string }, action: () => Promise<TargetOutcome>): Promise<TargetOutcome> {
  try {
    return await action();
  } catch (error) {
    return { target: ref.target, ok: false, error: describeError(error) };
  }
}

async function progress(deps: Pick<RotationDeps, 'onProgress'>, p: RotationProgress): Promise<void> {
  try {
    await deps.onProgress?.(p);
  } catch {
    // Progress reporting (events, logs) must never change the outcome of a rotation.
  }
}

function result(
  run: { name: string; version: string; rotationId: string; previousFingerprint?: string },
  status: RotationResultStatus,
  targets: readonly TargetStatus[],
  reason?: string,
  bundle?: CertificateBundle,
): RotationResult {
  const verified = targets.filter((t) => t.state === 'verified').length;
  return {
    name: run.name,
    version: run.version,
    rotationId: run.rotationId,
    status,
    ...(reason ? { reason } : {}),
    ...(run.previousFingerprint ? { previousFingerprint: run.previousFingerprint } : {}),
    ...(bundle ? { newFingerprint: bundle.facts.fingerprintSha256, newNotAfter: bundle.facts.notAfter } : {}),
    targets,
    convergence: targets.length === 0 ? 0 : Math.round((verified / targets.length) * 100),
  };
}

function refused(
  base: { name: string; version: string; rotationId: string; previousFingerprint?: string },
  targets: readonly TargetRef[],
  reason: string,
): RotationResult {
  return result(base, 'refused', targets.map(pending), reason);
}

function planSummary(spec: ManagedCertificateSpec, targets: readonly TargetRef[]): string {
  return `would issue ${spec.name} (${spec.dnsNames.join(', ')}) from ${spec.issuer} and deliver to ${targets.length} target(s): ${targets
    .map((t) => `${t.destination}/${t.target}`)
    .join(', ')}`;
}

function lockFor(options: RotateOptions, now: Date) {
  return { owner: options.owner, acquiredAt: now.toISOString(), purpose: options.reason };
}

const pending = (t: TargetRef): TargetStatus => ({
  destination: t.destination,
  target: t.target,
  state: 'pending',
});
const key = (t: TargetRef) => `${t.destination}\u0000${t.target}`;
const fp = (fingerprint: string | undefined) => (fingerprint ? { fingerprintSha256: fingerprint } : {});
const endpointName = (e: VerifyEndpoint) => `${e.host}:${e.port}${e.servername ? ` (${e.servername})` : ''}`;
const joinErrors = (a: string | undefined, b: string) => (a ? `${a}; ${b}` : b);

function describeTargets(list: readonly TargetStatus[]): string {
  return list.map((s) => `${s.target}${s.error ? ` (${s.error})` : ''}`).join(', ');
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
