import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfigFile } from '../../lambda/adapters/local/config-file';
import { buildAwsRuntime } from '../../lambda/cli/aws-runtime';
import { buildLocalRuntime } from '../../lambda/cli/local-runtime';
import { type CertrotorConfig, validateConfig } from '../../lambda/config/configuration';
import { certificateSpec, certificateSpecs, renewalPolicies } from '../../lambda/config/views/certificates';
import { endpointTargets } from '../../lambda/config/views/endpoints';
import { plannedCertificates } from '../../lambda/config/views/planner';
import { scanSettings } from '../../lambda/config/views/scan';
import { loadConfiguration, parseEnvironment, workflowSpec } from '../../lambda/handlers/support/runtime';
import { buildConfig, type RawConfig } from '../builders/config';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const clock = () => new Date('2030-01-01T00:00:00Z');
const EXAMPLES = join(__dirname, '..', '..', 'config');

function config(edit: (c: RawConfig) => void = () => {}): CertrotorConfig {
  return validateConfig(buildConfig(edit), 'test');
}

/** The CLI's reading (YAML, relative paths resolved) and the Lambda's (the bundled JSON document) of one file. */
async function bothReadings(example: string): Promise<{ cli: CertrotorConfig; lambda: CertrotorConfig }> {
  const dir = await temp.make('views');
  const yamlFile = join(dir, 'certrotor.yaml');
  const text = (await readFile(join(EXAMPLES, example), 'utf8')).replace(
    /\.\.\/\.certrotor/g,
    join(dir, 'state'),
  );
  writeFileSync(yamlFile, text);
  const jsonFile = join(dir, 'certrotor-config.json');
  writeFileSync(jsonFile, JSON.stringify(parse(text)));
  const env = parseEnvironment({
    CERTROTOR_TABLE_NAME: 'table',
    CERTROTOR_EVENT_BUS_NAME: 'bus',
    CERTROTOR_CONFIG_FILE: jsonFile,
  });
  return { cli: await loadConfigFile(yamlFile), lambda: await loadConfiguration(env) };
}

describe('certificate specs: the CLI and the Lambdas get the same spec from the same file', () => {
  it('gives the local CLI and the rotation step identical specs for every certificate of the local example', async () => {
    // Prepare
    const { cli, lambda } = await bothReadings('certrotor.local.example.yaml');

    // Act
    const fromCli = buildLocalRuntime(cli, { clock }).specs;
    const fromLambda = fromCli.map((s) => workflowSpec(lambda, s.name));

    // Assess
    expect(fromCli.map((s) => s.name)).toEqual(['web-staging', 'app-staging']);
    expect(fromCli).toEqual(fromLambda);
  });

  it('gives the CLI with --backend aws and the rotation step identical specs for every certificate of the deployed example', async () => {
    // Prepare
    const { cli, lambda } = await bothReadings('certrotor.example.yaml');

    // Act
    const runtime = await buildAwsRuntime(cli, {
      clock,
      env: {},
      flags: { region: 'eu-west-1', table: 'certrotor-state', endpointUrl: 'http://127.0.0.1:9' },
    });
    const fromLambda = runtime.specs.map((s) => workflowSpec(lambda, s.name));

    // Assess
    expect(runtime.specs.map((s) => s.name)).toEqual(['api-public', 'internal-grpc']);
    expect(runtime.specs).toEqual(fromLambda);
  });
});

