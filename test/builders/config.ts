/**
 * Raw configuration documents (as parsed from YAML, before validation) for configuration tests and
 * for suites that need a valid configuration. `buildConfig` returns a fresh minimal valid document
 * exercising every cross reference once; `edit` changes it in place before it is returned.
 */
export type RawConfig = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function buildConfig(edit: (config: RawConfig) => void = () => {}): RawConfig {
  const config: RawConfig = {
    version: 1,
    environments: [{ name: 'prod' }, { name: 'staging' }],
    issuers: [
      { name: 'local', kind: 'local-ca' },
      { name: 'vendor', kind: 'external' },
    ],
    destinations: [
      { name: 'web-files', kind: 'files', environment: 'staging', directory: 'tls/web', host: 'web-1' },
    ],
    hosts: [{ name: 'web-1', environment: 'staging', endpoint: { host: '127.0.0.1', port: 8443 } }],
    fleets: [{ name: 'web', hosts: ['web-1'] }],
    endpoints: [
      {
        name: 'api-staging',
        environment: 'staging',
        host: '127.0.0.1',
        port: 8443,
        expect: { certificate: 'api' },
      },
    ],
    certificates: [
      {
        name: 'api',
        commonName: 'api.example.com',
        dnsNames: ['api.example.com'],
        issuer: 'local',
        destinations: ['web-files'],
        endpoints: ['api-staging'],
      },
      { name: 'vendor-client', commonName: 'client.example.com', usage: 'client', issuer: 'vendor' },
    ],
    upstreams: [
      {
        name: 'payments',
        endpoints: [{ host: 'pay.example.net', port: 443, environment: 'prod' }],
        clientCertificate: 'vendor-client',
        consumers: { hosts: ['web-1'], fleets: ['web'], destinations: ['web-files'] },
      },
    ],
    notifications: {
      channels: [{ name: 'alerts', kind: 'slack', webhook: { env: 'SLACK_WEBHOOK_URL' } }],
      routes: [{ owner: 'payments', channel: 'alerts' }],
    },
  };
  edit(config);
  return config;
}
