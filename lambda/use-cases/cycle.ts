/**
 * One scheduled cycle, as `certrotor run` and the scheduled Lambdas run it. Primary course: scan
 * (gather → evaluate → new findings only) → publish their events → notify → rotate every managed
 * certificate whose renewal is due → publish the rotation events → notify. Publishing and notifying
 * never fail the cycle; their problems are reported with the rest.
 */
import { type ClientAuthSunset, publicClientAuthSunset } from '../domain/public-client-auth';
import { clientAuthFindings } from './client-auth-use';
import { describeError } from '../domain/errors';
import type { CertificateFacts } from '../domain/certificate';
import { type Finding, keyFingerprint } from '../domain/findings';
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
import {
  COLLECTIONS,
  type CertificateState,
  type VersionRecord,
  readCertificateState,
} from './certificate-state';
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
  observationLocation,
  observedFacts,
  markAlerted,
  unalertedFindings,
} from './scan';
import { eventSink, handOver } from './hand-over';

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
}

export interface ScanInput {
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
  const clientAuth = await clientAuthFindings(deps.state, observations, now);
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
  for (const verdict of report.evaluation.renewals.filter((r) => r.due)) {
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
        name: spec.name,
        environments: spec.environments,
        renewal: input.renewal.get(spec.name) ?? {},
        ...(stored ? { state: stored.value } : {}),
        endpoints: spec.verify.map((v) => `${v.host}:${v.port}`),
      };
    }),
  );
}

/** The latest observation per place, for `status`. */
export interface StoredObservation {
  readonly environment: string;
  readonly location: string;
  readonly source: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly fingerprintSha256?: string;
  readonly subject?: string;
  readonly notBefore?: string;
  readonly notAfter?: string;
  /** The certificate's names, so a later sweep can tell its identity without reading it again. */
  readonly subjectAltNames?: CertificateFacts['subjectAltNames'];
  readonly managedName?: string;
  readonly observedAt: string;
  /** The certificate's identity (see `certificateIdentity`), for the sibling sweep and `status --group identity`. */
  readonly identity?: string;
  /** A certificate with clientAuth from a public CA: when it stops being renewable with clientAuth. */
  readonly clientAuthSunset?: ClientAuthSunset;
  /** The endpoint probed, so a later scan (the inventory job, another run) can probe it again. */
  readonly target?: {
    readonly name: string;
    readonly host: string;
    readonly port: number;
    readonly servername?: string;
    /** Its trust anchors (public CA certificates), so a later probe verifies it the same way. */
    readonly caPem?: readonly string[];
  };
}

/**
 * The sibling sweep. Places with the identity of a finding that this scan did not check are checked
 * now, so a finding names them all:
 * - endpoints known from earlier observations (another job's probe, another run) are probed again;
 * - inventory places known from earlier observations whose source this scan did not read are read
 *   again from `deps.siblingSources` (only their items with a wanted identity join the scan);
 * - what host agents report installed (COLLECTIONS.hosts) is a place of its certificate
 *   (`host <name>`), judged with the facts of the version it reports.
 */
