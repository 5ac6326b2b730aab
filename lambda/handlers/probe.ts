/**
 * Scheduled fresh-handshake probe of every configured endpoint. Completing a run emits the heartbeat
 * metric the dead man's switch alarm watches (see support/heartbeat): a probe that stops running is
 * itself an alert. One unreachable or misconfigured endpoint never stops the others.
 *
 * Past one function, the sharded probe workflow (lib/constructs/probe-shards.ts) invokes it with
 * `{ job: 'probe-plan' }` (shard references for the served endpoints), `{ job: 'probe-shard', shard }`
 * (probes that shard only: no heartbeat, no job run recorded) and, once every shard succeeded,
 * `{ job: 'probe-complete', shards }` (the sweep's one heartbeat). See lambda/use-cases/probe-shards.ts
 * for what a shard may and may not conclude about the endpoints of other shards.
 */
import {
  PROBE_SHARD_JOBS,
  type ProbeShardPlan,
  type ProbeShardRequest,
  type ProbeShardResult,
  endpointsOfShard,
  parseProbeShardRequest,
  planProbeShards,
} from '../use-cases/probe-shards';
import { completeScheduledJob } from './support/heartbeat';
import { probeReadsInventory, servedEndpoints } from './support/probe-environments';
import { type ScanJobSummary, runScanJob, summarizeScanJob } from './support/scan-job';
import { AwsClients, loadConfiguration, logger, metrics, parseEnvironment } from './support/runtime';
import { instrumented } from './support/instrumented';

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);
/** The sibling sweep reads inventory sources again (not from a placement that cannot reach them). */
const siblingInventory = probeReadsInventory();

type ShardOutput = ProbeShardPlan | ProbeShardResult | { readonly swept: number };
type LambdaContext = Parameters<ReturnType<typeof instrumented>>[1];

async function run(event?: unknown): Promise<ScanJobSummary | ShardOutput> {
  try {
    // One probe function per network placement: each probes the endpoints of its environments.
    const config = servedEndpoints(await loadConfiguration(env));
    const job = (event as { job?: unknown } | undefined)?.job;
    if (typeof job !== 'string' || !PROBE_SHARD_JOBS.includes(job))
      return summarizeScanJob(await runScanJob('probe', config, env, clients, { siblingInventory }));
    const request = parseProbeShardRequest(event);
    switch (request.job) {
      case 'probe-plan':
        return planProbeShards(config.endpoints.length, request.shardSize);
      case 'probe-shard': {
        const { shard } = request;
        if (shard.endpoints !== config.endpoints.length)
          logger.warn('probe shard planned for another endpoint count', {
            shard: shard.index,
            planned: shard.endpoints,
            configured: config.endpoints.length,
          });
        const report = await runScanJob(
          'probe',
          { ...config, endpoints: endpointsOfShard(config.endpoints, shard) },
          env,
          clients,
          // The sweep's heartbeat comes once, from probe-complete; a shard is not a sweep. Incidents
          // are judged against the whole placement's endpoints.
          { scheduled: false, notificationConfig: config, siblingInventory },
        );
        return { index: shard.index, probed: report.observations.length, failed: report.failures.length };
      }
      case 'probe-complete': {
        await completeScheduledJob('probe', config, env, clients);
        const swept = request.shards.reduce((sum, s) => sum + s.probed, 0);
        logger.info('sharded probe sweep finished', {
          shards: request.shards.length,
          probed: swept,
          failed: request.shards.reduce((sum, s) => sum + s.failed, 0),
        });
        return { swept };
      }
    }
  } finally {
    metrics.publishStoredMetrics();
  }
}

/** A workflow job answers with its plan, shard counts or sweep total; anything else is a whole sweep. */
export const handler = instrumented(run) as {
  (event: ProbeShardRequest, context?: LambdaContext): Promise<ShardOutput>;
  (event?: unknown, context?: LambdaContext): Promise<ScanJobSummary>;
};
