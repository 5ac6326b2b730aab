/**
 * ACM's own "ACM Certificate Approaching Expiration" events, routed into the same evaluation as the
 * scheduled inventory: the ACM sources of the event's region are read again and judged with the same
 * thresholds, so a finding ACM announced and certrotor already reported is deduplicated (same key).
 *
 * An event from a region no ACM source covers is reported as not covered (a gap in the inventory), not
 * silently dropped. When a source could not be read, the invocation fails after the others were
 * evaluated, so Lambda retries it (findings already published are not published twice).
 */
import * as z from 'zod';
import { InvalidInputError, OperationError } from '../domain/errors';
import { type ScanJobSummary, runScanJob, summarizeScanJob } from './support/scan-job';
import { AwsClients, loadConfiguration, logger, metrics, parseEnvironment } from './support/runtime';
import { instrumented } from './support/instrumented';

const acmEventSchema = z.object({
  source: z.literal('aws.acm'),
  'detail-type': z.string(),
  region: z.string().optional(),
  resources: z.array(z.string()).default([]),
  detail: z.object({ DaysToExpiry: z.number().optional(), CommonName: z.string().optional() }).passthrough(),
});

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

export interface AcmEventSummary extends ScanJobSummary {
  /** False when no configured ACM source reads the event's region. */
  readonly covered: boolean;
}

async function run(raw: unknown): Promise<AcmEventSummary> {
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
    if (acmOnly.sources.length === 0) {
      logger.warn('ACM event from a region no acm source covers', {
        region,
        certificates: event.resources,
        daysToExpiry: event.detail.DaysToExpiry,
      });
      metrics.addMetric('UncoveredAcmEvents', 'Count', 1);
      return { observations: 0, newFindings: 0, failures: [], covered: false };
    }
    const summary = summarizeScanJob(
      // Only ACM is read for an ACM event: the private CAs are the scheduled inventory's business.
      await runScanJob('inventory', acmOnly, env, clients, { scheduled: false, issuerCas: false }),
    );
    if (summary.failures.length > 0) {
      throw new OperationError(
        'evaluate ACM expiry event',
        event.resources.join(', ') || `acm:${region ?? 'default region'}`,
        summary.failures.map((f) => `${f.what}: ${f.error}`).join('; '),
      );
    }
    return { ...summary, covered: true };
  } finally {
    metrics.publishStoredMetrics();
  }
}

export const handler = instrumented(run);
