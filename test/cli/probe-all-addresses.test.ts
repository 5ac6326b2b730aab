/**
 * `probe.allAddresses` reaches the prober: a name behind two loopback addresses is probed at both by
 * default, and at its first address only when the configuration says `allAddresses: false`, for
 * the local scan (endpoint and host targets) and the deployed probe job alike.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { NodeTlsProber } from '../../lambda/adapters/net/tls-prober';
import { endpointTargets } from '../../lambda/cli/local-runtime';
import { type CertrotorConfig, validateConfig } from '../../lambda/config/configuration';
import type { ProbeRequest } from '../../lambda/domain/ports';
import { probeTargets } from '../../lambda/handlers/support/scan-job';
import { type EndpointTarget, gatherObservations } from '../../lambda/use-cases/scan';
import { type BuiltCertificate, buildCertificate } from '../builders/certificates';
import { buildConfig } from '../builders/config';

const servers: net.Server[] = [];
let port: number;
let leaf: BuiltCertificate;

function listen(host: string, at = 0): Promise<number> {
  const server = tls.createServer({
    key: leaf.privateKey.reveal(),
    cert: leaf.certificatePem + leaf.chainPem,
  });
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

beforeAll(async () => {
  leaf = await buildCertificate({ dnsNames: ['api.example.test'] });
  // The same port on two loopback addresses: one name, two servers behind it.
  port = await listen('127.0.0.1');
  await listen('127.0.0.2', port);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
});

function config(allAddresses?: boolean): CertrotorConfig {
  return validateConfig(
    buildConfig((c) => {
      c.endpoints[0].host = 'api.example.test';
      c.endpoints[0].port = port;
      c.hosts[0].endpoint = { host: 'web.example.test', port };
      if (allAddresses !== undefined) c.probe = { allAddresses };
    }),
    'test',
  );
}

/** Both names resolve to both loopback addresses. */
const prober = new NodeTlsProber({
  lookup: async () => [
    { address: '127.0.0.1', family: 4 },
    { address: '127.0.0.2', family: 4 },
  ],
});

async function probedAddresses(targets: readonly EndpointTarget[]): Promise<string[]> {
  const { observations } = await gatherObservations(
    { sources: [], prober, clock: () => new Date() },
    targets,
  );
  return observations
    .map((o) => (o.kind === 'endpoint' ? `${o.endpoint.name} ${o.result.address} ${o.result.ok}` : ''))
    .sort();
}

describe('probe.allAddresses', () => {
  it('probes every address behind each name by default', async () => {
    // Act
    const probed = await probedAddresses(endpointTargets(config()));

    // Assess
    expect(probed).toEqual([
      'api-staging 127.0.0.1 true',
      'api-staging 127.0.0.2 true',
      'web-1 127.0.0.1 true',
      'web-1 127.0.0.2 true',
    ]);
  });

  it('probes only the first address of each name when false', async () => {
    // Act
    const probed = await probedAddresses(endpointTargets(config(false)));

    // Assess
    expect(probed).toEqual(['api-staging 127.0.0.1 true', 'web-1 127.0.0.1 true']);
  });

  it.each([
    ['The local scan leaves the prober default when true', () => endpointTargets(config(true)), undefined],
    ['The local scan asks for one address when false', () => endpointTargets(config(false)), false],
    [
      'The probe job leaves the prober default when true',
      () => probeTargets(config(true)).endpoints,
      undefined,
    ],
    ['The probe job asks for one address when false', () => probeTargets(config(false)).endpoints, false],
  ])('%s', (_case, targets, expected) => {
    const all = targets();

    expect(all.length).toBeGreaterThan(0);
    expect(all.map((t) => t.allAddresses)).toEqual(all.map(() => expected));
  });

  it.each([
    ['An endpoint saying false asks the prober for one address', false, { allAddresses: false }],
    ['An endpoint saying true asks for every address', true, { allAddresses: true }],
    ['An endpoint saying nothing leaves the prober default', undefined, {}],
  ])('%s', async (_case, allAddresses, expected) => {
    const requests: ProbeRequest[] = [];
    const recording = { probe: async (r: ProbeRequest) => (requests.push(r), []) };
    const target: EndpointTarget = {
      name: 'api',
      environment: 'prod',
      host: 'api.example.test',
      port: 443,
      ...(allAddresses !== undefined ? { allAddresses } : {}),
    };

    await gatherObservations({ sources: [], prober: recording, clock: () => new Date() }, [target]);

    expect(requests).toEqual([{ host: 'api.example.test', port: 443, ...expected }]);
  });
});
