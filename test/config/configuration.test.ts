import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  checkConfig,
  configJsonSchema,
  scheduleExpressionProblem,
  validateConfig,
} from '../../lambda/config/configuration';
import { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS } from '../../lambda/domain/duration';
import { ConfigurationError } from '../../lambda/domain/errors';
import { buildConfig, type RawConfig } from '../builders/config';

function problemsOf(raw: unknown): readonly string[] {
  const check = checkConfig(raw);
  return check.problems;
}

const PRIVATE_KEY = [
  '-----BEGIN PRIVATE KEY-----',
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
  '-----END PRIVATE KEY-----',
].join('\n');

describe('validateConfig', () => {
  it('accepts a minimal configuration and fills in the defaults', () => {
    // Prepare
    const raw = buildConfig();

    // Act
    const config = validateConfig(raw, 'certrotor.yaml');

    // Assess
    const api = config.certificates[0]!;
    expect(api.keySpec).toBe('EC_P256');
    expect(api.usage).toBe('server');
    expect(api.validity).toBe(90 * DAY_MS);
    expect(api.renewal).toEqual({ jitterPercentage: 0 });
    expect(api.rollout).toEqual({
      canary: 1,
      batchSize: 5,
      failureTolerance: 0,
      verifyTimeout: 5 * MINUTE_MS,
      verifyInterval: 10 * SECOND_MS,
    });
    expect(config.notifications.thresholds).toEqual([30, 14, 7, 3, 1, 'expired']);
    expect(config.upstreams[0]!.safetyMargin).toBe(DAY_MS);
    expect(config.upstreams[0]!.thresholds).toEqual([14, 7, 3, 1]);
    expect(config.schedules.inventory).toEqual({ expression: 'rate(1 day)', enabled: true });
    expect(config.schedules.probe.expression).toBe('rate(1 hour)');
    expect(config.schedules.upstream.expression).toBe('rate(6 hours)');
    expect(config.probe).toEqual({ timeout: 5 * SECOND_MS, concurrency: 50, allAddresses: true });
    expect(config.local.stateDirectory).toBe('.certrotor');
    expect(config.backend).toBe('local');
    expect(config.destinations[0]).toMatchObject({ keyMode: '0600', reloadTimeout: 30 * SECOND_MS });
  });

  it('accepts server-style file names and a group-readable key mode, filling in the names not given', () => {
    // Prepare
    const raw = buildConfig((c) => {
      c.destinations[0].fileNames = { certificate: 'tls.crt', key: 'tls.key', chain: 'ca.crt' };
      c.destinations[0].keyMode = '0640';
      c.destinations[0].group = 'ssl-cert';
    });

    // Act
    const config = validateConfig(raw, 'test');

    // Assess
    expect(config.destinations[0]).toMatchObject({
      fileNames: { certificate: 'tls.crt', chain: 'ca.crt', fullchain: 'fullchain.pem', key: 'tls.key' },
      keyMode: '0640',
      group: 'ssl-cert',
    });
  });

  it('parses every duration notation to milliseconds', () => {
    // Prepare
    const raw = buildConfig((c) => {
      c.certificates[0].validity = 'P30D';
      c.certificates[0].renewal = { renewBefore: '1d12h' };
      c.upstreams[0].safetyMargin = '2160h0m0s';
    });

    // Act
    const config = validateConfig(raw, 'test');

    // Assess
    expect(config.certificates[0]!.validity).toBe(30 * DAY_MS);
    expect(config.certificates[0]!.renewal.renewBefore).toBe(36 * HOUR_MS);
    expect(config.upstreams[0]!.safetyMargin).toBe(90 * DAY_MS);
  });

  it('normalises fingerprints to the openssl form and orders thresholds like the alert policy', () => {
    // Prepare
    const hex = 'ab'.repeat(32);
    const raw = buildConfig((c) => {
      c.upstreams[0].trust = { pinnedFingerprints: [hex] };
      c.notifications.thresholds = ['expired', 1, 30, 7, 7];
    });

    // Act
    const config = validateConfig(raw, 'test');

    // Assess
    expect(config.upstreams[0]!.trust.pinnedFingerprints).toEqual([Array(32).fill('AB').join(':')]);
    expect(config.notifications.thresholds).toEqual([30, 7, 1, 'expired']);
  });

  it.each<[string, (c: RawConfig) => void, string]>([
    ['an unknown top-level key is rejected', (c) => (c.extra = true), 'extra: unknown key'],
    [
      'a misspelt nested key is rejected at its own path',
      (c) => (c.certificates[0].dnsName = ['x.example.com']),
      'certificates[0].dnsName: unknown key',
    ],
    [
      'an inline Slack webhook URL is rejected (webhooks are referenced)',
      (c) => (c.notifications.channels[0].webhook.url = 'https://hooks.slack.com/services/T/B/X'),
      'notifications.channels[0].webhook.url: unknown key',
    ],
    [
      'a webhook in both an SSM parameter and a secret is rejected',
      (c) =>
        (c.notifications.channels[0].webhook = {
          parameter: '/certrotor/slack/a',
          secretId: 'certrotor/slack/a',
        }),
      'notifications.channels[0].webhook: parameter and secretId are two places for the same webhook URL: give one',
    ],
    [
      'a webhook parameter that is no SSM parameter name is rejected',
      (c) => (c.notifications.channels[0].webhook = { parameter: 'hooks.slack.com/services?T=1' }),
      'notifications.channels[0].webhook.parameter: must be an SSM parameter name such as /certrotor/slack/platform, or its ARN',
    ],
    ['a wrong version is rejected', (c) => (c.version = 2), 'version: must be 1'],
    [
      'a missing required field is named',
      (c) => delete c.certificates[0].issuer,
      'certificates[0].issuer: is required',
    ],
    [
      'a wrong type names what was expected and what was given',
      (c) => (c.endpoints[0].port = '8443'),
      'endpoints[0].port: must be a number (got a string)',
    ],
    [
      'a port out of range is rejected',
      (c) => (c.upstreams[0].endpoints[0].port = 70000),
      'upstreams[0].endpoints[0].port: must be 1-65535',
    ],
    [
      'port zero is rejected',
      (c) => (c.hosts[0].endpoint.port = 0),
      'hosts[0].endpoint.port: must be 1-65535',
    ],
    [
      'an unknown kind lists the known kinds',
      (c) => (c.destinations[0].kind = 'ftp'),
      'destinations[0].kind: must be one of "files", "acm", "secrets-manager", "ssm", "agent"',
    ],
    [
      'a duration without a unit is rejected',
      (c) => (c.certificates[0].validity = '30'),
      'certificates[0].validity: "30" has no unit (write 30d, 30h, 30m or 30s)',
    ],
    [
      'a duration written as a bare number is rejected',
      (c) => (c.certificates[0].validity = 90),
      'certificates[0].validity: must be a duration with a unit, such as 90d, 12h or P30D (got a number)',
    ],
    [
      'a duration in words is rejected',
      (c) => (c.upstreams[0].safetyMargin = 'one week'),
      'upstreams[0].safetyMargin: must be a duration such as 90d, 12h, 30m, 45s, 1d12h or P30D',
    ],
    [
      'a duration in months is rejected',
      (c) => (c.certificates[0].validity = 'P3M'),
      'certificates[0].validity: "P3M" uses years or months, which have no fixed length; write days instead (e.g. P365D, P30D)',
    ],
    [
      'duplicate certificate names are rejected',
      (c) => c.certificates.push({ ...c.certificates[0] }),
      'certificates[2].name: duplicate certificate name "api" (also certificates[0])',
    ],
    [
      'duplicate environment names are rejected',
      (c) => c.environments.push({ name: 'prod' }),
      'environments[2].name: duplicate environment name "prod" (also environments[0])',
    ],
    [
      'an undefined issuer is named with the defined ones',
      (c) => (c.certificates[0].issuer = 'letsencrypt'),
      'certificates[0].issuer: issuer "letsencrypt" is not defined (defined: local, vendor)',
    ],
    [
      'an undefined destination is rejected',
      (c) => c.certificates[0].destinations.push('nowhere'),
      'certificates[0].destinations[1]: destination "nowhere" is not defined (defined: web-files)',
    ],
    [
      'an undefined endpoint is rejected',
      (c) => (c.certificates[0].endpoints = ['api-prod']),
      'certificates[0].endpoints[0]: endpoint "api-prod" is not defined (defined: api-staging)',
    ],
    [
      'an undefined environment is rejected',
      (c) => (c.hosts[0].environment = 'qa'),
      'hosts[0].environment: environment "qa" is not defined (defined: prod, staging)',
    ],
    [
      'an undefined upstream consumer host is rejected',
      (c) => c.upstreams[0].consumers.hosts.push('web-9'),
      'upstreams[0].consumers.hosts[1]: host "web-9" is not defined (defined: web-1)',
    ],
    [
      'an undefined fleet member is rejected',
      (c) => (c.fleets[0].hosts = ['web-2']),
      'fleets[0].hosts[0]: host "web-2" is not defined (defined: web-1)',
    ],
    [
      'an endpoint expecting an undefined certificate is rejected',
      (c) => (c.endpoints[0].expect.certificate = 'www'),
      'endpoints[0].expect.certificate: certificate "www" is not defined (defined: api, vendor-client)',
    ],
    [
      'a route to an undefined channel is rejected',
      (c) => (c.notifications.routes[0].channel = 'payments-alerts'),
      'notifications.routes[0].channel: channel "payments-alerts" is not defined (defined: alerts)',
    ],
    [
      'several channels need a default channel',
      (c) => c.notifications.channels.push({ name: 'other', kind: 'slack', webhook: { env: 'OTHER_HOOK' } }),
      'notifications.defaultChannel: is required when more than one channel is configured',
    ],
    [
      'renewBefore and renewBeforePercentage together are rejected',
      (c) => (c.certificates[0].renewal = { renewBefore: '30d', renewBeforePercentage: 25 }),
      'certificates[0].renewal: set renewBefore or renewBeforePercentage, not both',
    ],
    [
      'a renewal percentage of 100 is rejected',
      (c) => (c.certificates[0].renewal = { renewBeforePercentage: 100 }),
      'certificates[0].renewal.renewBeforePercentage: must be more than 0 and less than 100',
    ],
    [
      'an upstream client certificate must come from an external issuer',
      (c) => (c.certificates[1].issuer = 'local'),
      'upstreams[0].clientCertificate: certificate "vendor-client" is issued by "local" (local-ca); a vendor-supplied client certificate needs an issuer of kind external',
    ],
    [
      'an upstream client certificate must allow client authentication',
      (c) => delete c.certificates[1].usage,
      'upstreams[0].clientCertificate: certificate "vendor-client" has usage server; a client certificate needs usage client or server-and-client',
    ],
    [
      'a certificate without any name is rejected',
      (c) => {
        delete c.certificates[0].commonName;
        c.certificates[0].dnsNames = [];
      },
      'certificates[0]: needs a commonName, dnsNames or ipAddresses',
    ],
    [
      'a malformed DNS name is rejected',
      (c) => (c.certificates[0].dnsNames = ['api..example.com']),
      'certificates[0].dnsNames[0]: must be a DNS name (a leading `*.` wildcard is allowed)',
    ],
    [
      'a malformed IP address is rejected',
      (c) => (c.certificates[0].ipAddresses = ['10.0.0.300']),
      'certificates[0].ipAddresses[0]: must be an IPv4 or IPv6 address',
    ],
    [
      'a malformed fingerprint is rejected',
      (c) => (c.upstreams[0].trust = { pinnedFingerprints: ['AB:CD'] }),
      'upstreams[0].trust.pinnedFingerprints[0]: must be a SHA-256 fingerprint (64 hex digits, colons optional)',
    ],
    [
      'an account id written as a number is rejected',
      (c) => (c.environments[0].aws = { accountId: 111111111111 }),
      'environments[0].aws.accountId: must be a 12-digit account id in quotes',
    ],
    [
      'a file mode written as a number is rejected',
      (c) => (c.destinations[0].keyMode = 600),
      "destinations[0].keyMode: must be an octal mode in quotes, e.g. '0600'",
    ],
    [
      'a key mode readable by other users is rejected, naming the destination',
      (c) => (c.destinations[0].keyMode = '0644'),
      "destinations[0].keyMode: '0644' lets other users read the private key (destination web-files); use '0600', or '0640' with a group",
    ],
    [
      'a key mode the group may write is rejected',
      (c) => (c.destinations[0].keyMode = '660'),
      "destinations[0].keyMode: '0660' lets the group modify or run the private key (destination web-files)",
    ],
    [
      'a key mode other users may write is rejected',
      (c) => (c.destinations[0].keyMode = '0602'),
      "destinations[0].keyMode: '0602' lets other users modify or run the private key",
    ],
    [
      'an executable key mode is rejected',
      (c) => (c.destinations[0].keyMode = '0700'),
      "destinations[0].keyMode: '0700' makes the private key executable",
    ],
    [
      'an installed file name with a directory in it is rejected',
      (c) => (c.destinations[0].fileNames = { key: 'private/tls.key' }),
      'destinations[0].fileNames.key: must be a plain file name (letters, digits, . _ -; no / and not starting with .)',
    ],
    [
      'a hidden installed file name is rejected',
      (c) => (c.destinations[0].fileNames = { certificate: '.certrotor.lock' }),
      'destinations[0].fileNames.certificate: must be a plain file name',
    ],
    [
      'an installed file named previous is rejected',
      (c) => (c.destinations[0].fileNames = { chain: 'previous' }),
      'destinations[0].fileNames.chain: must not be previous (that directory holds the replaced version)',
    ],
    [
      'two installed files with one name are rejected',
      (c) => (c.destinations[0].fileNames = { certificate: 'tls.crt', fullchain: 'tls.crt' }),
      'destinations[0].fileNames: certificate, chain, fullchain and key need four different names',
    ],
    [
      'a malformed schedule is rejected',
      (c) => (c.schedules = { probe: { expression: 'rate(1 hours)' } }),
      'schedules.probe.expression: write rate(1 hour)',
    ],
    [
      'an unknown time zone is rejected',
      (c) => (c.schedules = { timeZone: 'Mars/Olympus' }),
      'schedules.timeZone: must be an IANA time zone such as UTC or Europe/Paris',
    ],
    [
      'a route on an unknown detail type is rejected',
      (c) => (c.notifications.routes[0].detailTypes = ['Certificate Exploded']),
      'notifications.routes[0].detailTypes[0]: must be one of "Certificate Expiring"',
    ],
    [
      'a silence with an unknown scope kind is rejected',
      (c) => (c.silences = [{ scope: 'team=x', until: '2030-01-01T00:00:00Z', reason: 'INC-1' }]),
      'silences[0].scope: ',
    ],
    [
      'a silence on an undefined environment is rejected',
      (c) => (c.silences = [{ scope: 'environment=qa', until: '2030-01-01T00:00:00Z', reason: 'INC-1' }]),
      'silences[0].scope: environment "qa" is not defined (defined: prod, staging)',
    ],
    [
      'a silence ending before it starts is rejected',
      (c) =>
        (c.silences = [
          {
            scope: 'environment=prod',
            from: '2030-01-02T00:00:00Z',
            until: '2030-01-01T00:00:00Z',
            reason: 'x',
          },
        ]),
      'silences[0].until: must be after from',
    ],
    [
      'an agent destination without hosts or a fleet is rejected',
      (c) => c.destinations.push({ name: 'agents', kind: 'agent', directory: '/etc/tls' }),
      'destinations[1]: an agent destination needs a fleet or hosts',
    ],
    [
      'a feed with a non-http URL is rejected',
      (c) => (c.upstreams[0].feeds = [{ kind: 'atom', url: 'ftp://status.example.net/feed' }]),
      'upstreams[0].feeds[0].url: must be an http(s) or file URL',
    ],
  ])('%s', (_name, edit, expected) => {
    // Prepare
    const raw = buildConfig(edit);

    // Act
    const problems = problemsOf(raw);

    // Assess
    expect(problems).toEqual(expect.arrayContaining([expect.stringContaining(expected)]));
  });

  it('reports every problem at once, each with its path', () => {
    // Prepare
    const raw = buildConfig((c) => {
      c.colour = 'blue';
      c.certificates[0].issuer = 'nope';
      c.certificates[0].validity = 'soon';
      c.certificates.push({ name: 'api', commonName: 'x', issuer: 'local' });
      c.upstreams[0].endpoints.push({ host: 'pay2.example.net', port: 99999 });
      c.hosts[0].environment = 'qa';
      c.notifications.routes[0].channel = 'missing';
    });

    // Act
    const act = () => validateConfig(raw, 'certrotor.yaml');

    // Assess
    expect(act).toThrow(ConfigurationError);
    const error = (() => {
      try {
        act();
      } catch (e) {
        return e as ConfigurationError;
      }
      throw new Error('expected a ConfigurationError');
    })();
    expect(error.source).toBe('certrotor.yaml');
    expect(error.problems).toEqual(
      expect.arrayContaining([
        'colour: unknown key',
        'certificates[0].issuer: issuer "nope" is not defined (defined: local, vendor)',
        expect.stringMatching(/^certificates\[0\]\.validity: /),
        'certificates[2].name: duplicate certificate name "api" (also certificates[0])',
        'upstreams[0].endpoints[1].port: must be 1-65535',
        'hosts[0].environment: environment "qa" is not defined (defined: prod, staging)',
        'notifications.routes[0].channel: channel "missing" is not defined (defined: alerts)',
      ]),
    );
    expect(error.problems).toHaveLength(7);
    expect(error.message).toMatch(/^certrotor.yaml: 7 configuration problems:\n {2}/);
  });

  it('rejects private key material anywhere without repeating it', () => {
    // Prepare
    const raw = buildConfig((c) => (c.certificates[0].description = PRIVATE_KEY));

    // Act
    const problems = problemsOf(raw);

    // Assess
    expect(problems).toContain(
      'certificates[0].description: contains a private key; reference a file or a secret instead',
    );
    expect(problems.join('\n')).not.toContain('MIIEvQ');
  });

  it('says the configuration is empty when there is nothing to validate', () => {
    expect(problemsOf(null)).toEqual(['the configuration is empty']);
  });

  it('reports a document that is not a mapping', () => {
    expect(problemsOf(['a', 'list'])).toEqual(['must be a mapping (got a list)']);
  });

  it('accepts the commented example configuration in the repository', () => {
    // Prepare
    const text = readFileSync(join(__dirname, '../../config/certrotor.example.yaml'), 'utf8');

    // Act
    const check = checkConfig(parse(text));

    // Assess
    expect(check.problems).toEqual([]);
  });

  it('the example configuration uses every top-level section', () => {
    // Prepare
    const example = parse(
      readFileSync(join(__dirname, '../../config/certrotor.example.yaml'), 'utf8'),
    ) as RawConfig;
    const sections = Object.keys((configJsonSchema() as { properties: object }).properties);

    // Assess
    expect(Object.keys(example).sort()).toEqual(sections.sort());
  });

  it('the deployed and the local example configurations together use every kind of issuer, destination, source and feed', () => {
    // Prepare
    const read = (name: string) =>
      parse(readFileSync(join(__dirname, '../../config', name), 'utf8')) as RawConfig;
    const example = read('certrotor.example.yaml');
    const local = read('certrotor.local.example.yaml');
    const kinds = (section: string) =>
      [...new Set([...example[section], ...local[section]].map((i: { kind: string }) => i.kind))].sort();

    // Assess
    expect(kinds('issuers')).toEqual(['acm-pca', 'external', 'local-ca']);
    expect(kinds('destinations')).toEqual(['acm', 'agent', 'files', 'secrets-manager', 'ssm']);
    expect(kinds('sources')).toEqual(['acm', 'files', 'secrets-manager']);
    const feeds = example.upstreams.flatMap((u: RawConfig) => u.feeds as { kind: string }[]);
    expect([...new Set(feeds.map((f: { kind: string }) => f.kind))].sort()).toEqual([
      'atom',
      'aws-health',
      'statuspage-json',
    ]);
  });
});

