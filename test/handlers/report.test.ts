/**
 * The scheduled report handler against the emulator: state in the DynamoDB state table, the page put
 * into an S3 bucket, and the page read back is the same self-contained report the CLI writes.
 */
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { COLLECTIONS } from '../../lambda/use-cases/certificate-state';
import { awsClientConfig, useMoto } from '../support/moto';
import { useTempDirs } from '../support/temp-dir';
import {
  type CapturedOutput,
  captureOutput,
  createTable,
  loadHandler,
  stateStore,
  writeConfig,
} from './support/handler-harness';

type ReportModule = typeof import('../../lambda/handlers/report');

useMoto();
const temp = useTempDirs();
const TABLE = 'certrotor-report-test';
const BUCKET = 'certrotor-report-test';
const DAY = 86_400_000;

let output: CapturedOutput;
beforeAll(() => {
  output = captureOutput();
});
afterAll(() => {
  output?.restore();
  delete process.env.CERTROTOR_REPORT_BUCKET;
});

describe('the scheduled report handler', () => {
  it('puts the fleet report page, built from the state table, into the report bucket', async () => {
    const s3 = createAwsClient(S3Client, { ...awsClientConfig(), forcePathStyle: true } as never);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await createTable(TABLE);
    const now = Date.now();
    const state = stateStore(TABLE);
    for (const [i, environment] of ['prod', 'prod', 'staging'].entries()) {
      await state.put(
        COLLECTIONS.observations,
        `obs-${i}`,
        {
          environment,
          location: `api-${i}.example:443`,
          source: 'probe',
          ok: true,
          fingerprintSha256: `AA:${i}`,
          subject: `CN=api-${i}.example`,
          notAfter: new Date(now + (10 + i * 20) * DAY).toISOString(),
          managedName: `api-${i}`,
          observedAt: new Date(now).toISOString(),
        },
        new Date(now),
      );
    }
    const directory = await temp.make('report-handler');
    const configFile = await writeConfig(directory, {
      version: 1,
      backend: 'aws',
      environments: [{ name: 'prod' }, { name: 'staging' }],
    });
    process.env.CERTROTOR_REPORT_BUCKET = BUCKET;
    const { handler } = await loadHandler<ReportModule>('report', {
      configFile,
      table: TABLE,
      bus: 'unused',
    });

    const result = await handler();
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'certrotor-report.html' }));
    const html = await object.Body!.transformToString();

    expect(result).toMatchObject({ bucket: BUCKET, key: 'certrotor-report.html', placements: 3 });
    expect(object.ContentType).toBe('text/html; charset=utf-8');
    expect(object.CacheControl).toBe('no-store');
    expect(html).toContain('<title>certrotor fleet report</title>');
    expect(html.match(/<li class="cal-entry/g)).toHaveLength(3);
    expect(html).toContain('data-certificate="api-0"');
    expect(html).toContain("default-src 'none'");
  });
});
