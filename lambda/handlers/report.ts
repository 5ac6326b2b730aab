/**
 * The fleet report on a schedule (opt-in: `ScheduledReport` in lib/constructs/scheduled-report.ts):
 * builds the same self-contained HTML page as `certrotor report` from the state table and puts it
 * into the private report bucket. Reads state only; probes nothing.
 */
import { awsReportPublisher } from '../adapters/aws/s3-report-publisher';
import { renderReportHtml } from '../adapters/report/fleet-report-html';
import { ConfigurationError } from '../domain/errors';
import { buildFleetReport } from '../use-cases/fleet-report';
import { fleetReportSettings } from '../wiring/upstreams';
import {
  AwsClients,
  loadConfiguration,
  logger,
  metrics,
  parseEnvironment,
  stateStore,
} from './support/runtime';

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

export async function handler(): Promise<{ bucket: string; key: string; bytes: number; placements: number }> {
  try {
    const bucket = process.env.CERTROTOR_REPORT_BUCKET;
    if (!bucket) throw new ConfigurationError('Lambda environment', ['CERTROTOR_REPORT_BUCKET: is required']);
    const config = await loadConfiguration(env);
    const now = new Date();
    const report = await buildFleetReport(
      { state: stateStore(env, clients) },
      await fleetReportSettings(config),
      now,
    );
    const publisher = awsReportPublisher(clients, {
      bucket,
      ...(process.env.CERTROTOR_REPORT_KEY ? { key: process.env.CERTROTOR_REPORT_KEY } : {}),
      ...(env.CERTROTOR_KMS_KEY_ID ? { kmsKeyId: env.CERTROTOR_KMS_KEY_ID } : {}),
    });
    const written = await publisher.publish(renderReportHtml(report));
    metrics.addMetric('ReportBytes', 'Bytes', written.bytes);
    logger.info('fleet report written', { ...written, placements: report.rows.length });
    return { ...written, placements: report.rows.length };
  } finally {
    metrics.publishStoredMetrics();
  }
}
