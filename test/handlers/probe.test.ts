/**
 * The scheduled probe Lambda: fresh TLS handshakes to real servers on loopback, findings recorded in
 * the state table (moto) and published to the certrotor bus (moto, routed to a queue read back here).
 */
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Server, createServer } from 'node:tls';
import { COLLECTIONS } from '../../lambda/use-cases/certificate-state';
import { type BuiltCertificate, buildCa, buildCertificate } from '../builders/certificates';
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
const TABLE = 'certrotor-probe-test';

let output: CapturedOutput;
let sink: BusSink;
let probe: ProbeModule['handler'];
const servers: Server[] = [];
const ports: Record<'healthy' | 'soon' | 'wrongName' | 'down', number> = {} as never;
let soon: BuiltCertificate;
let firstRun: Awaited<ReturnType<ProbeModule['handler']>>;
let events: ReceivedEvent[];

/** A TLS server on loopback presenting `certificate` (and its chain) to every client. */
async function serve(certificate: BuiltCertificate): Promise<number> {
  const server = createServer({
    cert: certificate.certificatePem + certificate.chainPem,
    key: certificate.privateKey.reveal(),
  });
  server.on('secureConnection', (socket) => socket.end());
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return (server.address() as { port: number }).port;
}

const hex = (c: BuiltCertificate) => new X509Certificate(c.certificatePem).fingerprint256.replace(/:/g, '');

function endpoint(name: string, port: number, caFile: string, servername = 'api.test') {
  return { name, environment: 'prod', host: '127.0.0.1', port, servername, caFile };
}

beforeAll(async () => {
  output = captureOutput();
  const ca = await buildCa();
  soon = await buildCertificate({ dnsNames: ['api.test'], daysLeft: 5, lifetimeDays: 365, issuer: ca });
  ports.healthy = await serve(await buildCertificate({ dnsNames: ['api.test'], daysLeft: 80, issuer: ca }));
  ports.soon = await serve(soon);
  ports.wrongName = await serve(
    await buildCertificate({ dnsNames: ['other.test'], daysLeft: 80, issuer: ca }),
  );
  ports.down = 1; // nothing listens on port 1, and no parallel suite can take it

  const directory = await temp.make('probe');
  const caFile = join(directory, 'ca.pem');
  await writeFile(caFile, ca.certificatePem);
  await createTable(TABLE);
  sink = await busWithSink('certrotor-probe-test-bus');
  const configFile = await writeConfig(directory, {
    version: 1,
    environments: [{ name: 'prod' }],
    endpoints: [
      endpoint('healthy', ports.healthy, caFile),
      endpoint('soon', ports.soon, caFile),
      endpoint('wrong-name', ports.wrongName, caFile),
      endpoint('down', ports.down, caFile),
      endpoint('lost-ca', ports.healthy, join(directory, 'deleted-ca.pem')),
    ],
    probe: { timeout: '2s' },
  });
  ({ handler: probe } = await loadHandler<ProbeModule>('probe', { configFile, table: TABLE, bus: sink.bus }));
  firstRun = await probe();
  events = await sink.drain();
});

afterAll(async () => {
  output?.restore();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('the probe handler', () => {
  it('probes every endpoint although one is down and another has unreadable trust anchors, naming both', () => {
    expect(firstRun.observations).toBe(4);
    expect(firstRun.failures.map((f) => f.what).sort()).toEqual([
      'endpoint down (127.0.0.1)',
      'endpoint lost-ca',
    ]);
    expect(firstRun.failures.find((f) => f.what === 'endpoint lost-ca')?.error).toMatch(
      /reading caFile .*deleted-ca\.pem/,
    );
  });

  it('publishes Certificate Expiring for the endpoint whose certificate crossed a threshold', () => {
    const expiring = events.filter((e) => e['detail-type'] === 'Certificate Expiring');

    expect(expiring).toHaveLength(1);
    expect(expiring[0]!.detail).toMatchObject({
      dedupeKey: `expiry:${hex(soon)}:7d`,
      threshold: 7,
      environments: ['prod'],
      locations: [expect.objectContaining({ environment: 'prod', location: `127.0.0.1:${ports.soon}` })],
    });
  });

  it('publishes Endpoint Problem Detected for the hostname mismatch and for the endpoint that is down', () => {
    const problems = events
      .filter((e) => e['detail-type'] === 'Endpoint Problem Detected')
      .map((e) => e.detail as { endpoint: { port: number }; problems: { kind: string }[] });

    expect(problems.map((p) => [p.endpoint.port, p.problems.map((x) => x.kind)]).sort()).toEqual(
      [
        [ports.wrongName, ['hostname-mismatch']],
        [ports.down, [expect.any(String)]],
      ].sort(),
    );
    expect(events.map((e) => JSON.stringify(e.detail)).join('\n')).not.toContain(`${ports.healthy}`);
  });

  it('records what each endpoint served in the state table', async () => {
    const observations = await stateStore(TABLE).list<{ ok: boolean; fingerprintSha256?: string }>(
      COLLECTIONS.observations,
      new Date(),
    );

    const byId = Object.fromEntries(observations.map((o) => [o.id, o.value]));
    expect(byId[`prod|127.0.0.1:${ports.soon}`]).toMatchObject({
      ok: true,
      fingerprintSha256: new X509Certificate(soon.certificatePem).fingerprint256,
    });
    expect(byId[`prod|127.0.0.1:${ports.down}`]).toMatchObject({ ok: false });
    expect(Object.keys(byId)).toHaveLength(4);
  });

  it('publishes nothing new on the next run, while still reporting the failures', async () => {
    const again = await probe();

    expect(again).toMatchObject({ observations: 4, newFindings: 0 });
    expect(again.failures).toHaveLength(2);
    expect(await sink.drain()).toEqual([]);
  });

  it('emits one heartbeat per completed run for the dead man switch alarm', () => {
    const heartbeats = output
      .records()
      .filter((r) => '_aws' in r && 'ProbeHeartbeat' in r)
      .map((r) => r.ProbeHeartbeat);

    expect(heartbeats).toEqual([1, 1]);
  });

  it('logs each failure and no key material', () => {
    const problems = output.records().filter((r) => r.message === 'scan problem');

    expect(problems.map((r) => r.what)).toEqual(
      expect.arrayContaining(['endpoint down (127.0.0.1)', 'endpoint lost-ca']),
    );
    expect(output.text()).not.toMatch(/PRIVATE KEY/);
    expect(JSON.stringify(events)).not.toMatch(/PRIVATE KEY|-----BEGIN/);
  });
});
