/**
 * Upstream watcher: runs on its schedule and on AWS Health events (aws.health rule). Minimal for now:
 * the upstream-tracking work fills in feed polling, observation and readiness here.
 */
import { AwsClients, loadConfiguration, logger, metrics, parseEnvironment } from './support/runtime';

const env = parseEnvironment();
void new AwsClients(env.AWS_REGION);

export async function handler(event: unknown): Promise<{ upstreams: number }> {
  const config = await loadConfiguration(env);
  const source =
    typeof event === 'object' && event !== null ? (event as { source?: unknown }).source : undefined;
  logger.info('upstream watch', {
    upstreams: config.upstreams.length,
    trigger: source === 'aws.health' ? 'aws.health' : 'schedule',
  });
  metrics.addMetric('UpstreamWatchRuns', 'Count', 1);
  metrics.publishStoredMetrics();
  return { upstreams: config.upstreams.length };
}
