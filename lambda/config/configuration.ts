/**
 * The configuration file: one zod schema for the whole file, shared by the CLI, the Lambdas and the
 * CDK app. `validateConfig` checks structure (strict objects everywhere, so a misspelt key is an
 * error rather than a silently ignored setting) and then references between sections, and reports
 * every problem at once, each with its path (`upstreams[1].endpoints[0].port: must be 1-65535`).
 *
 * Secrets are referenced, never inlined: Slack webhooks come from an environment variable or a
 * Secrets Manager secret, trust material and keys from files or stores. Durations are written as
 * text (`90d`, `12h`, `P30D`) and come out of validation as milliseconds.
 */
import * as z from 'zod';
import { tryParseDuration } from '../domain/duration';
import { ConfigurationError } from '../domain/errors';
import { DETAIL_TYPES, type DetailTypeName } from '../domain/events';
import { containsPrivateKey, scrubPrivateKeys } from '../domain/secret';
import { parseSilenceScope } from '../domain/silences';
import { DEFAULT_THRESHOLDS } from '../domain/thresholds';
import {
  formatPath,
  formatProblem,
  inDocumentOrder,
  issueProblems,
  type PathProblem,
} from '../domain/zod-issues';

export const CONFIG_VERSION = 1 as const;

// ---------------------------------------------------------------------------------------------
// Field schemas
// ---------------------------------------------------------------------------------------------

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const ENVIRONMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;

function name(description: string) {
  return z
    .string()
    .regex(NAME, "must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit")
    .meta({ description });
}

function ref(description: string) {
  return z.string().min(1).meta({ description });
}

const environmentName = z
  .string()
  .regex(
    ENVIRONMENT_NAME,
    "must be 1-63 letters, digits, '.', '_', '/' or '-', starting with a letter or digit",
  )
  .meta({ description: 'Environment name, e.g. `prod/eu-west-1` or `staging`.' });

const environmentRef = ref('Name of an environment defined in `environments`.');

function text(description: string, max = 1000) {
  return z.string().min(1).max(max).meta({ description });
}

/** A duration in text (`90d`, `12h`, `1d12h`, `P30D`), parsed to milliseconds. */
function duration(description: string) {
  return z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? undefined
          : `must be a duration with a unit, such as 90d, 12h or P30D (got a ${typeof issue.input})`,
    })
    .regex(/^\s*(?:P|\d)/i, 'must be a duration such as 90d, 12h, 30m, 45s, 1d12h or P30D')
    .transform((value, ctx) => {
      const parsed = tryParseDuration(value);
      if (parsed.ok) return parsed.ms;
      ctx.addIssue({ code: 'custom', message: parsed.problem, input: value });
      return z.NEVER;
    })
    .meta({ description: durationDescription(description) });
}

function durationDescription(description: string): string {
  const [what = '', defaultText] = description.split('@default');
  const note = 'A duration: `90d`, `12h`, `30m`, `1d12h` or ISO 8601 `P30D`.';
  return `${what.trim()} ${note}${defaultText === undefined ? '' : ` @default ${defaultText.trim()}`}`;
}

const port = z
  .number()
  .int('must be 1-65535')
  .min(1, 'must be 1-65535')
  .max(65535, 'must be 1-65535')
  .meta({ description: 'TCP port, 1-65535.' });

const hostName = z
  .string()
  .regex(/^[A-Za-z0-9._:[\]-]{1,253}$/, 'must be a host name or an IP address')
  .meta({ description: 'Host name or IP address.' });

const dnsName = z
  .string()
  .regex(
    /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
    'must be a DNS name (a leading `*.` wildcard is allowed)',
  );

const ipAddress = z
  .string()
  .refine((v) => z.regexes.ipv4.test(v) || z.regexes.ipv6.test(v), 'must be an IPv4 or IPv6 address');

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const feedUrl = z.url({ protocol: /^(https?|file)$/, error: 'must be an http(s) or file URL' });

const fingerprint = z
  .string()
  .regex(
    /^(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$/,
    'must be a SHA-256 fingerprint (64 hex digits, colons optional)',
  )
  .transform((v) =>
    v
      .replace(/:/g, '')
      .toUpperCase()
      .replace(/(..)(?!$)/g, '$1:'),
  )
  .meta({
    description: 'SHA-256 fingerprint, as `openssl x509 -fingerprint -sha256` prints it (colons optional).',
  });

const arn = (service: string, description: string) =>
  z
    .string()
    .regex(new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]*:\\d{12}:.+$`), `must be an ${service} ARN`)
    .meta({ description });

const region = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1')
  .meta({ description: 'AWS region.' });

const accountId = z
  .string({
    error: (issue) => (issue.input === undefined ? undefined : 'must be a 12-digit account id in quotes'),
  })
  .regex(/^\d{12}$/, 'must be a 12-digit account id in quotes')
  .meta({ description: 'AWS account id (quote it in YAML).' });

const fileMode = z
  .string({
    error: (issue) =>
      issue.input === undefined ? undefined : "must be an octal mode in quotes, e.g. '0600'",
  })
  .regex(/^0?[0-7]{3}$/, "must be an octal mode in quotes, e.g. '0600'");

const command = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .meta({ description: 'A command: a string run by the shell, or an argument list run without one.' });

const tags = z
  .record(z.string().min(1).max(128), z.string().max(256))
  .meta({ description: 'Free-form key/value labels.' });

export const KEY_SPECS = ['EC_P256', 'EC_P384', 'RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
export const USAGES = ['server', 'client', 'server-and-client'] as const;

const timeZone = z
  .string()
  .refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Paris')
  .meta({ description: 'IANA time zone.' });

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** EventBridge Scheduler expressions: `rate(…)`, `cron(…)` (six fields) or `at(…)`. */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const rate = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2] as string;
    if (value < 1) return 'rate must be at least 1';
    if (value === 1 && unit.endsWith('s')) return `write rate(1 ${unit.slice(0, -1)})`;
    if (value > 1 && !unit.endsWith('s')) return `write rate(${value} ${unit}s)`;
    return undefined;
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) {
    const fields = (cron[1] as string).trim().split(/\s+/);
    if (fields.length !== 6)
      return `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`;
    if (fields[2] !== '?' && fields[4] !== '?') return 'cron needs ? in day-of-month or day-of-week';
    return undefined;
  }
  if (/^at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\)$/.test(expression)) return undefined;
  return 'must be rate(N unit), cron(6 fields) or at(yyyy-mm-ddThh:mm:ss)';
}

const scheduleExpression = z.string().superRefine((value, ctx) => {
  const problem = scheduleExpressionProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
});

function schedule(defaultExpression: string, description: string) {
  return z
    .strictObject({
      expression: scheduleExpression
        .default(defaultExpression)
        .meta({ description: `EventBridge Scheduler expression. @default \`${defaultExpression}\`` }),
      enabled: z.boolean().default(true).meta({ description: 'Run this job. @default true' }),
      timeZone: timeZone.optional().meta({ description: 'Overrides `schedules.timeZone` for this job.' }),
    })
    .prefault({})
    .meta({ description });
}

