/**
 * A network placement's probe that stops: the real probe handler (the default one, outside any VPC,
 * and placement Edge's) against moto. Each placement's probe records its own run, and every scheduled
 * job's Scan Missed check watches each placement (CERTROTOR_PROBE_PLACEMENTS, set by the construct),
 * so a stopped placement probe is a Scan Missed event naming the placement and its environments — in
 * Slack, not only as its CloudWatch alarm.
 */
import { HEARTBEATS_COLLECTION } from '../../lambda/use-cases/job-heartbeats';
import { buildSlackMessage } from '../../lambda/domain/notifications/event-message';
import { parseEvent } from '../../lambda/domain/events';
import { useMoto } from '../support/moto';
import { useTempDirs } from '../support/temp-dir';
import {
  type BusSink,
  type CapturedOutput,
  type ReceivedEvent,
  busWithSink,
  captureOutput,
  createTable,
  loadHandler,
  stateStore,
  writeConfig,
} from './support/handler-harness';

type ProbeModule = typeof import('../../lambda/handlers/probe');

useMoto();
const temp = useTempDirs();
const TABLE = 'certrotor-placement-scan-missed-test';
const HOUR = 3_600_000;
const VARIABLES = ['CERTROTOR_PROBE_ENVIRONMENTS', 'CERTROTOR_PROBE_PLACEMENT', 'CERTROTOR_PROBE_PLACEMENTS'];

let output: CapturedOutput;
let sink: BusSink;
let configFile: string;

/** The probe handler as the construct deploys it: outside any VPC, or in `placement`. */
async function probeFunction(placement?: string): Promise<ProbeModule['handler']> {
  process.env.CERTROTOR_PROBE_PLACEMENTS = JSON.stringify([{ name: 'Edge', environments: ['edge'] }]);
  process.env.CERTROTOR_PROBE_ENVIRONMENTS = JSON.stringify(placement === undefined ? ['prod'] : ['edge']);
  if (placement === undefined) delete process.env.CERTROTOR_PROBE_PLACEMENT;
  else process.env.CERTROTOR_PROBE_PLACEMENT = placement;
  return (await loadHandler<ProbeModule>('probe', { configFile, table: TABLE, bus: sink.bus })).handler;
}

const scanMissed = (events: ReceivedEvent[]) => events.filter((e) => e['detail-type'] === 'Scan Missed');

beforeAll(async () => {
  output = captureOutput();
  await createTable(TABLE);
  sink = await busWithSink('certrotor-placement-scan-missed-bus');
  configFile = await writeConfig(await temp.make('placement-scan-missed'), {
    version: 1,
    environments: [{ name: 'prod' }, { name: 'edge' }],
    endpoints: [],
    notifications: { channels: [] },
  });
});

afterAll(() => {
  output?.restore();
  for (const name of VARIABLES) delete process.env[name];
});

describe("a network placement's probe that stopped", () => {
  it('is a Scan Missed event naming the placement and its environments, published once by the default probe', async () => {
    // Prepare: placement Edge's probe last completed three hours ago (the probe runs hourly)
    const lastRunAt = new Date(Date.now() - 3 * HOUR).toISOString();
    await stateStore(TABLE).put(
      HEARTBEATS_COLLECTION,
      'probe@Edge',
      { watchedSince: lastRunAt, lastRunAt },
      new Date(),
    );
    const probe = await probeFunction();
    await sink.drain();

    // Act
    await probe();
    const first = scanMissed(await sink.drain());
    await probe();
    const second = scanMissed(await sink.drain());

    // Assess
    expect(first).toHaveLength(1);
    expect(first[0]!.detail).toMatchObject({
      schedule: 'probe',
      placement: 'Edge',
      environments: ['edge'],
      severity: 'error',
      lastRunAt,
      dedupeKey: expect.stringMatching(/^scan-missed:probe@Edge:\d{4}-\d\d-\d\dT/),
      summary: expect.stringMatching(/^probe \(placement Edge\) has not completed since /),
    });
    expect(second).toEqual([]);
    expect(output.text()).toMatch(/"ScansMissed":1\b/);
    // What Slack shows: the placement is named in the title.
    const event = parseEvent(first[0]);
    expect(JSON.stringify(buildSlackMessage(event, { now: new Date() }))).toContain(
      'Scheduled probe job of placement Edge did not run',
    );
  });

  it('records its own run when it runs again, so the default probe reports no miss for it', async () => {
    // Prepare
    const edge = await probeFunction('Edge');

    // Act
    await edge();
    const record = await stateStore(TABLE).get<{ lastRunAt?: string }>(
      HEARTBEATS_COLLECTION,
      'probe@Edge',
      new Date(),
    );
    const probe = await probeFunction();
    await probe();

    // Assess
    expect(Date.parse(record!.value.lastRunAt!)).toBeGreaterThan(Date.now() - HOUR);
    expect(scanMissed(await sink.drain())).toEqual([]);
  });
});
