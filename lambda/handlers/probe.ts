/**
 * Scheduled fresh-handshake probe of every configured endpoint. Completing a run emits the heartbeat
 * metric the dead man's switch alarm watches (see support/heartbeat): a probe that stops running is
 * itself an alert. One unreachable or misconfigured endpoint never stops the others.
 */
import { servedEndpoints } from './support/probe-environments';
import { type ScanJobSummary, runScanJob, summarizeScanJob } from './support/scan-job';
import { AwsClients, loadConfiguration, metrics, parseEnvironment } from './support/runtime';
import { instrumented } from './support/instrumented';

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

async function run(): Promise<ScanJobSummary> {
  try {
    // One probe function per network placement: each probes the endpoints of its environments.
    const config = servedEndpoints(await loadConfiguration(env));
    return summarizeScanJob(await runScanJob('probe', config, env, clients));
  } finally {
    metrics.publishStoredMetrics();
  }
}

export const handler = instrumented(run);