const threshold = z
  .union([z.number().positive('must be a positive number of days'), z.literal('expired')])
  .meta({ description: 'Days before expiry (fractions allowed, e.g. 0.25 for 6 hours), or `expired`.' });

const thresholds = z
  .array(threshold)
  .min(1)
  .transform((values) => {
    // Same ordering as the threshold policy: days descending without duplicates, `expired` last.
    const days = [...new Set(values.filter((v): v is number => typeof v === 'number'))].sort((a, b) => b - a);
    return [...days, ...(values.includes('expired') ? (['expired'] as const) : [])];
  });

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

export const environmentSchema = z
  .strictObject({
    name: environmentName,
    description: text('What this environment is.').optional(),
    aws: z
      .strictObject({
        accountId: accountId.optional(),
        regions: z.array(region).min(1).optional().meta({ description: 'Regions certrotor covers here.' }),
        roleArn: arn('iam', 'Role to assume for inventory in this account.').optional(),
      })
      .optional()
      .meta({ description: 'Where this environment lives in AWS.' }),
  })
  .meta({ description: 'An environment: every endpoint, host, destination and source belongs to one.' });

const sourceCommon = {
  name: name('Source name.'),
  environment: environmentRef,
};

export const sourceSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      ...sourceCommon,
      kind: z.literal('acm'),
      region: region.optional(),
      includeImported: z
        .boolean()
        .default(true)
        .meta({ description: 'Include imported certificates. @default true' }),
    }),
    z.strictObject({
      ...sourceCommon,
      kind: z.literal('secrets-manager'),
      region: region.optional(),
      tagKey: z.string().min(1).default('certrotor:certificate').meta({
        description: 'Secrets carrying this tag are certificates. @default `certrotor:certificate`',
      }),
    }),
    z.strictObject({
      ...sourceCommon,
      kind: z.literal('files'),
      paths: z
        .array(z.string().min(1))
        .min(1)
        .meta({ description: 'Certificate files (PEM or DER) to watch.' }),
    }),
  ])
  .meta({ description: 'An inventory source: where certificates are discovered besides probed endpoints.' });

export const issuerSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      name: name('Issuer name.'),
      kind: z.literal('local-ca'),
      commonName: text('Subject CN of the CA.')
        .default('certrotor local CA')
        .meta({ description: 'CA subject CN.' }),
      keySpec: z.enum(KEY_SPECS).default('EC_P256').meta({ description: 'CA key. @default EC_P256' }),
      validity: duration('CA lifetime.').prefault('3650d'),
      directory: z
        .string()
        .min(1)
        .optional()
        .meta({ description: 'Where the CA lives. @default <state>/ca' }),
    }),
    z.strictObject({
      name: name('Issuer name.'),
      kind: z.literal('acm-pca'),
      certificateAuthorityArn: arn('acm-pca', 'ARN of the private CA.'),
      region: region.optional(),
      signingAlgorithm: z
        .enum(['SHA256WITHECDSA', 'SHA384WITHECDSA', 'SHA256WITHRSA', 'SHA384WITHRSA', 'SHA512WITHRSA'])
        .optional()
        .meta({ description: 'Signing algorithm. @default matches the CA key' }),
      templateArn: z.string().min(1).optional().meta({ description: 'ACM PCA certificate template ARN.' }),
    }),
    z.strictObject({
      name: name('Issuer name.'),
      kind: z.literal('acm'),
      region: region.optional(),
    }),
    z.strictObject({
      name: name('Issuer name.'),
      kind: z.literal('external'),
      description: text('Who supplies these certificates and how.').optional(),
    }),
  ])
  .meta({ description: 'What signs new certificates; `external` means a vendor supplies them.' });

/** Installed file names are plain names inside `directory` (no `/`, not hidden: temporaries and the lock are). */
const installFileName = (fallback: string) =>
  z
    .string()
    .regex(
      /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/,
      'must be a plain file name (letters, digits, . _ -; no / and not starting with .)',
    )
    .refine((v) => v !== 'previous', 'must not be previous (that directory holds the replaced version)')
    .default(fallback);

/**
 * Bits a key file mode may grant: owner read/write, group read. Anything else lets someone other
 * than the server's user or group read the key, or anyone but its owner replace it.
 */
export const KEY_MODE_ALLOWED_BITS = 0o640;

