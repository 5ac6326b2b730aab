import { type Backend, checkConfig, kindsRunBy } from '../../lambda/config/configuration';
import { DESTINATION_KINDS, ISSUER_KINDS, SOURCE_KINDS } from '../../lambda/config/backends';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildConfig, type RawConfig } from '../builders/config';

/** A configuration valid for both backends (external issuer, agent destination), then `edit`. */
function portable(edit: (c: RawConfig) => void = () => {}): RawConfig {
  return buildConfig((c) => {
    c.issuers = [{ name: 'vendor', kind: 'external' }];
    c.destinations = [
      { name: 'web-agents', kind: 'agent', environment: 'staging', hosts: ['web-1'], directory: '/etc/tls' },
    ];
    c.certificates = [
      { name: 'vendor-client', commonName: 'client.example.com', usage: 'client', issuer: 'vendor' },
    ];
    c.endpoints = [{ name: 'api-staging', environment: 'staging', host: '127.0.0.1', port: 8443 }];
    c.upstreams[0].consumers.destinations = ['web-agents'];
    edit(c);
  });
}

const PCA =
  'arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/0a1b2c3d-1111-2222-3333-444455556666';
const ACM_CERT = 'arn:aws:acm:eu-west-1:111111111111:certificate/9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff';

