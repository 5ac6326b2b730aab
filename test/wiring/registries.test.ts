import { AwsClientPool } from '../../lambda/adapters/aws/clients';
import { buildLocalRuntime } from '../../lambda/cli/local-runtime';
import {
  type Backend,
  DESTINATION_KINDS,
  ISSUER_KINDS,
  SOURCE_KINDS,
  kindsRunBy,
} from '../../lambda/config/backends';
import { validateConfig } from '../../lambda/config/configuration';
import { AWS_DESTINATIONS, AWS_ISSUERS, AWS_SOURCES, buildRotationAdapters } from '../../lambda/wiring/aws';
import {
  LOCAL_DESTINATIONS,
  LOCAL_ISSUERS,
  LOCAL_SOURCES,
  buildLocalAdapters,
} from '../../lambda/wiring/local';
import { buildConfig } from '../builders/config';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const clock = () => new Date('2030-01-01T00:00:00Z');
const PCA =
  'arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/0a1b2c3d-1111-2222-3333-444455556666';

describe('the registries by kind', () => {
  it.each<[string, Backend, object, Record<string, unknown>]>([
    ['local issuers', 'local', ISSUER_KINDS, LOCAL_ISSUERS],
    ['local destinations', 'local', DESTINATION_KINDS, LOCAL_DESTINATIONS],
    ['local sources', 'local', SOURCE_KINDS, LOCAL_SOURCES],
    ['aws issuers', 'aws', ISSUER_KINDS, AWS_ISSUERS],
    ['aws destinations', 'aws', DESTINATION_KINDS, AWS_DESTINATIONS],
    ['aws sources', 'aws', SOURCE_KINDS, AWS_SOURCES],
  ])(
    'the %s build exactly the kinds validation accepts for that backend',
    (_name, backend, table, registry) => {
      // Assess
      expect(Object.keys(registry).sort()).toEqual(
        kindsRunBy(table as Parameters<typeof kindsRunBy>[0], backend).sort(),
      );
    },
  );

  it('builds the local backend adapters of the kinds it runs, and nothing for the others', async () => {
    // Prepare
    const root = await temp.make('wiring');
    const config = validateConfig(
      buildConfig((c) => {
        c.local = { stateDirectory: root };
        c.issuers.push({ name: 'pca', kind: 'acm-pca', certificateAuthorityArn: PCA });
        c.destinations.push({ name: 'agents', kind: 'agent', hosts: ['web-1'], directory: '/tls' });
        c.destinations.push({ name: 'secret', kind: 'secrets-manager', secretId: 'certrotor/x' });
        c.sources = [
          { name: 'pems', kind: 'files', environment: 'staging', paths: ['/a.pem'] },
          { name: 'acm', kind: 'acm', environment: 'prod' },
        ];
      }),
      'test',
    );

    // Act
    const adapters = buildLocalAdapters(config, { clock });

    // Assess
    expect([...adapters.issuers.keys()]).toEqual(['local']);
    expect([...adapters.destinations.keys()]).toEqual(['web-files', 'agents']);
    expect(adapters.sources.map((s) => s.name)).toEqual(['pems']);
  });

  it('gives the local runtime each configured files source once, beside the issuer CA sources', async () => {
    // Prepare
    const root = await temp.make('wiring');
    const config = validateConfig(
      buildConfig((c) => {
        c.local = { stateDirectory: root };
        c.sources = [{ name: 'pems', kind: 'files', environment: 'staging', paths: ['/a.pem'] }];
      }),
      'test',
    );

    // Act
    const runtime = buildLocalRuntime(config, { clock });

    // Assess
    expect((runtime.sources ?? []).filter((s) => s.name === 'pems')).toHaveLength(1);
  });

  it('builds the aws backend adapters of the kinds it runs, and nothing for the others', () => {
    // Prepare
    const config = validateConfig(
      buildConfig((c) => {
        c.issuers.push({ name: 'pca', kind: 'acm-pca', certificateAuthorityArn: PCA });
        c.destinations.push({ name: 'secret', kind: 'secrets-manager', secretId: 'certrotor/x' });
        c.aws = { tableName: 'certrotor-state' };
      }),
      'test',
    );
    const clients = new AwsClientPool({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:9' });

    // Act
    const adapters = buildRotationAdapters(config, clients, { clock });

    // Assess
    expect([...adapters.issuers.keys()]).toEqual(['pca']);
    expect([...adapters.destinations.keys()]).toEqual(['secret']);
  });
});