/** Why a key file mode (number or quoted octal) is refused, or undefined when it is acceptable. */
export function keyModeProblem(mode: string | number): string | undefined {
  const bits = typeof mode === 'number' ? mode : Number.parseInt(mode, 8);
  if (!Number.isInteger(bits) || bits < 0 || bits > 0o777) return "must be an octal mode such as '0600'";
  const octal = `'0${(bits & 0o777).toString(8).padStart(3, '0')}'`;
  if (bits & 0o007)
    return `${octal} lets other users ${bits & 0o004 ? 'read' : 'modify or run'} the private key`;
  if (bits & 0o030) return `${octal} lets the group modify or run the private key`;
  if (bits & 0o100) return `${octal} makes the private key executable`;
  return undefined;
}

const installShape = {
  directory: z.string().min(1).meta({ description: 'Directory the files are written to.' }),
  fileNames: z
    .strictObject({
      certificate: installFileName('cert.pem'),
      chain: installFileName('chain.pem'),
      fullchain: installFileName('fullchain.pem'),
      key: installFileName('key.pem'),
    })
    .refine(
      (n) => new Set([n.certificate, n.chain, n.fullchain, n.key]).size === 4,
      'certificate, chain, fullchain and key need four different names',
    )
    .prefault({})
    .meta({
      description:
        'File names inside `directory`: plain names, all different (e.g. tls.crt, ca.crt, tls.key); rollback copies use the same names. @default cert.pem, chain.pem, fullchain.pem, key.pem',
    }),
  reloadCommand: command.optional().meta({ description: 'Run after installing, e.g. `nginx -s reload`.' }),
  reloadTimeout: duration('Reload command timeout. @default 30s').prefault('30s'),
  owner: z.string().min(1).optional().meta({ description: 'File owner (user name).' }),
  group: z.string().min(1).optional().meta({ description: 'File group.' }),
  keyMode: fileMode.default('0600').meta({
    description:
      "Key file mode, quoted octal; at most owner read/write and group read ('0640' with `group`): modes readable by others or writable by the group are refused. Never wider while written. @default '0600'",
  }),
};

const destinationCommon = {
  name: name('Destination name.'),
  environment: environmentRef.optional(),
  description: text('What this destination is.').optional(),
};

export const healthCheckSchema = z
  .strictObject({
    handshake: z
      .boolean()
      .default(true)
      .meta({ description: 'Open a fresh TLS handshake to the host endpoint. @default true' }),
    command: command.optional().meta({ description: 'A check command; exit 0 means healthy.' }),
    timeout: duration('Health check timeout. @default 10s').prefault('10s'),
  })
  .meta({ description: 'How a host proves it serves what it installed.' });

export const destinationSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      ...destinationCommon,
      kind: z.literal('files'),
      ...installShape,
      host: ref('Host (from `hosts`) serving these files; verified after delivery.').optional(),
    }),
    z.strictObject({
      ...destinationCommon,
      kind: z.literal('acm'),
      certificateArn: arn('acm', 'Re-imported in place: attached load balancers keep it.'),
      region: region.optional(),
    }),
    z.strictObject({
      ...destinationCommon,
      kind: z.literal('secrets-manager'),
      secretId: text('Secret name or ARN; versions staged AWSPENDING → AWSCURRENT.', 2048),
      region: region.optional(),
      kmsKeyId: text('KMS key for the secret. @default the stack key').optional(),
    }),
    z.strictObject({
      ...destinationCommon,
      kind: z.literal('ssm'),
      ...installShape,
      region: region.optional(),
      targets: z
        .strictObject({
          tags: z
            .record(z.string().min(1), z.union([z.string(), z.array(z.string()).min(1)]))
            .optional()
            .meta({ description: 'Instances carrying these tags.' }),
          instanceIds: z
            .array(z.string().regex(/^(i|mi)-[0-9a-f]{8,17}$/, 'must be an instance id'))
            .min(1)
            .optional(),
        })
        .meta({ description: 'Instances to run the install document on (tags, ids or both).' }),
      documentName: text('SSM document. @default the one the stack creates').optional(),
      maxConcurrency: z.number().int().min(1).default(5).meta({ description: '@default 5' }),
      healthCheck: healthCheckSchema.optional(),
    }),
    z.strictObject({
      ...destinationCommon,
      kind: z.literal('agent'),
      ...installShape,
      fleet: ref('Fleet (from `fleets`) whose agents install the certificate.').optional(),
      hosts: z
        .array(ref('Host name from `hosts`.'))
        .min(1)
        .optional()
        .meta({ description: 'Hosts with an agent.' }),
      healthCheck: healthCheckSchema.prefault({}),
    }),
  ])
  .meta({ description: 'Where a certificate is delivered.' });

export const hostSchema = z
  .strictObject({
    name: name('Host name (unique).'),
    environment: environmentRef,
    address: hostName.optional().meta({ description: 'How to reach the host. @default `name`' }),
    endpoint: z
      .strictObject({
        host: hostName.optional().meta({ description: 'Host name or address. @default the host `address`' }),
        port,
        servername: hostName.optional().meta({ description: 'SNI name. @default host' }),
      })
      .optional()
      .meta({ description: 'The TLS endpoint this host serves: probed to verify each rotation per host.' }),
    agent: z
      .strictObject({
        pollInterval: duration('How often the agent pulls. @default 5m').prefault('5m'),
        jitter: duration('Random delay added to each poll. @default 1m').prefault('1m'),
      })
      .optional()
      .meta({ description: 'Present when `certrotor agent` runs on this host.' }),
    tags: tags.optional(),
  })
  .meta({ description: 'A machine that serves or consumes certificates.' });

export const rolloutSchema = z
  .strictObject({
    canary: z
      .number()
      .int()
      .min(0)
      .default(1)
      .meta({ description: 'Targets updated and verified first. @default 1' }),
    batchSize: z
      .number()
      .int()
      .min(1)
      .default(5)
      .meta({ description: 'Targets updated at once after the canary. @default 5' }),
    failureTolerance: z.number().int().min(0).default(0).meta({
      description:
        'Failed targets tolerated before stopping and rolling back; never allows promotion. @default 0',
    }),
    verifyTimeout: duration('How long to wait for a target to serve the new version. @default 5m').prefault(
      '5m',
    ),
    verifyInterval: duration('Re-probe interval while verifying. @default 10s').prefault('10s'),
  })
  .meta({ description: 'How a new version is rolled out.' });

