import { checkConfig } from '../../lambda/config/configuration';
import { buildConfig, type RawConfig } from '../builders/config';

const DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

function withAcme(issuer: Record<string, unknown>): RawConfig {
  return buildConfig((c) => {
    c.issuers = [
      { name: 'public', kind: 'acme', directoryUrl: DIRECTORY, ...issuer },
      { name: 'vendor', kind: 'external' },
    ];
    c.certificates = c.certificates.map((cert: Record<string, unknown>) => ({
      ...cert,
      issuer: cert.issuer === 'local' ? 'public' : cert.issuer,
    }));
  });
}

describe('issuers of kind acme', () => {
  it('accepts HTTP-01 through a responder, a webroot, and DNS-01 through Route 53 on the local backend', () => {
    for (const challenge of [
      { type: 'http-01', listen: { port: 8080 } },
      { type: 'http-01', webroot: '/var/www/html' },
      { type: 'dns-01', route53: { hostedZoneId: 'Z0123456789ABC' } },
    ]) {
      const check = checkConfig(withAcme({ challenge, email: 'ops@example.com', profile: 'tlsserver' }), {
        backend: 'local',
      });
      expect(check.problems).toEqual([]);
    }
  });

  it('accepts External Account Binding with the MAC key in a file or a secret', () => {
    for (const eab of [
      { keyId: 'kid-1', hmacKeyFile: '/etc/certrotor/eab.key' },
      { keyId: 'kid-1', hmacKeySecretId: 'certrotor/eab' },
    ]) {
      const check = checkConfig(withAcme({ challenge: { type: 'http-01', listen: {} }, eab }), {
        backend: 'local',
      });
      expect(check.problems).toEqual([]);
    }
  });

  it('refuses an HTTP-01 challenge with both or neither of listen and webroot, naming the path', () => {
    const both = checkConfig(
      withAcme({ challenge: { type: 'http-01', listen: { port: 80 }, webroot: '/var/www' } }),
      { backend: 'local' },
    );
    expect(both.problems).toEqual([
      'issuers[0].challenge.webroot: needs exactly one of listen (a responder the CLI runs) or webroot',
    ]);
    const neither = checkConfig(withAcme({ challenge: { type: 'http-01' } }), { backend: 'local' });
    expect(neither.problems).toEqual([
      'issuers[0].challenge: needs exactly one of listen (a responder the CLI runs) or webroot',
    ]);
  });

  it('refuses EAB without exactly one MAC key source, a bad hosted zone id, and a non-URL directory', () => {
    const check = checkConfig(
      buildConfig((c) => {
        c.issuers = [
          {
            name: 'a',
            kind: 'acme',
            directoryUrl: DIRECTORY,
            challenge: { type: 'http-01', webroot: '/w' },
            eab: { keyId: 'k' },
          },
          {
            name: 'b',
            kind: 'acme',
            directoryUrl: DIRECTORY,
            challenge: { type: 'dns-01', route53: { hostedZoneId: 'example.com' } },
          },
          {
            name: 'c',
            kind: 'acme',
            directoryUrl: 'acme.example.com',
            challenge: { type: 'http-01', webroot: '/w' },
          },
        ];
        c.issuers.push({ name: 'vendor', kind: 'external' });
        c.certificates = c.certificates.map((cert: Record<string, unknown>) => ({
          ...cert,
          issuer: cert.issuer === 'local' ? 'a' : cert.issuer,
        }));
      }),
      { backend: 'local' },
    );
    expect(check.problems).toEqual([
      'issuers[0].eab: needs exactly one of hmacKeySecretId or hmacKeyFile',
      'issuers[1].challenge.route53.hostedZoneId: must be a Route 53 hosted zone id such as Z0123456789ABC',
      'issuers[2].directoryUrl: must be an http(s) URL',
    ]);
  });

  it('accepts a dns-01 acme issuer in the deployed service and refuses http-01 there, saying what to use', () => {
    const dns = checkConfig(
      withAcme({ challenge: { type: 'dns-01', route53: { hostedZoneId: 'Z0123456789ABC' } } }),
      { backend: 'aws' },
    );
    expect(dns.problems.filter((p) => p.startsWith('issuers'))).toEqual([]);
    const http = checkConfig(withAcme({ challenge: { type: 'http-01', webroot: '/var/www' } }), {
      backend: 'aws',
    });
    expect(http.problems.filter((p) => p.startsWith('issuers'))).toEqual([
      'issuers[0].challenge.type: "http-01" cannot be answered by the deployed service (aws backend) (its rotation runs in Lambda, which serves no HTTP); use dns-01 with route53',
    ]);
  });
});
