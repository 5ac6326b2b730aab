/** Scheduled inventory of every configured source (ACM, tagged secrets): findings to the bus, days left as metrics. */
import { runScanJob } from './support/scan-job';
import { AwsClients, loadConfiguration, metrics, parseEnvironment } from './support/runtime';

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

export async function handler(): Promise<{ observations: number; newFindings: number; failures: number }> {
  try {
    const report = await runScanJob('inventory', await loadConfiguration(env), env, clients);
    return {
      observations: report.observations.length,
      newFindings: report.newFindings.length,
      failures: report.failures.length,
    };
  } finally {
    metrics.publishStoredMetrics();
  }
}
