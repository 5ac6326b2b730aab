/**
 * One scheduled cycle, as `certrotor run` and the scheduled Lambdas run it. Primary course: scan
 * (gather → evaluate → new findings only) → publish their events → notify → rotate every managed
 * certificate whose renewal is due → publish the rotation events → notify. Publishing and notifying
 * never fail the cycle; their problems are reported with the rest.
 */
import { type AcmRenewalSource, dueInCycle } from './acm-renewals';
import { type ClientAuthScanInput, clientAuthFindings } from './client-auth-use';
import { describeError } from '../domain/errors';
import type { Finding } from '../domain/findings';
import type { Threshold, ThresholdScaling } from '../domain/thresholds';
import type {
  CertificateSource,
  Clock,
  EventPublisher,
  OutgoingEvent,
  StateStore,
  TlsProber,
} from '../domain/ports';
import { retryNotBefore } from '../domain/rotation/backoff';
import { COLLECTIONS, type VersionRecord, readCertificateState } from './certificate-state';
import { type Evaluation, type ManagedView, evaluate, observationIdentities } from './evaluate';
import type { IdentityMode } from '../domain/findings';
import { findingToEvent, type OwnershipLookup } from './finding-events';
import type { ManagedCertificateSpec } from './managed-certificate';
import type { RotationResult } from './rotation/finish';
import { type RotateOptions, rotateCertificate } from './rotation/in-process-driver';
import type { RotationDeps, RotationSpec } from './rotation/spec';
import {
  type EndpointTarget,
  type Observation,
  type ScanFailure,
  gatherObservations,
  observationEnvironment,
  markAlerted,
  unalertedFindings,
} from './scan';
import { eventSink, handOver } from './hand-over';
import { isAgentPlace, recordObservations, sweepSiblings } from './places';

export { AGENT_PLACE_SOURCE, type StoredObservation, agentPlaces } from './places';

export { deliver, eventSink, handOver } from './hand-over';
import type { RenewalPolicy } from '../domain/renewal';
import {
  type CurrentVersion,
  type ExpectedHost,
  type HostReportFacts,
  hostDrift,
} from '../domain/host-drift';

export interface CycleDeps {
  readonly sources: readonly CertificateSource[];
  readonly prober: TlsProber;
  readonly state: StateStore;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly ownership: OwnershipLookup;
  /** Sends events to people; returns one line per problem. Never throws. */
  readonly notify?: (events: readonly OutgoingEvent[]) => Promise<string[]>;
  /**
   * ARI (RFC 9773): the CA's suggested renewal window for a certificate's current version, when its
   * issuer offers one (ACME). A failure to ask is no window: certrotor's own policy decides.
   */
  readonly renewalWindow?: (
    spec: Pick<ManagedCertificateSpec, 'name' | 'issuer'>,
    current: VersionRecord,
  ) => Promise<ManagedView['suggestedWindow']>;
  /**
   * Inventory sources this scan does not read but the sibling sweep may (a probe job's view of the
   * inventory): read again, in the same scan, when an earlier scan saw a place of theirs holding a
   * certificate that has a finding now.
   */
  readonly siblingSources?: readonly CertificateSource[];
  /** ACM exportable certificates: a cycle rotates them when ACM renewed them (acm-renewals.ts). */
  readonly acm?: AcmRenewalSource;
}

export interface ScanInput extends ClientAuthScanInput {
  readonly endpoints: readonly EndpointTarget[];
  readonly specs: readonly ManagedCertificateSpec[];
  readonly renewal: ReadonlyMap<string, RenewalPolicy>;
  readonly thresholds: readonly Threshold[];
  readonly concurrency: number;
  /**
   * Hosts whose agents must report each certificate (from configuration). Their reports are judged
   * against the current versions in the same scan: a stale file, a process never reloaded, a report a
   * probe contradicts, no report at all. Reports of other hosts are judged too.
   */
  readonly expectedHosts?: readonly ExpectedHost[];
  /** How long observations are kept (configuration `aws.observationTtl`). @default 30 days */
  readonly observationTtlMs?: number;
  /** Endpoints that could not even be made targets (an unreadable `caFile`): reported with the rest. */
  readonly targetFailures?: readonly ScanFailure[];
  /** How "the same certificate" is recognised across places (the sibling sweep). @default 'name' */
  readonly identity?: IdentityMode;
  /** Day thresholds scale with each certificate's lifetime, or apply as written. @default 'absolute' */
  readonly thresholdScaling?: ThresholdScaling;
}

export interface ScanReport {
  readonly observations: readonly Observation[];
  readonly evaluation: Evaluation;
  /** Findings not alerted before. */
  readonly newFindings: readonly Finding[];
  readonly events: readonly OutgoingEvent[];
  readonly failures: readonly ScanFailure[];
}