export const fleetSchema = z
  .strictObject({
    name: name('Fleet name.'),
    environment: environmentRef.optional(),
    hosts: z
      .array(ref('Host name from `hosts`.'))
      .min(1)
      .optional()
      .meta({ description: 'Members by name.' }),
    selector: z
      .strictObject({
        environment: environmentRef.optional(),
        tags: tags.optional(),
      })
      .optional()
      .meta({ description: 'Members by environment and tags (all must match).' }),
    rollout: rolloutSchema.optional(),
  })
  .meta({ description: 'A named group of hosts (by name or selector) rolled out together.' });

export const endpointSchema = z
  .strictObject({
    name: name('Endpoint name.'),
    environment: environmentRef,
    host: hostName,
    port: port.default(443),
    servername: hostName.optional().meta({ description: 'SNI name. @default host' }),
    expect: z
      .strictObject({
        certificate: ref('Managed certificate (from `certificates`) this endpoint must serve.').optional(),
        fingerprints: z
          .array(fingerprint)
          .min(1)
          .optional()
          .meta({ description: 'Accepted leaf fingerprints.' }),
      })
      .optional()
      .meta({ description: 'What the endpoint should serve; anything else is drift.' }),
    caFile: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Trust anchors (PEM) instead of the system store.' }),
    owner: text('Owner (team).', 200).optional(),
    runbookUrl: httpUrl.optional(),
    tags: tags.optional(),
  })
  .meta({ description: 'A host:port (with SNI name) probed with a fresh handshake.' });

export const renewalSchema = z
  .strictObject({
    renewBefore: duration('Renew this long before expiry.').optional(),
    renewBeforePercentage: z
      .number()
      .gt(0, 'must be more than 0 and less than 100')
      .lt(100, 'must be more than 0 and less than 100')
      .optional()
      .meta({ description: 'Renew when this percentage of the lifetime remains.' }),
    jitterPercentage: z.number().min(0).max(100).default(0).meta({
      description: 'Renew up to this percentage of the renew-before period earlier, at random. @default 0',
    }),
  })
  .meta({ description: 'When to renew. @default when one third of the lifetime remains' });

export const managedCertificateSchema = z
  .strictObject({
    name: name('Certificate name (unique; used in references and version ids).'),
    description: text('What it is for.').optional(),
    commonName: text('Subject CN.', 64).optional(),
    dnsNames: z.array(dnsName).default([]).meta({ description: 'DNS subject alternative names.' }),
    ipAddresses: z.array(ipAddress).default([]).meta({ description: 'IP subject alternative names.' }),
    keySpec: z.enum(KEY_SPECS).default('EC_P256').meta({ description: 'Key type. @default EC_P256' }),
    usage: z.enum(USAGES).default('server').meta({ description: 'Extended key usage. @default server' }),
    issuer: ref('Issuer name from `issuers`.'),
    validity: duration('Requested lifetime. @default 90d').prefault('90d'),
    renewal: renewalSchema.prefault({}),
    destinations: z.array(ref('Destination name from `destinations`.')).default([]),
    endpoints: z
      .array(ref('Endpoint name from `endpoints`.'))
      .default([])
      .meta({ description: 'Endpoints verified to serve each new version.' }),
    rollout: rolloutSchema.prefault({}),
    thresholds: thresholds
      .optional()
      .meta({ description: 'Alert thresholds. @default notifications.thresholds' }),
    owner: text('Owner (team), used for routing and messages.', 200).optional(),
    runbookUrl: httpUrl.optional().meta({ description: 'Runbook for this certificate.' }),
    tags: tags.optional(),
  })
  .meta({ description: 'A certificate certrotor owns: issues, distributes, verifies and renews.' });

const upstreamEndpointSchema = z.strictObject({
  host: hostName,
  port: port.default(443),
  servername: hostName.optional().meta({ description: 'SNI name. @default host' }),
  environment: environmentRef.optional(),
});

const feedMatch = z
  .array(z.string().min(1))
  .min(1)
  .optional()
  .meta({ description: 'Words marking certificate-related items. @default certificate, TLS, SSL, CA' });

export const feedSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('statuspage-json'),
      url: feedUrl,
      components: z.array(z.string().min(1)).optional().meta({ description: 'Only these components.' }),
      match: feedMatch,
    }),
    z.strictObject({ kind: z.literal('atom'), url: feedUrl, match: feedMatch }),
    z.strictObject({ kind: z.literal('rss'), url: feedUrl, match: feedMatch }),
    z.strictObject({
      kind: z.literal('aws-health'),
      services: z.array(z.string().min(1)).optional().meta({ description: 'e.g. RDS. @default all' }),
      eventTypeCodes: z
        .array(z.string().min(1))
        .optional()
        .meta({ description: 'e.g. AWS_RDS_PLANNED_LIFECYCLE_EVENT.' }),
      region: region.optional(),
    }),
  ])
  .meta({ description: 'Where rotation announcements for this upstream are published.' });