async function sweepSiblings(
  deps: CycleDeps,
  input: ScanInput,
  observations: readonly Observation[],
  managed: readonly ManagedView[],
  findings: readonly Finding[],
  now: Date,
): Promise<{ observations: Observation[]; failures: ScanFailure[] }> {
  const wanted = new Set(findings.flatMap((f) => (f.identity ? [f.identity] : [])));
  if (wanted.size === 0) return { observations: [], failures: [] };
  const targetKey = (t: { environment: string; host: string; port: number; servername?: string }) =>
    `${t.environment}|${t.host}:${t.port}|${t.servername ?? ''}`;
  const probed = new Set(observations.flatMap((o) => (o.kind === 'endpoint' ? [targetKey(o.endpoint)] : [])));
  const seenPlaces = new Set(
    observations.map((o) => `${observationEnvironment(o)}|${observationLocation(o)}`),
  );
  const targets = new Map<string, EndpointTarget>();
  const storedInventory: StoredObservation[] = [];
  for (const { value } of await deps.state.list<StoredObservation>(COLLECTIONS.observations, now)) {
    if (!value.identity || !wanted.has(value.identity)) continue;
    if (!value.target) {
      if (value.source !== 'probe' && !seenPlaces.has(`${value.environment}|${value.location}`))
        storedInventory.push(value);
      continue;
    }
    const target = { environment: value.environment, ...value.target };
    const key = targetKey(target);
    if (probed.has(key) || targets.has(key)) continue;
    // The configured endpoint (with its trust anchors) when there is one; otherwise as last probed.
    const configured = input.endpoints.find((e) => targetKey(e) === key);
    targets.set(key, configured ?? target);
  }
  const read = new Set(deps.sources.map((s) => s.name));
  const rereadSources =
    storedInventory.length > 0 ? (deps.siblingSources ?? []).filter((s) => !read.has(s.name)) : [];
  const gathered =
    targets.size > 0 || rereadSources.length > 0
      ? await gatherObservations({ ...deps, sources: rereadSources }, [...targets.values()], {
          concurrency: input.concurrency,
        })
      : { observations: [], failures: [] };
  const agents = await agentPlaces(deps.state, managed, now).catch((error: unknown) => {
    gathered.failures.push({ what: 'agent reports', error: describeError(error) });
    return [];
  });
  // Inventory items and agent places join the scan only when they hold a certificate with a finding.
  // Inventory places no source here could read again (a probe job has no inventory access): their
  // last recorded certificate, judged as of now, never recorded again as if seen now.
  // Only for sources of a kind nothing in this scan read: a source read now that no longer lists a
  // place (a file removed, a certificate deleted) has no such place any more.
  const readKinds = new Set(
    [...observations, ...gathered.observations].flatMap((o) =>
      o.kind === 'inventory' && !isAgentPlace(o) ? [`${o.item.environment}|${o.item.source}`] : [],
    ),
  );
  const carried = storedInventory
    .filter((v) => !readKinds.has(`${v.environment}|${v.source}`))
    .flatMap((v) => (storedPlace(v) ? [storedPlace(v)!] : []));
  const candidates = [...gathered.observations, ...agents, ...carried];
  const identityOf = observationIdentities([...observations, ...candidates], managed, input.identity);
  // A named place (an agent's certificate) can give an unnamed certificate its name: still wanted.
  const before = observationIdentities(observations, managed, input.identity);
  const wantedNow = new Set([
    ...wanted,
    ...observations.filter((o) => wanted.has(before(o) ?? '\u0000')).map((o) => identityOf(o) ?? '\u0000'),
  ]);
  return {
    observations: candidates.filter((o) => o.kind === 'endpoint' || wantedNow.has(identityOf(o) ?? '\u0000')),
    failures: gathered.failures,
  };
}

/** The source name of agent-report places (see `agentPlaces`). */
export const AGENT_PLACE_SOURCE = 'agent';

/** Places whose facts come from the state store (agent reports, stored inventory): never recorded as seen now. */
const FROM_STORE = new WeakSet<Observation>();

function isAgentPlace(o: Observation): boolean {
  return FROM_STORE.has(o) || (o.kind === 'inventory' && o.item.source === AGENT_PLACE_SOURCE);
}

/** An inventory place as an earlier scan recorded it, for the sweep (undefined without its facts). */
function storedPlace(v: StoredObservation): Observation | undefined {
  if (!v.fingerprintSha256 || !v.notAfter) return undefined;
  const place: Observation = {
    kind: 'inventory',
    item: {
      id: `${v.environment}|${v.location}`,
      source: v.source,
      environment: v.environment,
      location: v.location,
      facts: {
        fingerprintSha256: v.fingerprintSha256,
        serialNumber: '',
        subject: v.subject ?? '',
        issuer: '',
        subjectAltNames: v.subjectAltNames ?? [],
        notBefore: v.notBefore ?? v.notAfter,
        notAfter: v.notAfter,
        keyAlgorithm: 'unknown',
        isCA: false,
        selfSigned: false,
        extendedKeyUsage: [],
      },
      ...(v.managedName ? { managedName: v.managedName } : {}),
    },
  };
  FROM_STORE.add(place);
  return place;
}

/**
 * What every host agent reports installed, as places of its certificate: the version it reports is
 * looked up among the certificate's known versions (current, previous, pending) for its facts. A
 * report of a version certrotor no longer knows has no facts to judge and is left to the drift check.
 */