export async function scan(deps: CycleDeps, input: ScanInput): Promise<ScanReport> {
  const now = deps.clock();
  const { observations, failures } = await gatherObservations(deps, input.endpoints, {
    concurrency: input.concurrency,
  });
  const managed = await managedViews(deps.state, input, now, deps.renewalWindow);
  const policy = {
    thresholds: input.thresholds,
    ...(input.identity ? { identity: input.identity } : {}),
    ...(input.thresholdScaling ? { thresholdScaling: input.thresholdScaling } : {}),
  };
  let evaluated = evaluate(observations, managed, policy, now);
  // The sibling sweep: every other place known to hold a certificate with a finding is checked now:
  // endpoints probed again, inventory sources read again, and what host agents report installed.
  const swept = await sweepSiblings(deps, input, observations, managed, evaluated.findings, now);
  failures.push(...swept.failures);
  if (swept.observations.length > 0) {
    observations.push(...swept.observations);
    evaluated = evaluate(observations, managed, policy, now);
  }
  const agentDrift = await agentDriftFindings(deps.state, managed, observations, input, now);
  // Client certificates presented to upstreams that public CAs will no longer renew with clientAuth.
  const clientAuth = await clientAuthFindings(deps.state, observations, now, input);
  const evaluation: Evaluation = {
    ...evaluated,
    findings: [...evaluated.findings, ...agentDrift, ...clientAuth],
  };
  const newFindings = await unalertedFindings(deps.state, evaluation.findings, now);
  const environments = [...new Set(observations.map(observationEnvironment))];
  const events: OutgoingEvent[] = [];
  const problems: ScanFailure[] = [...(input.targetFailures ?? []), ...failures];
  /** Keys of findings not handed over (no event built, not recorded, not published): not marked. */
  const withheld = new Set<string>();
  for (const finding of newFindings) {
    try {
      const event = findingToEvent(finding, {
        now,
        ownership: deps.ownership,
        managed: new Set(input.specs.map((s) => s.name)),
        checkedEnvironments: environments,
      });
      if (event) events.push(event);
    } catch (error) {
      withheld.add(finding.dedupeKey);
      problems.push({ what: `event for ${finding.dedupeKey}`, error: describeError(error) });
    }
  }
  await recordObservations(
    deps.state,
    // Agent reports are kept by the agents themselves (COLLECTIONS.hosts), not as observations.
    observations.filter((o) => !isAgentPlace(o)),
    now,
    input.observationTtlMs ?? 30 * 86_400_000,
    observationIdentities(observations, managed, input.identity),
  );
  const handed = await handOver(deps, events);
  problems.push(...handed.failures);
  for (const event of events)
    if (!handed.events.includes(event)) withheld.add(String(event.detail.dedupeKey));
  // Marked alerted only now that the messages are in the outbox and the events published: a scan
  // that dies before this point raises them again, and the outbox sends each message once.
  await markAlerted(
    deps.state,
    newFindings.filter((f) => !withheld.has(f.dedupeKey)),
    now,
  );
  return { observations, evaluation, newFindings, events, failures: problems };
}

/** A due rotation held back by its backoff after failed attempts. */
export interface DeferredRotation {
  readonly name: string;
  readonly until: string;
  readonly reason: string;
}

export interface CycleReport {
  readonly scan: ScanReport;
  readonly rotations: readonly RotationResult[];
  readonly deferred: readonly DeferredRotation[];
  readonly failures: readonly ScanFailure[];
}

/** Scan, then rotate whatever policy says is due. */
export async function runCycle(
  deps: CycleDeps & { rotation: RotationDeps },
  input: ScanInput & Pick<RotateOptions, 'owner' | 'dryRun' | 'interrupted' | 'holder'>,
): Promise<CycleReport> {
  const report = await scan(deps, input);
  const failures: ScanFailure[] = [...report.failures];
  const rotations: RotationResult[] = [];
  const deferred: DeferredRotation[] = [];
  // Certificates ACM renews are due when ACM renewed them, as in the planner (acm-renewals.ts).
  const due = await dueInCycle(deps, report.evaluation.renewals);
  failures.push(...due.failures);
  for (const verdict of due.due) {
    const spec = input.specs.find((s) => s.name === verdict.name);
    if (!spec) continue;
    // Interrupted: no new rotation starts.
    if (input.interrupted?.()) break;
    const stored = (await readCertificateState(deps.state, spec.name, deps.clock()))?.value;
    const notBefore = retryNotBefore(stored?.failedAttempts ?? 0, stored?.lastFailure?.at, deps.clock());
    if (notBefore && stored?.pending === undefined) {
      // A rotation that keeps failing is retried with backoff, not on every run.
      deferred.push({
        name: spec.name,
        until: notBefore.toISOString(),
        reason: `${stored!.failedAttempts} failed attempt(s), last: ${stored!.lastFailure?.reason ?? 'unknown'}; next attempt after ${notBefore.toISOString()}`,
      });
      continue;
    }
    // One certificate's rotation failing in an unexpected way never stops the others.
    try {
      const outcome = await rotateWithEvents(deps, spec, {
        reason: verdict.reason,
        owner: input.owner,
        dryRun: input.dryRun ?? false,
        ...(input.interrupted ? { interrupted: input.interrupted } : {}),
        ...(input.holder ? { holder: input.holder } : {}),
      });
      rotations.push(outcome.result);
      failures.push(...outcome.failures);
    } catch (error) {
      failures.push({ what: `rotation ${spec.name}`, error: describeError(error) });
    }
  }
  return { scan: report, rotations, deferred, failures };
}

