/**
 * The scheduled scan jobs (inventory of sources, probe of endpoints): both run the same scan use case
 * with a different half of the configuration, publish new findings to the bus, and report days left
 * per certificate as EMF metrics (the minimum feeds the days-left alarm).
 */
import { readFileSync } from 'node:fs';
import { configuredProber } from '../../adapters/net/tls-prober';
import { daysLeft } from '../../domain/certificate';
import { type ThresholdScaling, thresholdDaysLeft } from '../../domain/thresholds';
import type { CertrotorConfig } from '../../config/configuration';
import type { CertificateSource } from '../../domain/ports';
import { type ScanReport, scan } from '../../use-cases/cycle';
import { ownershipLookup } from '../../config/views/ownership';
import { SCAN_PROBLEMS_METRIC } from '../../domain/health-metrics';
import { completeScheduledJob } from './heartbeat';
import { recordClearedAlerts, recordingNotifier } from './notification-recording';
import { type ScanFailure, observedFacts } from '../../use-cases/scan';
import { certificateSpecs } from '../../config/views/certificates';
import { endpointTargets } from '../../config/views/endpoints';
import { scanSettings } from '../../config/views/scan';
import { awsInventorySources } from '../../wiring/aws';
import { issuerTrust } from '../../wiring/trust';
import {
  type AwsClients,
  type HandlerEnvironment,
  eventPublisher,
  logger,
  metrics,
  stateStore,
} from './runtime';

export type ScanJob = 'inventory' | 'probe';

/** The inventory job's sources (see awsInventorySources in lambda/wiring/aws.ts). */
export function sourcesFrom(
  config: CertrotorConfig,
  clients: AwsClients,
  region: string | undefined,
  options: { readonly issuerCas?: boolean } = {},
): CertificateSource[] {
  return awsInventorySources(config, clients, region, options);
}

/**
 * The endpoints the probe job probes: the configured endpoints (config/views/endpoints.ts; hosts'
 * own endpoints are proven by their agents' reports and each rotation's verification).
 */
export function probeTargets(config: CertrotorConfig) {
  return endpointTargets(config, {
    readCaFile: (path) => [readFileSync(path, 'utf8')],
    trustFor: issuerTrust(config),
    hostEndpoints: false,
  });
}

/** What a scan job handler returns: counts, and every failure by name (also logged as `scan problem`). */
export interface ScanJobSummary {
  readonly observations: number;
  readonly newFindings: number;
  readonly failures: readonly ScanFailure[];
}

export function summarizeScanJob(report: ScanReport): ScanJobSummary {
  return {
    observations: report.observations.length,
    newFindings: report.newFindings.length,
    failures: report.failures.map((f) => ({ what: f.what, error: f.error })),
  };
}