export const upstreamSchema = z
  .strictObject({
    name: name('Upstream name.'),
    description: text('What the upstream is.').optional(),
    owner: text('Owner (team).', 200).optional(),
    runbookUrl: httpUrl.optional(),
    endpoints: z.array(upstreamEndpointSchema).min(1).meta({ description: 'Where we connect to it.' }),
    trust: z
      .strictObject({
        pinnedFingerprints: z
          .array(fingerprint)
          .min(1)
          .optional()
          .meta({ description: 'Pinned leaf or CA fingerprints.' }),
        caBundleFile: z
          .string()
          .min(1)
          .optional()
          .meta({ description: 'CA bundle (PEM) our consumers trust for it.' }),
      })
      .prefault({})
      .meta({ description: 'What we trust for it. @default the system trust store' }),
    clientCertificate: ref(
      'Managed certificate (issuer of kind external) our consumers present to it.',
    ).optional(),
    consumers: z
      .strictObject({
        hosts: z.array(ref('Host name.')).default([]),
        fleets: z.array(ref('Fleet name.')).default([]),
        destinations: z.array(ref('Destination name.')).default([]),
      })
      .prefault({})
      .meta({ description: 'Everything that talks to this upstream and must be ready before a cutover.' }),
    feeds: z.array(feedSchema).default([]),
    safetyMargin: duration('Deadline = cutover minus this. @default 1d').prefault('1d'),
    thresholds: z
      .array(z.number().positive('must be a positive number of days'))
      .min(1)
      .default([14, 7, 3, 1])
      .meta({
        description:
          'Days before the deadline at which to alert while consumers are not ready. @default [14, 7, 3, 1]',
      }),
    expiryWarning: duration(
      'An upstream certificate this close to expiry with no announcement means a rotation is imminent. @default 30d',
    ).prefault('30d'),
  })
  .meta({ description: 'An external service we connect to, whose certificates rotate on its schedule.' });

export const channelSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      name: name('Channel name.'),
      kind: z.literal('slack'),
      webhook: z
        .strictObject({
          env: z
            .string()
            .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name such as SLACK_WEBHOOK_URL')
            .optional()
            .meta({ description: 'Environment variable holding the webhook URL (CLI, local mode).' }),
          secretId: text(
            'Secrets Manager secret (name or ARN) holding the webhook URL (deployed service).',
            2048,
          ).optional(),
        })
        .meta({ description: 'Where the webhook URL is kept; never the URL itself.' }),
      mention: text('Who to mention on escalation, e.g. `<!subteam^S0123>`.', 200).optional(),
    }),
  ])
  .meta({ description: 'A notification channel.' });

export const routeSchema = z
  .strictObject({
    owner: text('Matches the owner of the certificate, endpoint or upstream.', 200).optional(),
    environments: z
      .array(environmentRef)
      .min(1)
      .optional()
      .meta({ description: 'Matches any affected environment.' }),
    detailTypes: z
      .array(z.enum(DETAIL_TYPES as [DetailTypeName, ...DetailTypeName[]]))
      .min(1)
      .optional()
      .meta({ description: 'Matches these event detail types.' }),
    channel: ref('Channel name from `notifications.channels`.'),
    mention: text('Overrides the channel mention for this route.', 200).optional(),
  })
  .meta({ description: 'Sends matching events to a channel; the first matching route wins.' });

export const notificationsSchema = z
  .strictObject({
    thresholds: thresholds
      .default([...DEFAULT_THRESHOLDS])
      .meta({ description: 'Alert thresholds before expiry. @default [30, 14, 7, 3, 1, expired]' }),
    channels: z.array(channelSchema).default([]),
    defaultChannel: ref(
      'Channel for events no route matches. Required with more than one channel.',
    ).optional(),
    operatorChannel: ref('Where undeliverable-notification problems go. @default defaultChannel').optional(),
    routes: z.array(routeSchema).default([]),
    runbookBaseUrl: httpUrl
      .optional()
      .meta({ description: 'Runbooks per finding live under this URL (`<base>/<detail-type-slug>`).' }),
    escalation: z
      .strictObject({
        mentionAtDays: z.number().positive().default(3).meta({ description: '@default 3' }),
        mention: text('@default `<!here>`', 200).default('<!here>'),
      })
      .prefault({})
      .meta({ description: 'From this many days left, messages mention the owner group.' }),
    digest: z
      .strictObject({
        enabled: z.boolean().default(false).meta({ description: '@default false' }),
        schedule: scheduleExpression
          .default('cron(0 8 ? * MON-FRI *)')
          .meta({ description: '@default weekdays 08:00' }),
        timeZone: timeZone.optional(),
        horizon: duration('Everything expiring within this is listed. @default 30d').prefault('30d'),
        channels: z
          .array(ref('Channel name.'))
          .min(1)
          .optional()
          .meta({ description: '@default every channel' }),
      })
      .prefault({})
      .meta({ description: 'One daily digest per channel instead of one message per certificate.' }),
    delivery: z
      .strictObject({
        messagesPerSecond: z.number().positive().max(10).default(1).meta({ description: '@default 1' }),
        maxAttempts: z.number().int().min(1).max(20).default(5).meta({ description: '@default 5' }),
        timeout: duration('Per request. @default 10s').prefault('10s'),
      })
      .prefault({})
      .meta({ description: 'Webhook pacing and retries.' }),
  })
  .meta({ description: 'Who is told what, where.' });

export const silenceSchema = z
  .strictObject({
    scope: z
      .union([z.string(), z.array(z.string()).min(1)])
      .superRefine((value, ctx) => {
        try {
          parseSilenceScope(value);
        } catch (error) {
          ctx.addIssue({
            code: 'custom',
            message: (error as Error).message.replace(/^silence scope:?\s*/, ''),
            input: value,
          });
        }
      })
      .meta({
        description:
          '`kind=pattern` matchers, ANDed: certificate, environment, owner, upstream (globs allowed).',
      }),
    from: z.iso
      .datetime({ offset: true })
      .optional()
      .meta({ description: 'Start, ISO 8601. @default always' }),
    until: z.iso.datetime({ offset: true }).meta({ description: 'End, ISO 8601.' }),
    reason: text('Why (an incident id, a ticket).'),
    createdBy: text('Who.', 200).optional(),
  })
  .meta({
    description: 'Quiets repeated alerts for a scope; anything expiring inside the window still alerts.',
  });