export async function agentPlaces(
  state: StateStore,
  managed: readonly ManagedView[],
  now: Date,
): Promise<Observation[]> {
  const reports = (await state.list<HostReportFacts>(COLLECTIONS.hosts, now))
    .map((i) => i.value)
    .filter(
      (r) =>
        typeof r.certificate === 'string' &&
        typeof r.host === 'string' &&
        typeof r.installedFingerprint === 'string',
    );
  const places: Observation[] = [];
  for (const report of reports) {
    const view = managed.find((m) => m.name === report.certificate);
    const stored = view?.state ?? (await readCertificateState(state, report.certificate, now))?.value;
    const facts = versionFacts(stored, report.installedFingerprint!);
    if (!facts) continue;
    places.push({
      kind: 'inventory',
      item: {
        id: `${report.host}#${report.certificate}`,
        source: AGENT_PLACE_SOURCE,
        environment: report.environment ?? view?.environments[0] ?? 'default',
        location: `host ${report.host}`,
        facts,
        managedName: report.certificate,
      },
    });
  }
  return places;
}

/** The facts of the version of `state` with this fingerprint (a minimal record when only dates are kept). */
function versionFacts(
  state: CertificateState | undefined,
  fingerprint: string,
): CertificateFacts | undefined {
  const key = keyFingerprint(fingerprint);
  const versions = [state?.current, state?.previous, state?.pending].filter(
    (v): v is NonNullable<typeof v> => v?.fingerprintSha256 !== undefined,
  );
  const version = versions.find((v) => keyFingerprint(v.fingerprintSha256!) === key);
  if (!version) return undefined;
  if (version.facts) return version.facts;
  if (!('notAfter' in version)) return undefined;
  const subject = state?.current?.facts?.subject ?? '';
  return {
    fingerprintSha256: version.fingerprintSha256,
    serialNumber: '',
    subject,
    issuer: '',
    subjectAltNames: state?.current?.facts?.subjectAltNames ?? [],
    notBefore: version.notBefore,
    notAfter: version.notAfter,
    keyAlgorithm: 'unknown',
    isCA: false,
    selfSigned: false,
    extendedKeyUsage: [],
  };
}

async function recordObservations(
  state: StateStore,
  observations: readonly Observation[],
  now: Date,
  ttlMs: number,
  identityOf: (o: Observation) => string | undefined = () => undefined,
): Promise<void> {
  for (const o of observations) {
    const facts = observedFacts(o);
    const value: StoredObservation = {
      environment: observationEnvironment(o),
      location: observationLocation(o),
      source: o.kind === 'inventory' ? o.item.source : 'probe',
      ok: o.kind === 'inventory' ? true : o.result.ok,
      ...(o.kind === 'endpoint' && o.result.error ? { error: o.result.error } : {}),
      ...(facts
        ? {
            fingerprintSha256: facts.fingerprintSha256,
            subject: facts.subject,
            notBefore: facts.notBefore,
            notAfter: facts.notAfter,
            ...(facts.subjectAltNames.length > 0 ? { subjectAltNames: facts.subjectAltNames } : {}),
          }
        : {}),
      ...(o.kind === 'endpoint' && o.endpoint.expects ? { managedName: o.endpoint.expects } : {}),
      ...(o.kind === 'inventory' && o.item.managedName ? { managedName: o.item.managedName } : {}),
      observedAt: now.toISOString(),
      ...(identityOf(o) ? { identity: identityOf(o) } : {}),
      ...(facts && publicClientAuthSunset(facts) ? { clientAuthSunset: publicClientAuthSunset(facts) } : {}),
      ...(o.kind === 'endpoint'
        ? {
            target: {
              name: o.endpoint.name,
              host: o.endpoint.host,
              port: o.endpoint.port,
              ...(o.endpoint.servername ? { servername: o.endpoint.servername } : {}),
              ...(o.endpoint.caPem ? { caPem: o.endpoint.caPem } : {}),
            },
          }
        : {}),
    };
    // Inventory items are keyed by their id (many ACM certificates share one location `acm:<region>`).
    const key =
      o.kind === 'inventory'
        ? `${value.environment}|${o.item.source}|${o.item.id}`
        : `${value.environment}|${value.location}`;
    await state.put(COLLECTIONS.observations, key, value, now, {
      expiresAt: new Date(now.getTime() + ttlMs),
    });
  }
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
