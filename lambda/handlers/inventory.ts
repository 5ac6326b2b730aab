/** Scheduled inventory of every configured source (ACM, tagged secrets): findings to the bus, days left as metrics. */
import { type ScanJobSummary, runScanJob, summarizeScanJob } from './support/scan-job';
import { AwsClients, loadConfiguration, metrics, parseEnvironment } from './support/runtime';
import { instrumented } from './support/instrumented';

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

/** One failing source never stops the others; the result (and the log) names each failure. */
async function run(): Promise<ScanJobSummary> {
  try {
    return summarizeScanJob(await runScanJob('inventory', await loadConfiguration(env), env, clients));
  } finally {
    metrics.publishStoredMetrics();
  }
}

export const handler = instrumented(run);