export const schedulesSchema = z
  .strictObject({
    timeZone: timeZone.default('UTC').meta({ description: '@default UTC' }),
    inventory: schedule('rate(1 day)', 'Inventory of every source.'),
    probe: schedule('rate(1 hour)', 'Fresh-handshake probe of every endpoint.'),
    upstream: schedule('rate(6 hours)', 'Upstream feeds, announcements and readiness.'),
    retry: z
      .strictObject({
        maximumAttempts: z.number().int().min(0).max(185).default(3).meta({ description: '@default 3' }),
        maximumEventAge: duration('@default 1h').prefault('1h'),
      })
      .prefault({})
      .meta({ description: 'Scheduler retry policy (then the dead-letter queue).' }),
  })
  .meta({
    description: 'When the deployed service runs each job (`certrotor run` locally runs them all once).',
  });

export const probeSchema = z
  .strictObject({
    timeout: duration('Connect + handshake timeout. @default 5s').prefault('5s'),
    connectTimeout: duration(
      'TCP connect timeout, within `timeout` (a host that does not answer fails fast). @default `timeout`',
    ).optional(),
    concurrency: z.number().int().min(1).max(10000).default(50).meta({ description: '@default 50' }),
    allAddresses: z
      .boolean()
      .default(true)
      .meta({ description: 'Probe every address behind a name. @default true' }),
    workers: z.number().int().min(0).max(32).optional().meta({
      description:
        'Worker threads for handshakes in large scans (0 or 1: all on one thread). @default the CLI: min(4, CPUs); the Lambdas: 0, since a function has a fraction of a CPU',
    }),
  })
  .meta({ description: 'TLS probing.' });

export const localSchema = z
  .strictObject({
    stateDirectory: z
      .string()
      .min(1)
      .default('.certrotor')
      .meta({ description: 'State, keys and local CA. @default .certrotor' }),
    events: z
      .strictObject({
        stdout: z.boolean().default(true).meta({ description: '@default true' }),
        jsonlFile: z
          .string()
          .min(1)
          .optional()
          .meta({ description: 'Append events here, one JSON per line.' }),
      })
      .prefault({}),
  })
  .meta({ description: 'Local mode (CLI without --backend aws). Relative paths are relative to this file.' });

export const awsSchema = z
  .strictObject({
    region: region.optional(),
    eventBusName: z.string().min(1).default('certrotor').meta({ description: '@default certrotor' }),
    tableName: z
      .string()
      .min(3)
      .optional()
      .meta({ description: 'State table. @default the stack creates one' }),
    secretPrefix: z
      .string()
      .min(1)
      .default('certrotor/')
      .meta({ description: 'Bundle secrets are named under this. @default certrotor/' }),
    observationTtl: duration('How long observations are kept. @default 30d').prefault('30d'),
    acmDaysBeforeExpiry: z
      .number()
      .int()
      .min(1)
      .max(45)
      .default(45)
      .meta({ description: 'ACM account setting for its own expiry events (1-45). @default 45' }),
  })
  .meta({ description: 'AWS mode (deployed service, or CLI with --backend aws).' });

export const configSchema = z
  .strictObject({
    version: z.literal(CONFIG_VERSION).meta({ description: 'Configuration format version: 1.' }),
    backend: z
      .enum(['local', 'aws'])
      .default('local')
      .meta({ description: 'CLI default backend. @default local' }),
    environments: z.array(environmentSchema).min(1),
    sources: z.array(sourceSchema).default([]),
    issuers: z.array(issuerSchema).default([]),
    destinations: z.array(destinationSchema).default([]),
    hosts: z.array(hostSchema).default([]),
    fleets: z.array(fleetSchema).default([]),
    endpoints: z.array(endpointSchema).default([]),
    certificates: z.array(managedCertificateSchema).default([]),
    upstreams: z.array(upstreamSchema).default([]),
    notifications: notificationsSchema.prefault({}),
    silences: z.array(silenceSchema).default([]),
    schedules: schedulesSchema.prefault({}),
    probe: probeSchema.prefault({}),
    local: localSchema.prefault({}),
    aws: awsSchema.prefault({}),
  })
  .meta({
    title: 'certrotor configuration',
    description: 'The certrotor configuration file (YAML or JSON).',
  });

export type CertrotorConfig = z.output<typeof configSchema>;
export type CertrotorConfigInput = z.input<typeof configSchema>;
export type EnvironmentConfig = z.output<typeof environmentSchema>;
export type SourceConfig = z.output<typeof sourceSchema>;
export type IssuerConfig = z.output<typeof issuerSchema>;
export type DestinationConfig = z.output<typeof destinationSchema>;
export type HealthCheckConfig = z.output<typeof healthCheckSchema>;
export type HostConfig = z.output<typeof hostSchema>;
export type FleetConfig = z.output<typeof fleetSchema>;
export type EndpointConfig = z.output<typeof endpointSchema>;
export type RolloutConfig = z.output<typeof rolloutSchema>;
export type RenewalConfig = z.output<typeof renewalSchema>;
export type ManagedCertificateConfig = z.output<typeof managedCertificateSchema>;
export type FeedConfig = z.output<typeof feedSchema>;
export type UpstreamConfig = z.output<typeof upstreamSchema>;
export type ChannelConfig = z.output<typeof channelSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type NotificationsConfig = z.output<typeof notificationsSchema>;
export type SilenceConfig = z.output<typeof silenceSchema>;
export type SchedulesConfig = z.output<typeof schedulesSchema>;
export type ProbeConfig = z.output<typeof probeSchema>;
export type LocalConfig = z.output<typeof localSchema>;
export type AwsConfig = z.output<typeof awsSchema>;

export type IssuerKind = IssuerConfig['kind'];
export type DestinationKind = DestinationConfig['kind'];
export type KeySpecName = (typeof KEY_SPECS)[number];
export type Usage = (typeof USAGES)[number];

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

export type ConfigCheck =
  | { readonly ok: true; readonly config: CertrotorConfig; readonly problems: readonly [] }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Checks `raw` and returns every problem (structure, references, key material) without throwing. */