export async function runScanJob(
  job: ScanJob,
  config: CertrotorConfig,
  env: HandlerEnvironment,
  clients: AwsClients,
  /**
   * `scheduled: false` for runs triggered by something else (an ACM event): no heartbeat, no job run
   * recorded; `issuerCas: false` leaves the issuers' CA certificates to the scheduled inventory.
   */
  options: {
    readonly scheduled?: boolean;
    readonly issuerCas?: boolean;
    /**
     * The configuration the batch's notifications are judged with, when `config` is only part of it
     * (a probe shard): an incident is "most of an environment", not most of a shard. @default config
     */
    readonly notificationConfig?: CertrotorConfig;
    /**
     * A probe run's sibling sweep reads the inventory sources again (the inventory job's sources,
     * `sourcesFrom`) when a finding's certificate was last recorded in one of their places: a
     * certificate replaced in ACM since the last inventory run shows its new dates. Off, those places
     * are judged by their last recorded facts. @default false
     */
    readonly siblingInventory?: boolean;
  } = {},
): Promise<ScanReport> {
  const clock = () => new Date();
  const targets = job === 'probe' ? probeTargets(config) : { endpoints: [], failures: [] };
  const state = stateStore(env, clients);
  const scanned = await scan(
    {
      sources:
        job === 'inventory'
          ? sourcesFrom(config, clients, env.AWS_REGION, {
              ...(options.issuerCas === false ? { issuerCas: false } : {}),
            })
          : [],
      ...(job === 'probe' && options.siblingInventory
        ? { siblingSources: sourcesFrom(config, clients, env.AWS_REGION) }
        : {}),
      prober: configuredProber(config.probe, { clock, inLambda: true }),
      state,
      publisher: eventPublisher(env, clients),
      // The batch's messages go into the outbox before the events are published (an incident is
      // judged on the whole batch, as in the CLI); the notifier sends them.
      notify: recordingNotifier(options.notificationConfig ?? config, state, clock),
      clock,
      ownership: ownershipLookup(config),
    },
    {
      endpoints: targets.endpoints,
      specs: certificateSpecs(config, { trustFor: issuerTrust(config) }),
      ...scanSettings(config),
    },
  );
  const report: ScanReport = { ...scanned, failures: [...targets.failures, ...scanned.failures] };
  // Critical alerts whose places all serve another certificate now: one "resolved" message each.
  await recordClearedAlerts(state, clock());
  recordDaysLeft(report, clock(), alertHorizonDays(config), config.notifications.thresholdScaling);
  if (options.scheduled ?? true) await completeScheduledJob(job, config, env, clients);
  for (const failure of report.failures)
    logger.warn('scan problem', { what: failure.what, error: failure.error });
  logger.info('scan finished', {
    job,
    observations: report.observations.length,
    newFindings: report.newFindings.length,
    events: report.events.length,
    failures: report.failures.length,
  });
  return report;
}

/**
 * The farthest alert threshold (days): a certificate with more days left than this needs no graph.
 * Custom metrics are billed per metric and hour, so per-certificate `DaysLeft` is published only
 * inside this horizon; every certificate's days left are in the `days left` log line.
 */
function alertHorizonDays(config: CertrotorConfig): number {
  const days = [config.notifications.thresholds, ...config.certificates.map((c) => c.thresholds ?? [])]
    .flat()
    .filter((t): t is number => typeof t === 'number');
  return days.length > 0 ? Math.max(...days) : 30;
}

/**
 * Days left per certificate (by fingerprint prefix or managed name) inside the alert horizon, the
 * minimum over all, and counters only when not zero (a metric costs for each hour it receives data;
 * the alarms treat no data as zero). The horizon and `MinimumDaysLeft` (what the days-left alarm
 * compares with its threshold) are on the thresholds' scale (`thresholdDaysLeft`: scaled by lifetime
 * like every alert), so a 30-day certificate renewed on time never trips a 14-day alarm.
 */
function recordDaysLeft(report: ScanReport, now: Date, horizonDays: number, scaling: ThresholdScaling): void {
  const perCertificate = new Map<string, number>();
  const onScale = new Map<string, number>();
  for (const observation of report.observations) {
    const facts = observedFacts(observation);
    if (!facts) continue;
    const name =
      (observation.kind === 'inventory' ? observation.item.managedName : observation.endpoint.expects) ??
      facts.fingerprintSha256.replace(/:/g, '').slice(0, 16);
    const left = daysLeft(facts, now);
    perCertificate.set(name, Math.min(left, perCertificate.get(name) ?? Number.POSITIVE_INFINITY));
    const scaled = thresholdDaysLeft(facts, now, scaling);
    onScale.set(name, Math.min(scaled, onScale.get(name) ?? Number.POSITIVE_INFINITY));
  }
  if (perCertificate.size > 0) logger.info('days left', { certificates: Object.fromEntries(perCertificate) });
  for (const [name, left] of perCertificate) {
    if ((onScale.get(name) ?? left) > horizonDays) continue;
    const single = metrics.singleMetric();
    single.addDimension('Certificate', name);
    single.addMetric('DaysLeft', 'Count', left);
  }
  if (perCertificate.size > 0) metrics.addMetric('MinimumDaysLeft', 'Count', Math.min(...onScale.values()));
  if (report.newFindings.length > 0) metrics.addMetric('NewFindings', 'Count', report.newFindings.length);
  if (report.failures.length > 0) metrics.addMetric(SCAN_PROBLEMS_METRIC, 'Count', report.failures.length);
}