describe('the kinds each backend runs', () => {
  it('accepts a configuration of kinds both backends run, for either backend', () => {
    // Act
    const local = checkConfig(portable(), { backend: 'local' });
    const aws = checkConfig(portable(), { backend: 'aws' });

    // Assess
    expect([local.problems, aws.problems]).toEqual([[], []]);
  });

  it.each<[string, Backend, (c: RawConfig) => void, string]>([
    [
      'a local CA cannot issue in the deployed service',
      'aws',
      (c) => c.issuers.push({ name: 'local', kind: 'local-ca' }),
      'issuers[1].kind: "local-ca" cannot run in the deployed service (aws backend); use acm-pca',
    ],
    [
      'an ACM PCA issuer cannot issue on the local backend',
      'local',
      (c) => c.issuers.push({ name: 'pca', kind: 'acm-pca', certificateAuthorityArn: PCA }),
      'issuers[1].kind: "acm-pca" cannot run in the local backend (the CLI without --backend aws); use local-ca, or run the CLI with --backend aws',
    ],
    [
      'a files destination cannot be written by the deployed service',
      'aws',
      (c) => c.destinations.push({ name: 'files', kind: 'files', directory: '/etc/tls' }),
      'destinations[1].kind: "files" cannot run in the deployed service (aws backend); use agent (hosts pull their certificates) or ssm',
    ],
    [
      'an ACM destination needs the aws backend',
      'local',
      (c) => c.destinations.push({ name: 'lb', kind: 'acm', certificateArn: ACM_CERT }),
      'destinations[1].kind: "acm" cannot run in the local backend (the CLI without --backend aws); use files or agent, or run the CLI with --backend aws',
    ],
    [
      'a Secrets Manager destination needs the aws backend',
      'local',
      (c) => c.destinations.push({ name: 'secret', kind: 'secrets-manager', secretId: 'certrotor/api' }),
      'destinations[1].kind: "secrets-manager" cannot run in the local backend (the CLI without --backend aws); use files or agent, or run the CLI with --backend aws',
    ],
    [
      'an SSM destination needs the aws backend',
      'local',
      (c) =>
        c.destinations.push({
          name: 'workers',
          kind: 'ssm',
          directory: '/etc/tls',
          targets: { tags: { role: 'worker' } },
        }),
      'destinations[1].kind: "ssm" cannot run in the local backend (the CLI without --backend aws); use agent, or run the CLI with --backend aws',
    ],
    [
      'a files source cannot be read by the deployed service',
      'aws',
      (c) =>
        (c.sources = [{ name: 'pems', kind: 'files', environment: 'staging', paths: ['/etc/ssl/a.pem'] }]),
      'sources[0].kind: "files" cannot run in the deployed service (aws backend); use an endpoint to probe, or a secrets-manager source',
    ],
    [
      'an ACM source needs the aws backend',
      'local',
      (c) => (c.sources = [{ name: 'acm', kind: 'acm', environment: 'prod' }]),
      'sources[0].kind: "acm" cannot run in the local backend (the CLI without --backend aws); run the CLI with --backend aws',
    ],
    [
      'a Secrets Manager source needs the aws backend',
      'local',
      (c) => (c.sources = [{ name: 'tagged', kind: 'secrets-manager', environment: 'prod' }]),
      'sources[0].kind: "secrets-manager" cannot run in the local backend (the CLI without --backend aws); run the CLI with --backend aws',
    ],
  ])('%s', (_name, backend, edit, problem) => {
    // Act
    const check = checkConfig(portable(edit), { backend });

    // Assess
    expect(check.problems).toEqual([problem]);
  });

  it('reports every kind the backend cannot run at once, in file order, with the other problems', () => {
    // Prepare
    const raw = portable((c) => {
      c.sources = [{ name: 'pems', kind: 'files', environment: 'staging', paths: ['/a.pem'] }];
      c.issuers.push({ name: 'local', kind: 'local-ca' });
      c.destinations.push({ name: 'files', kind: 'files', directory: '/etc/tls' });
      c.endpoints[0].port = 70000;
    });

    // Act
    const check = checkConfig(raw, { backend: 'aws' });

    // Assess
    // (`sources` comes last in this document: the builder's document has none until the edit adds it)
    expect(check.problems).toEqual([
      'issuers[1].kind: "local-ca" cannot run in the deployed service (aws backend); use acm-pca',
      'destinations[1].kind: "files" cannot run in the deployed service (aws backend); use agent (hosts pull their certificates) or ssm',
      'endpoints[0].port: must be 1-65535',
      'sources[0].kind: "files" cannot run in the deployed service (aws backend); use an endpoint to probe, or a secrets-manager source',
    ]);
  });

  it('checks no kinds when no backend is named (structure and references only)', () => {
    // Act
    const check = checkConfig(portable((c) => c.issuers.push({ name: 'local', kind: 'local-ca' })));

    // Assess
    expect(check.problems).toEqual([]);
  });

  it.each<Backend>(['local', 'aws'])(
    'accepts an issuer of kind acm (ACM exportable certificates) on the %s backend, and refuses one without its validation zone',
    (backend) => {
      // Act
      const accepted = checkConfig(
        portable((c) =>
          c.issuers.push({
            name: 'public',
            kind: 'acm',
            validation: { route53: { hostedZoneId: 'Z0123456789ABC' } },
          }),
        ),
        { backend },
      );
      const refused = checkConfig(
        portable((c) => c.issuers.push({ name: 'public', kind: 'acm' })),
        { backend },
      );

      // Assess
      expect(accepted.problems).toEqual([]);
      expect(refused.problems).toHaveLength(1);
      expect(refused.problems[0]).toMatch(/^issuers\[1\]\.validation: /);
    },
  );

  it.each([
    [
      'issuers',
      ISSUER_KINDS,
      {
        local: ['local-ca', 'acme', 'acm', 'external'],
        aws: ['acm-pca', 'acme', 'acm', 'external'],
      },
    ],
    [
      'destinations',
      DESTINATION_KINDS,
      { local: ['files', 'agent'], aws: ['acm', 'secrets-manager', 'ssm', 'agent'] },
    ],
    ['sources', SOURCE_KINDS, { local: ['files'], aws: ['acm', 'secrets-manager'] }],
  ])('declares which %s each backend runs', (_section, table, expected) => {
    // Assess
    expect({ local: kindsRunBy(table, 'local').sort(), aws: kindsRunBy(table, 'aws').sort() }).toEqual({
      local: [...expected.local].sort(),
      aws: [...expected.aws].sort(),
    });
  });

  it.each<[string, Backend, Backend]>([
    ['certrotor.example.yaml', 'aws', 'local'],
    ['certrotor.local.example.yaml', 'local', 'aws'],
  ])('accepts %s for the %s backend it declares, and not for the %s one', (file, declared, other) => {
    // Prepare
    const raw = parse(readFileSync(join(__dirname, '../../config', file), 'utf8')) as RawConfig;

    // Act
    const forDeclared = checkConfig(raw, { backend: declared });
    const forOther = checkConfig(raw, { backend: other });

    // Assess
    expect([raw.backend, forDeclared.problems]).toEqual([declared, []]);
    expect(forOther.ok).toBe(false);
  });
});
