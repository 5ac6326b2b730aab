/**
 * The scheduled scan jobs (inventory of sources, probe of endpoints): both run the same scan use case
 * with a different half of the configuration, publish new findings to the bus, and report days left
 * per certificate as EMF metrics (the minimum feeds the days-left alarm).
 */
import { readFileSync } from 'node:fs';
import { ACMClient } from '@aws-sdk/client-acm';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AcmSource } from '../../adapters/aws/acm';
import { SecretsManagerSource } from '../../adapters/aws/secrets-manager';
import { NodeTlsProber } from '../../adapters/net/tls-prober';
import { daysLeft } from '../../domain/certificate';
import type { CertrotorConfig } from '../../domain/config';
import type { CertificateSource } from '../../domain/ports';
import type { RenewalPolicy } from '../../domain/renewal';
import { type ScanReport, scan } from '../../use-cases/cycle';
import { type EndpointTarget, observedFacts } from '../../use-cases/scan';
import {
  type AwsClients,
  type HandlerEnvironment,
  eventPublisher,
  logger,
  metrics,
  stateStore,
  toWorkflowSpec,
} from './runtime';

export type ScanJob = 'inventory' | 'probe';

export function sourcesFrom(
  config: CertrotorConfig,
  clients: AwsClients,
  region: string | undefined,
): CertificateSource[] {
  const sources: CertificateSource[] = [];
  for (const s of config.sources) {
    if (s.kind === 'acm') {
      const sourceRegion = s.region ?? region ?? 'us-east-1';
      sources.push(
        new AcmSource({
          client: clients.get(ACMClient, sourceRegion),
          environment: s.environment,
          region: sourceRegion,
          name: s.name,
        }),
      );
    } else if (s.kind === 'secrets-manager') {
      sources.push(
        new SecretsManagerSource({
          client: clients.get(SecretsManagerClient),
          environment: s.environment,
          ...(s.tagKey ? { tagKey: s.tagKey } : {}),
        }),
      );
    }
  }
  return sources;
}

export function endpointsFrom(config: CertrotorConfig): EndpointTarget[] {
  return config.endpoints.map((e) => ({
    name: e.name,
    environment: e.environment,
    host: e.host,
    port: e.port,
    ...(e.servername ? { servername: e.servername } : {}),
    ...(e.caFile ? { caPem: [readFileSync(e.caFile, 'utf8')] } : {}),
    ...(e.expect?.certificate ? { expects: e.expect.certificate } : {}),
    timeoutMs: config.probe.timeout,
  }));
}

export async function runScanJob(
  job: ScanJob,
  config: CertrotorConfig,
  env: HandlerEnvironment,
  clients: AwsClients,
): Promise<ScanReport> {
  const owners = new Map<string, { owner?: string; runbookUrl?: string }>();
  for (const item of [...config.certificates, ...config.endpoints]) {
    owners.set(item.name, {
      ...(item.owner ? { owner: item.owner } : {}),
      ...(item.runbookUrl ? { runbookUrl: item.runbookUrl } : {}),
    });
  }
  const renewal = new Map<string, RenewalPolicy>(
    config.certificates.map((c) => [
      c.name,
      {
        ...(c.renewal.renewBefore !== undefined ? { renewBefore: c.renewal.renewBefore } : {}),
        ...(c.renewal.renewBeforePercentage !== undefined
          ? { renewBeforePercentage: c.renewal.renewBeforePercentage }
          : {}),
        jitterPercentage: c.renewal.jitterPercentage,
      },
    ]),
  );
  const clock = () => new Date();
  const report = await scan(
    {
      sources: job === 'inventory' ? sourcesFrom(config, clients, env.AWS_REGION) : [],
      prober: new NodeTlsProber({ clock, defaultTimeoutMs: config.probe.timeout }),
      state: stateStore(env, clients),
      publisher: eventPublisher(env, clients),
      clock,
      ownership: (name) => (name !== undefined ? (owners.get(name) ?? {}) : {}),
    },
    {
      endpoints: job === 'probe' ? endpointsFrom(config) : [],
      specs: config.certificates.map((c) => toWorkflowSpec(config, c)),
      renewal,
      thresholds: config.notifications.thresholds,
      concurrency: config.probe.concurrency,
    },
  );
  recordDaysLeft(report, clock());
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

/** Days left per certificate (by fingerprint prefix or managed name) and the minimum over all. */
function recordDaysLeft(report: ScanReport, now: Date): void {
  const perCertificate = new Map<string, number>();
  for (const observation of report.observations) {
    const facts = observedFacts(observation);
    if (!facts) continue;
    const name =
      (observation.kind === 'inventory' ? observation.item.managedName : observation.endpoint.expects) ??
      facts.fingerprintSha256.replace(/:/g, '').slice(0, 16);
    const left = daysLeft(facts, now);
    perCertificate.set(name, Math.min(left, perCertificate.get(name) ?? Number.POSITIVE_INFINITY));
  }
  for (const [name, left] of perCertificate) {
    const single = metrics.singleMetric();
    single.addDimension('Certificate', name);
    single.addMetric('DaysLeft', 'Count', left);
  }
  if (perCertificate.size > 0)
    metrics.addMetric('MinimumDaysLeft', 'Count', Math.min(...perCertificate.values()));
  metrics.addMetric('NewFindings', 'Count', report.newFindings.length);
  metrics.addMetric('ScanFailures', 'Count', report.failures.length);
}