export function checkConfig(raw: unknown): ConfigCheck {
  if (raw === null || raw === undefined) return { ok: false, problems: ['the configuration is empty'] };
  const result = configSchema.safeParse(raw, { reportInput: true });
  const found: PathProblem[] = [
    ...(result.success ? [] : issueProblems(result.error.issues)),
    ...referenceProblems(raw),
    ...keyMaterialProblems(raw),
  ];
  const problems = [...new Set(inDocumentOrder(found, raw).map((p) => scrubPrivateKeys(formatProblem(p))))];
  if (problems.length > 0 || !result.success) return { ok: false, problems };
  return { ok: true, config: result.data, problems: [] };
}

/**
 * Validates a parsed configuration file.
 * @param sourceName the file (or other origin) named in the error
 * @throws ConfigurationError listing every problem, each with its path
 */
export function validateConfig(raw: unknown, sourceName: string): CertrotorConfig {
  const check = checkConfig(raw);
  if (!check.ok) throw new ConfigurationError(sourceName, check.problems);
  return check.config;
}

/** JSON Schema (draft-07) of the configuration file, for editors (`# yaml-language-server: $schema=…`). */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { target: 'draft-07', io: 'input' }),
    $id: 'https://certrotor.dev/schemas/config.schema.json',
  };
}

// ---------------------------------------------------------------------------------------------
// Cross references: run on the raw input too, so that they are reported alongside shape problems
// ---------------------------------------------------------------------------------------------

type Raw = Record<string, unknown>;

function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entries(value: unknown): [number, Raw][] {
  return Array.isArray(value)
    ? value.flatMap((item, i): [number, Raw][] => (isRecord(item) ? [[i, item]] : []))
    : [];
}