describe('certificate specs', () => {
  const agentFleet = (c: RawConfig) => {
    c.hosts.push({ name: 'web-2', environment: 'prod', endpoint: { port: 443 }, tags: { role: 'web' } });
    c.hosts.push({ name: 'web-3', environment: 'prod', tags: { role: 'web' } });
    c.fleets.push({ name: 'prod-web', selector: { environment: 'prod', tags: { role: 'web' } } });
    c.destinations.push({
      name: 'agents',
      kind: 'agent',
      environment: 'prod',
      fleet: 'prod-web',
      directory: '/tls',
    });
    c.certificates[0].destinations = ['web-files', 'agents'];
  };

  it.each<[string, (c: RawConfig) => void, (spec: ReturnType<typeof certificateSpec>) => unknown, unknown]>([
    ['an explicit common name is kept', () => {}, (s) => s.commonName, 'api.example.com'],
    [
      'without a common name, the first DNS name names the certificate',
      (c) => delete c.certificates[0].commonName,
      (s) => s.commonName,
      'api.example.com',
    ],
    [
      'an IP-only certificate is named by its address, not by its configuration label',
      (c) => {
        delete c.certificates[0].commonName;
        c.certificates[0].dnsNames = [];
        c.certificates[0].ipAddresses = ['10.0.0.7'];
      },
      (s) => s.commonName,
      '10.0.0.7',
    ],
    [
      "a files destination's host is verified by its own endpoint, as that target",
      () => {},
      (s) => s.verify.filter((v) => v.target !== undefined),
      [{ environment: 'staging', host: '127.0.0.1', port: 8443, target: 'web-1' }],
    ],
    [
      'each agent host with an endpoint is verified by it; a host without one is not',
      agentFleet,
      (s) => s.verify.filter((v) => v.target !== undefined).map((v) => `${v.target}@${v.host}:${v.port}`),
      ['web-1@127.0.0.1:8443', 'web-2@web-2:443'],
    ],
    [
      "a certificate's endpoints are verified for any target of their environment",
      () => {},
      (s) => s.verify.filter((v) => v.target === undefined),
      [{ environment: 'staging', host: '127.0.0.1', port: 8443 }],
    ],
    [
      'the environments are those of its destinations, hosts and endpoints',
      agentFleet,
      (s) => [...s.environments].sort(),
      ['prod', 'staging'],
    ],
    [
      'a certificate placed nowhere belongs to the first environment',
      (c) => {
        c.certificates[0].destinations = [];
        c.certificates[0].endpoints = [];
        c.upstreams[0].consumers.destinations = [];
      },
      (s) => s.environments,
      ['prod'],
    ],
    [
      'each destination carries its environment',
      agentFleet,
      (s) => [...s.destinationEnvironments],
      [
        ['web-files', 'staging'],
        ['agents', 'prod'],
      ],
    ],
    [
      'the rollout settings reach the spec',
      (c) => (c.certificates[0].rollout = { canary: 2, batchSize: 3, failureTolerance: 1 }),
      (s) => s.rollout,
      { canary: 2, batchSize: 3, failureTolerance: 1 },
    ],
    [
      'verification rounds come from rollout.verifyTimeout and verifyInterval, each probe bounded by probe.timeout',
      (c) => {
        c.certificates[0].rollout = { verifyTimeout: '1m', verifyInterval: '15s' };
        c.probe = { timeout: '3s' };
      },
      (s) => [s.verifyPolicy, s.verifyTimeoutMs, s.verifyIntervalMs],
      [{ attempts: 4, intervalMs: 15_000, timeoutMs: 3_000 }, 60_000, 15_000],
    ],
    [
      'the validity is in whole days, at least one',
      (c) => (c.certificates[0].validity = '12h'),
      (s) => s.validityDays,
      1,
    ],
  ])('%s', (_name, edit, pick, expected) => {
    // Act
    const spec = certificateSpec(config(edit), 'api');

    // Assess
    expect(pick(spec)).toEqual(expected);
  });

  it('gives the issuer trust anchors to every endpoint that verifies its certificates', () => {
    // Act
    const spec = certificateSpec(config(), 'api', {
      trustFor: (issuer) => (issuer === 'local' ? ['CA PEM'] : undefined),
    });

    // Assess
    expect(spec.verify.map((v) => v.caPem)).toEqual([['CA PEM'], ['CA PEM']]);
  });

  it('leaves certificates of an external issuer to the upstream watcher', () => {
    // Act
    const names = certificateSpecs(config()).map((s) => s.name);

    // Assess
    expect(names).toEqual(['api']);
  });

  it('names a certificate the configuration does not have', () => {
    // Act
    const lookup = () => certificateSpec(config(), 'nope');

    // Assess
    expect(lookup).toThrow('certificates: no certificate named nope');
  });
});

describe('the planner view', () => {
  it('gives the planner the environments and renewal policy the scan judges every certificate of the deployed example by', async () => {
    // Prepare
    const { lambda } = await bothReadings('certrotor.example.yaml');
    const settings = scanSettings(lambda);

    // Act
    const planned = plannedCertificates(lambda).filter((p) => p.notDeployable === undefined);

    // Assess
    expect(planned.map((p) => p.name)).toEqual(['api-public', 'internal-grpc']);
    for (const p of planned) {
      expect([p.environments, p.renewal]).toEqual([
        certificateSpec(lambda, p.name).environments,
        settings.renewal.get(p.name),
      ]);
    }
  });

  it.each<[string, string, string | undefined]>([
    ['a certificate of an ACM PCA issuer is rotated by the deployed workflow', 'pca', undefined],
    [
      'a certificate of a local CA is left to the CLI',
      'local',
      'issuer local is not issued from the deployed service',
    ],
    [
      'a vendor-supplied certificate is left to the upstream watcher',
      'vendor',
      'issuer vendor is not issued from the deployed service',
    ],
  ])('%s', (_name, issuer, notDeployable) => {
    // Prepare
    const cfg = config((c) => {
      c.issuers.push({
        name: 'pca',
        kind: 'acm-pca',
        certificateAuthorityArn:
          'arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/0a1b2c3d-1111-2222-3333-444455556666',
      });
      c.certificates[0].issuer = issuer;
    });

    // Act
    const planned = plannedCertificates(cfg).find((p) => p.name === 'api');

    // Assess
    expect(planned?.notDeployable).toEqual(notDeployable);
  });
});

