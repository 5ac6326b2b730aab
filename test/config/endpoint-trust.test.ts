/**
 * An endpoint serving a certificate of certrotor's own local CA is checked against that CA without
 * the user finding its path; a `caFile` still wins, and other endpoints keep the system store.
 */
import { validateConfig } from '../../lambda/config/configuration';
import { endpointTargets } from '../../lambda/config/views/endpoints';
import { buildConfig } from '../builders/config';

const LOCAL_CA = ['-----BEGIN CERTIFICATE-----\nlocal\n-----END CERTIFICATE-----\n'];

function targets(edit: (c: ReturnType<typeof buildConfig>) => void) {
  const config = validateConfig(buildConfig(edit), 'test');
  return endpointTargets(config, {
    readCaFile: (path) => [`file:${path}`],
    trustFor: (issuer) => (issuer === 'local' ? LOCAL_CA : undefined),
    hostEndpoints: false,
  }).endpoints;
}

describe('endpoint trust anchors from the local CA', () => {
  it('trusts the local CA at an endpoint that must serve a local-CA certificate', () => {
    // Act
    const [api] = targets(() => undefined);

    // Assess
    expect(api?.caPem).toEqual(LOCAL_CA);
  });

  it('trusts it at an endpoint whose name only a local-CA certificate covers, and not elsewhere', () => {
    // Act
    const found = targets((c) => {
      c.endpoints = [
        {
          name: 'by-name',
          environment: 'staging',
          host: '127.0.0.1',
          port: 1,
          servername: 'api.example.com',
        },
        { name: 'public', environment: 'staging', host: 'www.example.org', port: 443 },
      ];
      c.certificates[0].endpoints = undefined;
    });

    // Assess
    expect(found.map((t) => [t.name, t.caPem])).toEqual([
      ['by-name', LOCAL_CA],
      ['public', undefined],
    ]);
  });

  it('keeps a configured caFile', () => {
    // Act
    const [api] = targets((c) => {
      c.endpoints[0].caFile = '/etc/ca.pem';
    });

    // Assess
    expect(api?.caPem).toEqual(['file:/etc/ca.pem']);
  });
});