describe('scheduleExpressionProblem', () => {
  it.each<[string, string | undefined]>([
    ['rate(1 day)', undefined],
    ['rate(6 hours)', undefined],
    ['cron(0 8 ? * MON-FRI *)', undefined],
    ['at(2030-01-01T08:00:00)', undefined],
    ['rate(1 days)', 'write rate(1 day)'],
    ['rate(5 minute)', 'write rate(5 minutes)'],
    ['cron(0 8 * * *)', 'cron needs 6 fields (minutes hours day-of-month month day-of-week year), got 5'],
    ['cron(0 8 * * MON *)', 'cron needs ? in day-of-month or day-of-week'],
    ['every hour', 'must be rate(N unit), cron(6 fields) or at(yyyy-mm-ddThh:mm:ss)'],
  ])('%s → %s', (expression, expected) => {
    expect(scheduleExpressionProblem(expression)).toBe(expected);
  });
});

describe('configJsonSchema', () => {
  it('rejects unknown keys at the top level and describes every section', () => {
    // Act
    const schema = configJsonSchema() as {
      additionalProperties: boolean;
      required: string[];
      properties: object;
    };

    // Assess
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['version', 'environments']);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining([
        'certificates',
        'upstreams',
        'notifications',
        'silences',
        'schedules',
        'local',
        'aws',
      ]),
    );
  });
});
