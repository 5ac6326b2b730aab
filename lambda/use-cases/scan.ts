/**
 * One scan. Primary course: read every inventory source and probe every endpoint (fresh handshakes,
 * bounded concurrency) → observations → findings from pure policy → group the same certificate across
 * environments → keep only findings not alerted before (one alert per certificate version and
 * threshold, recorded in the state store once handed over) → report. A source or endpoint that
 * fails is one failure in the report; the rest of the scan goes on.
 *
 * A finding is marked alerted (`markAlerted`) only after its message is in the notification outbox
 * and its event published (see `scan` in cycle.ts): the outbox delivers it however long Slack is
 * down, and a scan that dies (or cannot record it) before the mark raises it again next time.
 */
import type { CertificateFacts } from '../domain/certificate';
import { describeError } from '../domain/errors';
import type { Finding } from '../domain/findings';
import { groupAcrossEnvironments } from '../domain/findings';
import type {
  CertificateSource,
  Clock,
  InventoryItem,
  ProbeResult,
  StateStore,
  TlsProber,
} from '../domain/ports';
import { ConditionFailedError } from '../domain/ports';
import { COLLECTIONS } from './certificate-state';

export interface EndpointTarget {
  /** Configured endpoint name, or `host:port`. */
  readonly name: string;
  readonly environment: string;
  readonly host: string;
  readonly port: number;
  readonly servername?: string;
  readonly caPem?: readonly string[];
  /** Managed certificate this endpoint must serve (its current version is the expected fingerprint). */
  readonly expects?: string;
  readonly timeoutMs?: number;
  /** Probe every address behind `host` (`probe.allAddresses`). @default the prober's: true */
  readonly allAddresses?: boolean;
}

/** What one scan saw: the facts, before any judgement. */
export type Observation =
  | {
      readonly kind: 'endpoint';
      readonly endpoint: EndpointTarget;
      readonly result: ProbeResult;
    }
  | {
      readonly kind: 'inventory';
      readonly item: InventoryItem;
    };

export interface ScanFailure {
  /** `source acm`, `endpoint api-prod (10.0.0.7)`, `notifier slack`. */
  readonly what: string;
  readonly error: string;
}

export interface ScanDeps {
  readonly sources: readonly CertificateSource[];
  readonly prober: TlsProber;
  readonly clock: Clock;
}

/** Gathers observations. Never throws for one source or endpoint: each failure is reported. */
export async function gatherObservations(
  deps: ScanDeps,
  endpoints: readonly EndpointTarget[],
  options: { concurrency?: number } = {},
): Promise<{ observations: Observation[]; failures: ScanFailure[] }> {
  const observations: Observation[] = [];
  const failures: ScanFailure[] = [];
  const sourceRuns = deps.sources.map(async (source) => {
    try {
      for (const item of await source.discover()) observations.push({ kind: 'inventory', item });
    } catch (error) {
      failures.push({ what: `source ${source.name}`, error: describeError(error) });
    }
  });
  const probeRuns = mapWithConcurrency(endpoints, options.concurrency ?? 32, async (endpoint) => {
    try {
      const results = await deps.prober.probe({
        host: endpoint.host,
        port: endpoint.port,
        ...(endpoint.servername ? { servername: endpoint.servername } : {}),
        ...(endpoint.caPem ? { caPem: endpoint.caPem } : {}),
        ...(endpoint.timeoutMs ? { timeoutMs: endpoint.timeoutMs } : {}),
        ...(endpoint.allAddresses !== undefined ? { allAddresses: endpoint.allAddresses } : {}),
      });
      for (const result of results) {
        observations.push({ kind: 'endpoint', endpoint, result });
        if (!result.ok)
          failures.push({
            what: `endpoint ${endpoint.name} (${result.address})`,
            error: result.error ?? 'no certificate',
          });
      }
    } catch (error) {
      failures.push({ what: `endpoint ${endpoint.name}`, error: describeError(error) });
    }
  });
  await Promise.all([...sourceRuns, probeRuns]);
  return { observations, failures };
}

/**
 * The findings never alerted before (nothing is marked here: see `markAlerted`). A grouped finding is
 * new when any of its keys is new (a new environment joining a known problem is news).
 */
export async function unalertedFindings(
  state: StateStore,
  findings: readonly Finding[],
  now: Date,
): Promise<Finding[]> {
  const fresh: Finding[] = [];
  for (const finding of findings) {
    for (const key of [finding.dedupeKey, ...(finding.relatedKeys ?? [])]) {
      if ((await state.get(COLLECTIONS.alerts, key, now)) === undefined) {
        fresh.push(finding);
        break;
      }
    }
  }
  return fresh;
}

/**
 * Marks findings as alerted: every deduplication key of each. Call only once their messages are in
 * the notification outbox and their events published, so a crash before this point raises them
 * again on the next scan (the outbox records one message per channel and key: nothing is sent
 * twice) and never loses them.
 */
export async function markAlerted(
  state: StateStore,
  findings: readonly Finding[],
  now: Date,
  retentionMs = 400 * 86_400_000,
): Promise<void> {
  for (const finding of findings)
    for (const key of [finding.dedupeKey, ...(finding.relatedKeys ?? [])])
      await claimAlertKey(
        state,
        key,
        { kind: finding.kind, environments: finding.environments },
        now,
        retentionMs,
      );
}

/**
 * Claims an alert's deduplication key in the state store; true the first time only (a conditional
 * put, so two concurrent scans never both alert).
 */
export async function claimAlertKey(
  state: StateStore,
  key: string,
  about: Record<string, unknown>,
  now: Date,
  retentionMs = 400 * 86_400_000,
): Promise<boolean> {
  try {
    await state.put(COLLECTIONS.alerts, key, { ...about, firstSeen: now.toISOString() }, now, {
      ifAbsent: true,
      expiresAt: new Date(now.getTime() + retentionMs),
    });
    return true;
  } catch (error) {
    if (error instanceof ConditionFailedError) return false;
    throw error;
  }
}

/** The certificate seen by an observation (the leaf for endpoints). */
export function observedFacts(observation: Observation): CertificateFacts | undefined {
  return observation.kind === 'inventory' ? observation.item.facts : observation.result.chain[0]?.facts;
}

export function observationEnvironment(observation: Observation): string {
  return observation.kind === 'inventory' ? observation.item.environment : observation.endpoint.environment;
}

export function observationLocation(observation: Observation): string {
  if (observation.kind === 'inventory') return observation.item.location;
  const { endpoint, result } = observation;
  return `${endpoint.host}:${endpoint.port}${result.address && result.address !== endpoint.host ? ` (${result.address})` : ''}`;
}

export { groupAcrossEnvironments };

export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(Math.max(1, concurrency), items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  });
  await Promise.all(workers);
  return results;
}