function strings(value: unknown): [number, string][] {
  return Array.isArray(value)
    ? value.flatMap((item, i): [number, string][] => (typeof item === 'string' ? [[i, item]] : []))
    : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

class Problems {
  readonly list: PathProblem[] = [];
  add(path: (string | number)[], message: string): void {
    this.list.push({ path, message });
  }
}

/** Names defined in one section, with the index of their first definition. */
class Names {
  readonly byName = new Map<string, Raw>();
  constructor(
    readonly section: string,
    readonly label: string,
    list: unknown,
    problems: Problems,
  ) {
    const firstIndex = new Map<string, number>();
    for (const [i, item] of entries(list)) {
      const n = str(item.name);
      if (n === undefined) continue;
      const first = firstIndex.get(n);
      if (first !== undefined) {
        problems.add(
          [...section.split('.'), i, 'name'],
          `duplicate ${label} name "${n}" (also ${formatPath([...section.split('.'), first])})`,
        );
        continue;
      }
      firstIndex.set(n, i);
      this.byName.set(n, item);
    }
  }

  check(problems: Problems, path: (string | number)[], value: unknown): Raw | undefined {
    if (typeof value !== 'string') return undefined;
    const found = this.byName.get(value);
    if (!found) {
      const known = [...this.byName.keys()];
      const hint =
        known.length === 0
          ? `no ${this.label}s are defined in ${this.section}`
          : `defined: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''}`;
      problems.add(path, `${this.label} "${value}" is not defined (${hint})`);
    }
    return found;
  }
}

function keyModeMessage(problem: string, destination: string | undefined): string {
  const of = destination === undefined ? '' : ` (destination ${destination})`;
  return `${problem}${of}; use '0600', or '0640' with a group`;
}

function referenceProblems(raw: unknown): PathProblem[] {
  if (!isRecord(raw)) return [];
  const p = new Problems();
  const notifications = isRecord(raw.notifications) ? raw.notifications : {};
  const environments = new Names('environments', 'environment', raw.environments, p);
  new Names('sources', 'source', raw.sources, p);
  const issuers = new Names('issuers', 'issuer', raw.issuers, p);
  const destinations = new Names('destinations', 'destination', raw.destinations, p);
  const hosts = new Names('hosts', 'host', raw.hosts, p);
  const fleets = new Names('fleets', 'fleet', raw.fleets, p);
  const endpoints = new Names('endpoints', 'endpoint', raw.endpoints, p);
  const certificates = new Names('certificates', 'certificate', raw.certificates, p);
  const upstreams = new Names('upstreams', 'upstream', raw.upstreams, p);
  const channels = new Names('notifications.channels', 'channel', notifications.channels, p);

  const env = (path: (string | number)[], value: unknown) => environments.check(p, path, value);

  for (const [i, source] of entries(raw.sources)) env(['sources', i, 'environment'], source.environment);

  for (const [i, d] of entries(raw.destinations)) {
    env(['destinations', i, 'environment'], d.environment);
    if (typeof d.keyMode === 'string' && /^0?[0-7]{3}$/.test(d.keyMode)) {
      const problem = keyModeProblem(d.keyMode);
      if (problem) p.add(['destinations', i, 'keyMode'], keyModeMessage(problem, str(d.name)));
    }
    if (d.kind === 'files') hosts.check(p, ['destinations', i, 'host'], d.host);
    if (d.kind === 'agent') {
      fleets.check(p, ['destinations', i, 'fleet'], d.fleet);
      for (const [j, h] of strings(d.hosts)) hosts.check(p, ['destinations', i, 'hosts', j], h);
      if (d.fleet === undefined && d.hosts === undefined) {
        p.add(['destinations', i], 'an agent destination needs a fleet or hosts');
      }
    }
    if (
      d.kind === 'ssm' &&
      isRecord(d.targets) &&
      d.targets.tags === undefined &&
      d.targets.instanceIds === undefined
    ) {
      p.add(['destinations', i, 'targets'], 'needs tags or instanceIds');
    }
  }

  for (const [i, h] of entries(raw.hosts)) {
    env(['hosts', i, 'environment'], h.environment);
  }

  for (const [i, f] of entries(raw.fleets)) {
    env(['fleets', i, 'environment'], f.environment);
    for (const [j, h] of strings(f.hosts)) hosts.check(p, ['fleets', i, 'hosts', j], h);
    if (isRecord(f.selector)) env(['fleets', i, 'selector', 'environment'], f.selector.environment);
    if (f.hosts === undefined && f.selector === undefined)
      p.add(['fleets', i], 'a fleet needs hosts or a selector');
  }

  for (const [i, e] of entries(raw.endpoints)) {
    env(['endpoints', i, 'environment'], e.environment);
    if (isRecord(e.expect))
      certificates.check(p, ['endpoints', i, 'expect', 'certificate'], e.expect.certificate);
  }

  for (const [i, c] of entries(raw.certificates)) {
    const issuer = issuers.check(p, ['certificates', i, 'issuer'], c.issuer);
    for (const [j, d] of strings(c.destinations))
      destinations.check(p, ['certificates', i, 'destinations', j], d);
    for (const [j, e] of strings(c.endpoints)) endpoints.check(p, ['certificates', i, 'endpoints', j], e);
    if (
      isRecord(c.renewal) &&
      c.renewal.renewBefore !== undefined &&
      c.renewal.renewBeforePercentage !== undefined
    ) {
      p.add(['certificates', i, 'renewal'], 'set renewBefore or renewBeforePercentage, not both');
    }
    const hasNames =
      c.commonName !== undefined ||
      (Array.isArray(c.dnsNames) && c.dnsNames.length > 0) ||
      (Array.isArray(c.ipAddresses) && c.ipAddresses.length > 0);
    if (!hasNames && issuer?.kind !== 'external') {
      p.add(['certificates', i], 'needs a commonName, dnsNames or ipAddresses');
    }
  }

  for (const [i, u] of entries(raw.upstreams)) {
    for (const [j, e] of entries(u.endpoints))
      env(['upstreams', i, 'endpoints', j, 'environment'], e.environment);
    const client = certificates.check(p, ['upstreams', i, 'clientCertificate'], u.clientCertificate);
    if (client) {
      const issuer = issuers.byName.get(str(client.issuer) ?? '');
      if (issuer && issuer.kind !== 'external') {
        p.add(
          ['upstreams', i, 'clientCertificate'],
          `certificate "${String(u.clientCertificate)}" is issued by "${String(client.issuer)}" (${String(issuer.kind)}); a vendor-supplied client certificate needs an issuer of kind external`,
        );
      }
      const usage = client.usage ?? 'server';
      if (usage === 'server') {
        p.add(
          ['upstreams', i, 'clientCertificate'],
          `certificate "${String(u.clientCertificate)}" has usage server; a client certificate needs usage client or server-and-client`,
        );
      }
    }
    if (isRecord(u.consumers)) {
      for (const [j, h] of strings(u.consumers.hosts))
        hosts.check(p, ['upstreams', i, 'consumers', 'hosts', j], h);
      for (const [j, f] of strings(u.consumers.fleets))
        fleets.check(p, ['upstreams', i, 'consumers', 'fleets', j], f);
      for (const [j, d] of strings(u.consumers.destinations)) {
        destinations.check(p, ['upstreams', i, 'consumers', 'destinations', j], d);
      }
    }
  }

  channels.check(p, ['notifications', 'defaultChannel'], notifications.defaultChannel);
  channels.check(p, ['notifications', 'operatorChannel'], notifications.operatorChannel);
  if (notifications.defaultChannel === undefined && channels.byName.size > 1) {
    p.add(['notifications', 'defaultChannel'], 'is required when more than one channel is configured');
  }
  for (const [i, r] of entries(notifications.routes)) {
    channels.check(p, ['notifications', 'routes', i, 'channel'], r.channel);
    for (const [j, e] of strings(r.environments)) env(['notifications', 'routes', i, 'environments', j], e);
    if (r.owner === undefined && r.environments === undefined && r.detailTypes === undefined) {
      p.add(
        ['notifications', 'routes', i],
        'a route needs owner, environments or detailTypes to match (otherwise use defaultChannel)',
      );
    }
  }
  if (isRecord(notifications.digest)) {
    for (const [j, c] of strings(notifications.digest.channels))
      channels.check(p, ['notifications', 'digest', 'channels', j], c);
  }

  for (const [i, s] of entries(raw.silences)) {
    const from = str(s.from);
    const until = str(s.until);
    if (from !== undefined && until !== undefined && Date.parse(until) <= Date.parse(from)) {
      p.add(['silences', i, 'until'], 'must be after from');
    }
    // Exact (glob-free) environment and upstream names must exist; certificate patterns may also
    // match unmanaged certificates by subject or DNS name, so they are not checked.
    const scope = typeof s.scope === 'string' ? s.scope.split(',') : strings(s.scope).map(([, v]) => v);
    for (const part of scope.flatMap((t) => t.split(','))) {
      const [kind, pattern] = part.split('=').map((t) => t.trim());
      if (pattern === undefined || /[*?]/.test(pattern)) continue;
      if (kind === 'environment') env(['silences', i, 'scope'], pattern);
      if (kind === 'upstream') upstreams.check(p, ['silences', i, 'scope'], pattern);
    }
  }

  return p.list;
}

/** Configuration never holds private keys: they belong in files or stores it references. */
function keyMaterialProblems(raw: unknown, path: (string | number)[] = []): PathProblem[] {
  if (typeof raw === 'string') {
    return containsPrivateKey(raw)
      ? [{ path, message: 'contains a private key; reference a file or a secret instead' }]
      : [];
  }
  if (Array.isArray(raw)) return raw.flatMap((item, i) => keyMaterialProblems(item, [...path, i]));
  if (isRecord(raw))
    return Object.entries(raw).flatMap(([key, item]) => keyMaterialProblems(item, [...path, key]));
  return [];
}
