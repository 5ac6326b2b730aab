/**
 * ACM's own "ACM Certificate Approaching Expiration" events, routed into the same evaluation as the
 * scheduled inventory: the ACM sources of the event's region are read again and judged with the same
 * thresholds, so a finding ACM announced and certrotor already reported is deduplicated (same key).
 */
import { z } from 'zod';
import { InvalidInputError } from '../domain/errors';
import { runScanJob } from './support/scan-job';
import { AwsClients, loadConfiguration, logger, metrics, parseEnvironment } from './support/runtime';

const acmEventSchema = z.object({
  source: z.literal('aws.acm'),
  'detail-type': z.string(),
  region: z.string().optional(),
  resources: z.array(z.string()).default([]),
  detail: z.object({ DaysToExpiry: z.number().optional(), CommonName: z.string().optional() }).passthrough(),
});

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

export async function handler(raw: unknown): Promise<{ newFindings: number }> {
  const parsed = acmEventSchema.safeParse(raw);
  if (!parsed.success)
    throw new InvalidInputError(
      `ACM event: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const event = parsed.data;
  logger.info('ACM expiry event', { certificates: event.resources, daysToExpiry: event.detail.DaysToExpiry });
  const config = await loadConfiguration(env);
  const region = event.region ?? env.AWS_REGION;
  const acmOnly = {
    ...config,
    sources: config.sources.filter((s) => s.kind === 'acm' && (s.region ?? env.AWS_REGION) === region),
  };
  try {
    const report = await runScanJob('inventory', acmOnly, env, clients);
    return { newFindings: report.newFindings.length };
  } finally {
    metrics.publishStoredMetrics();
  }
}