/**
 * Rotates one certificate with the in-process driver; its started and outcome events go out through
 * the cycle's publisher and notifier as the steps produce them.
 */
export async function rotateWithEvents(
  deps: CycleDeps & { rotation: RotationDeps },
  spec: RotationSpec,
  options: RotateOptions,
): Promise<{ result: RotationResult; events: OutgoingEvent[]; failures: ScanFailure[] }> {
  const { sink, events, failures } = eventSink(deps);
  const owned = deps.ownership(spec.name);
  const withOwner: RotationSpec = {
    ...spec,
    ...(!spec.owner && owned.owner ? { owner: owned.owner } : {}),
    ...(!spec.runbookUrl && owned.runbookUrl ? { runbookUrl: owned.runbookUrl } : {}),
  };
  const result = await rotateCertificate({ ...deps.rotation, events: sink }, withOwner, options);
  if (result.status !== 'succeeded' && result.status !== 'dry-run') {
    failures.push({ what: `rotation ${spec.name}`, error: result.reason ?? result.status });
  }
  return { result, events, failures };
}

async function managedViews(
  state: StateStore,
  input: ScanInput,
  now: Date,
  renewalWindow?: CycleDeps['renewalWindow'],
): Promise<ManagedView[]> {
  return Promise.all(
    input.specs.map(async (spec) => {
      const stored = await readCertificateState(state, spec.name, now);
      const current = stored?.value.current;
      const window =
        current && renewalWindow ? await renewalWindow(spec, current).catch(() => undefined) : undefined;
      return {
        ...(window ? { suggestedWindow: window } : {}),
        ...(spec.caRenews ? { caRenews: true } : {}),
        name: spec.name,
        environments: spec.environments,
        renewal: input.renewal.get(spec.name) ?? {},
        ...(stored ? { state: stored.value } : {}),
        endpoints: spec.verify.map((v) => `${v.host}:${v.port}`),
      };
    }),
  );
}

/**
 * Drift seen by host agents: every reported (or expected) host judged against the current version of
 * its certificate, and against what this scan's probe of that host saw. Each finding lists every
 * drifted host of its certificate, in every environment, for the event.
 */
async function agentDriftFindings(
  state: StateStore,
  managed: readonly ManagedView[],
  observations: readonly Observation[],
  input: ScanInput,
  now: Date,
): Promise<Finding[]> {
  const reports = (await state.list<HostReportFacts>(COLLECTIONS.hosts, now))
    .map((i) => i.value)
    .filter((r) => typeof r.certificate === 'string' && typeof r.host === 'string');
  if (reports.length === 0 && (input.expectedHosts ?? []).length === 0) return [];
  const current = new Map<string, CurrentVersion>();
  const names = new Set([...reports, ...(input.expectedHosts ?? [])].map((r) => r.certificate));
  const states = await Promise.all(
    [...names].map(
      async (name) =>
        managed.find((m) => m.name === name)?.state ?? (await readCertificateState(state, name, now))?.value,
    ),
  );
  for (const m of states.flatMap((x) => (x ? [{ name: x.name, state: x }] : []))) {
    const c = m.state.current;
    if (c)
      current.set(m.name, {
        version: c.version,
        fingerprintSha256: c.fingerprintSha256,
        notAfter: c.notAfter,
        ...(c.facts?.subject ? { subject: c.facts.subject } : {}),
      });
  }
  const probed = new Map<string, string | undefined>();
  for (const o of observations) {
    if (o.kind !== 'endpoint' || !o.endpoint.expects || !o.result.ok) continue;
    probed.set(`${o.endpoint.name}#${o.endpoint.expects}`, o.result.chain[0]?.facts.fingerprintSha256);
  }
  // Before certrotor issued a certificate's first version there is nothing for a host to drift from.
  const result = hostDrift({
    reports: reports.filter((r) => current.has(r.certificate)),
    current,
    ...(input.expectedHosts
      ? { expected: input.expectedHosts.filter((e) => current.has(e.certificate)) }
      : {}),
    probed,
    now,
  });
  return result.findings.map((finding) => {
    const name = finding.certificate?.name ?? String(finding.details.certificate ?? '');
    const drifts = result.hosts
      .filter((h) => h.certificate === name && h.reason !== undefined)
      .map((h) => ({
        environment: h.environment,
        endpoint: h.host,
        ...(h.expectedFingerprint ? { expectedFingerprint: h.expectedFingerprint } : {}),
        ...(h.servedFingerprint || h.installedFingerprint
          ? { servedFingerprint: h.servedFingerprint ?? h.installedFingerprint }
          : {}),
        reason: h.reason,
        source: 'agent',
      }));
    return { ...finding, details: { ...finding.details, drifts } };
  });
}
