/**
 * Scheduled fresh-handshake probe of every configured endpoint. Emits the heartbeat metric the dead
 * man's switch alarm watches: a probe that stops running is itself an alert.
 */
import { runScanJob } from './support/scan-job';
import { AwsClients, loadConfiguration, metrics, parseEnvironment } from './support/runtime';

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

export async function handler(): Promise<{ observations: number; newFindings: number; failures: number }> {
  try {
    const report = await runScanJob('probe', await loadConfiguration(env), env, clients);
    metrics.addMetric('ProbeHeartbeat', 'Count', 1);
    return {
      observations: report.observations.length,
      newFindings: report.newFindings.length,
      failures: report.failures.length,
    };
  } finally {
    metrics.publishStoredMetrics();
  }
}