describe('renewal policies and scan settings', () => {
  it.each<[string, RawConfig['renewal'], unknown]>([
    ['the default renews at one third of the lifetime, without jitter', undefined, { jitterPercentage: 0 }],
    [
      'renewBefore is carried in milliseconds',
      { renewBefore: '2d' },
      { renewBefore: 172_800_000, jitterPercentage: 0 },
    ],
    [
      'a percentage and jitter are carried as set',
      { renewBeforePercentage: 33, jitterPercentage: 10 },
      { renewBeforePercentage: 33, jitterPercentage: 10 },
    ],
  ])('%s', (_name, renewal, expected) => {
    // Act
    const policies = renewalPolicies(config((c) => (c.certificates[0].renewal = renewal)));

    // Assess
    expect(policies.get('api')).toEqual(expected);
  });

  it('gives the scan the thresholds, concurrency, observation lifetime, the hosts whose agents must report and the upstreams’ client certificates', () => {
    // Prepare
    const cfg = config((c) => {
      c.destinations.push({ name: 'agents', kind: 'agent', hosts: ['web-1'], directory: '/tls' });
      c.certificates[0].destinations = ['agents'];
      c.probe = { concurrency: 7 };
      c.notifications.thresholds = [10, 'expired'];
      c.upstreams[0].consumers.destinations = [];
    });

    // Act
    const settings = scanSettings(cfg);

    // Assess
    expect({ ...settings, renewal: [...settings.renewal.keys()] }).toEqual({
      renewal: ['api', 'vendor-client'],
      thresholds: [10, 'expired'],
      concurrency: 7,
      observationTtlMs: 30 * 86_400_000,
      expectedHosts: [expect.objectContaining({ host: 'web-1', certificate: 'api', environment: 'staging' })],
      thresholdScaling: 'lifetime',
      identity: 'name',
      clientCertificateUses: [{ upstream: 'payments', certificate: 'vendor-client', environments: ['prod'] }],
    });
  });
});

describe('endpoint targets', () => {
  const readCaFile = (path: string) => [`PEM of ${path}`];

  it.each<[string, boolean | undefined, string[]]>([
    [
      'the CLI probes configured endpoints and the endpoints hosts serve',
      undefined,
      ['api-staging', 'web-2'],
    ],
    ['the probe job probes configured endpoints only', false, ['api-staging']],
  ])('%s', (_name, hostEndpoints, expected) => {
    // Prepare
    const cfg = config((c) =>
      c.hosts.push({ name: 'web-2', environment: 'staging', endpoint: { host: '127.0.0.2', port: 443 } }),
    );

    // Act
    const targets = endpointTargets(cfg, {
      readCaFile,
      ...(hostEndpoints !== undefined ? { hostEndpoints } : {}),
    });

    // Assess
    expect(targets.endpoints.map((t) => t.name)).toEqual(expected);
  });

  it("probes a host serving the same address as a configured endpoint once, expecting the endpoint's certificate", () => {
    // Act
    const targets = endpointTargets(config(), { readCaFile });

    // Assess
    expect(targets.endpoints).toEqual([
      {
        name: 'api-staging',
        environment: 'staging',
        host: '127.0.0.1',
        port: 8443,
        expects: 'api',
        timeoutMs: 5000,
      },
    ]);
  });

  it('leaves out an endpoint whose caFile cannot be read and names it, probing the others', () => {
    // Prepare
    const cfg = config((c) => {
      c.endpoints[0].caFile = '/missing/ca.pem';
      c.endpoints.push({
        name: 'other',
        environment: 'prod',
        host: 'other.example.com',
        caFile: '/ok/ca.pem',
      });
    });

    // Act
    const targets = endpointTargets(cfg, {
      hostEndpoints: false,
      readCaFile: (path) => {
        if (path.startsWith('/missing')) throw new Error('ENOENT: no such file');
        return readCaFile(path);
      },
    });

    // Assess
    expect(targets.failures).toEqual([
      { what: 'endpoint api-staging', error: 'reading caFile /missing/ca.pem: ENOENT: no such file' },
    ]);
    expect(targets.endpoints.map((t) => [t.name, t.caPem])).toEqual([['other', ['PEM of /ok/ca.pem']]]);
  });

  it('asks for one address per name only when probe.allAddresses is false', () => {
    // Act
    const targets = endpointTargets(
      config((c) => (c.probe = { allAddresses: false })),
      { readCaFile },
    );

    // Assess
    expect(targets.endpoints.map((t) => t.allAddresses)).toEqual([false]);
  });
});
