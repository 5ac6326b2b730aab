/**
 * Places: what certrotor has seen where (the observations it records, for `status`, the fleet report
 * and later scans), and the sibling sweep that checks every other place holding the same certificate
 * when one place shows a finding.
 */
import { describeError } from '../domain/errors';
import type { CertificateFacts } from '../domain/certificate';
import { type Finding, type IdentityMode, keyFingerprint } from '../domain/findings';
import type { HostReportFacts } from '../domain/host-drift';
import type { CertificateSource, StateStore } from '../domain/ports';
import { type ClientAuthSunset, publicClientAuthSunset } from '../domain/public-client-auth';
import { COLLECTIONS, type CertificateState, readCertificateState } from './certificate-state';
import { type ManagedView, observationIdentities } from './evaluate';
import {
  type EndpointTarget,
  type Observation,
  type ScanDeps,
  type ScanFailure,
  gatherObservations,
  observationEnvironment,
  observationLocation,
  observedFacts,
} from './scan';

/** What the sibling sweep reads: the scan's sources, those it may read again, the prober, the state. */
export interface SweepDeps extends ScanDeps {
  readonly state: StateStore;
  /** Inventory sources this scan does not read but the sweep may. */
  readonly siblingSources?: readonly CertificateSource[];
}

export interface SweepInput {
  readonly endpoints: readonly EndpointTarget[];
  readonly concurrency: number;
  readonly identity?: IdentityMode;
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
export async function sweepSiblings(
  deps: SweepDeps,
  input: SweepInput,
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
  // Inventory places no source here could read again (a probe that does not read the inventory): their
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

export function isAgentPlace(o: Observation): boolean {
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

export async function recordObservations(
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
