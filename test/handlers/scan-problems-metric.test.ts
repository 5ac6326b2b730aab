/**
 * The ScanProblems alarm watches one metric (lambda/domain/health-metrics.ts), so every job that
 * completes with problems must emit it: the scan jobs (one function, support/scan-job.ts, for the
 * probe, the inventory and the ACM expiry event; here the probe with an endpoint nothing listens on),
 * the upstream watch (an upstream endpoint nothing listens on) and the planner (a state machine that
 * does not exist). Real handlers against moto; the EMF documents they write are read back. A run
 * without problems emits no ScanProblems (a metric is billed for each hour it receives data).
 */
import { MOTO_ACCOUNT_ID, MOTO_REGION, useMoto } from '../support/moto';
import { useTempDirs } from '../support/temp-dir';
import {
  type CapturedOutput,
  busWithSink,
  captureOutput,
  createTable,
  loadHandler,
  writeConfig,
} from './support/handler-harness';

type ProbeModule = typeof import('../../lambda/handlers/probe');
type UpstreamWatchModule = typeof import('../../lambda/handlers/upstream-watch');
type PlannerModule = typeof import('../../lambda/handlers/planner');

useMoto();
const temp = useTempDirs();
const TABLE = 'certrotor-scan-problems-test';
const BUS = 'certrotor-scan-problems-test-bus';

let output: CapturedOutput;

beforeAll(async () => {
  output = captureOutput();
  await createTable(TABLE);
  await busWithSink(BUS);
});

afterAll(() => output?.restore());

/** The ScanProblems values of the EMF documents written while `run` ran, with their dimensions. */
async function scanProblemsDuring(run: () => Promise<unknown>): Promise<unknown[]> {
  const before = output.records().length;
  await run().catch(() => undefined);
  return output
    .records()
    .slice(before)
    .filter((r) => '_aws' in r && 'ScanProblems' in r)
    .map((r) => ({ value: r.ScanProblems, service: r.service }));
}

async function configFile(config: Record<string, unknown>): Promise<string> {
  return writeConfig(await temp.make('scan-problems'), {
    version: 1,
    environments: [{ name: 'prod' }],
    ...config,
  });
}

const NOTHING_LISTENS = { host: '127.0.0.1', port: 1 }; // no parallel suite can take port 1

describe('the ScanProblems metric', () => {
  it('is emitted by the probe for an endpoint it could not probe, and not by a probe without problems', async () => {
    const failing = await loadHandler<ProbeModule>('probe', {
      configFile: await configFile({
        endpoints: [{ name: 'down', environment: 'prod', ...NOTHING_LISTENS }],
        probe: { timeout: '2s' },
      }),
      table: TABLE,
      bus: BUS,
    });
    const healthy = await loadHandler<ProbeModule>('probe', {
      configFile: await configFile({ endpoints: [] }),
      table: TABLE,
      bus: BUS,
    });

    expect(await scanProblemsDuring(() => failing.handler())).toEqual([{ value: 1, service: 'certrotor' }]);
    expect(await scanProblemsDuring(() => healthy.handler())).toEqual([]);
  });

  it('is emitted by the upstream watch for an upstream it could not check', async () => {
    const watch = await loadHandler<UpstreamWatchModule>('upstream-watch', {
      configFile: await configFile({
        upstreams: [{ name: 'payments', endpoints: [{ ...NOTHING_LISTENS, environment: 'prod' }] }],
      }),
      table: TABLE,
      bus: BUS,
    });

    expect(await scanProblemsDuring(() => watch.handler({} as never))).toEqual([
      { value: expect.any(Number), service: 'certrotor' },
    ]);
  });

  it('is emitted by the planner for a rotation it could not start', async () => {
    const CA_ARN = `arn:aws:acm-pca:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:certificate-authority/11111111-2222-3333-4444-555555555555`;
    const planner = await loadHandler<PlannerModule>('planner', {
      configFile: await configFile({
        issuers: [{ name: 'private-ca', kind: 'acm-pca', certificateAuthorityArn: CA_ARN }],
        certificates: [
          {
            name: 'initial',
            commonName: 'initial.example.com',
            dnsNames: ['initial.example.com'],
            issuer: 'private-ca',
          },
        ],
      }),
      table: TABLE,
      bus: BUS,
      stateMachineArn: `arn:aws:states:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:stateMachine:certrotor-does-not-exist`,
    });

    expect(await scanProblemsDuring(() => planner.handler())).toEqual([{ value: 1, service: 'certrotor' }]);
  });
});
