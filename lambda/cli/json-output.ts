/**
 * The CLI's machine output: every `--json` document is one JSON object naming its schema
 * (`"schema": "certrotor.<command>/1"`), with numbers as numbers, times as ISO 8601 UTC and
 * fingerprints whole (SHA-256, 32 colon-separated uppercase bytes, as `openssl x509 -fingerprint
 * -sha256` prints them). One schema per command, defined here and published as JSON Schema
 * (draft-07) in schemas/cli/ (see `cliJsonSchemaFiles`; regenerated with UPDATE_DOCS=1, checked by
 * test/cli/json-schemas.test.ts). A schema's version changes only when a field is removed or changes
 * meaning; new optional fields keep it.
 */
import * as z from 'zod';
import { SEVERITIES } from '../domain/findings';
import type { CliContext } from './context';

/** SHA-256 fingerprint, whole: `AB:CD:…` (32 bytes). */
const fingerprint = z
  .string()
  .regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
  .meta({ description: 'SHA-256 fingerprint, 32 colon-separated uppercase hex bytes' });
const time = z.iso.datetime({ offset: true }).meta({ description: 'ISO 8601 time, UTC' });
const wholeDays = z.int().meta({ description: 'whole days (negative once past)' });
const severity = z.enum(SEVERITIES);
/** A certificate with clientAuth from a public CA (lambda/domain/public-client-auth.ts). */
const clientAuthSunset = z
  .object({
    date: z.iso.date().meta({ description: 'from this day its CA issues it no more with clientAuth' }),
    authority: z.string().meta({ description: "who says so: Let's Encrypt, Chrome Root Program" }),
  })
  .meta({ description: 'clientAuth from a public CA: the date after which it cannot be renewed with it' });
const failure = z.looseObject({ what: z.string(), error: z.string() });
const event = z.looseObject({
  detailType: z.string(),
  detail: z.looseObject({}),
});

const place = z.looseObject({
  environment: z.string(),
  location: z.string(),
  status: z.string().meta({ description: '`expired 2 days ago`, `expires in 5 days`, `ok`, or a kind' }),
  affected: z.boolean(),
  fingerprintSha256: fingerprint.optional(),
  notAfter: time.optional(),
  host: z.string().optional().meta({ description: 'the host whose agent reports this certificate' }),
});

const finding = z.looseObject({
  kind: z.string().meta({ description: 'the finding kind: expired, expiring, drift, … (docs/events.md)' }),
  severity,
  certificate: z
    .looseObject({
      fingerprintSha256: fingerprint,
      subject: z.string(),
      serialNumber: z.string().optional(),
      notAfter: time.optional(),
      name: z.string().optional(),
    })
    .optional(),
  environments: z.array(z.string()),
  locations: z.array(z.string()),
  daysLeft: wholeDays.optional(),
  message: z.string(),
  dedupeKey: z.string(),
  relatedKeys: z.array(z.string()).optional(),
  details: z.looseObject({}),
  identity: z.string().optional(),
  places: z.array(place).optional(),
  endpoints: z.array(z.string()).optional(),
});

const rotation = z.looseObject({
  name: z.string(),
  version: z.string(),
  rotationId: z.string(),
  status: z.string(),
  reason: z.string().optional(),
  previousFingerprint: fingerprint.optional(),
  newFingerprint: fingerprint.optional(),
  newNotAfter: time.optional(),
  targets: z.array(z.looseObject({ destination: z.string(), target: z.string(), state: z.string() })),
  convergence: z.number().min(0).max(100),
});

const consumerStatus = z.looseObject({ consumer: z.string(), ready: z.boolean() });
const announcement = z.looseObject({
  id: z.string(),
  stage: z.string(),
  deadline: time.optional(),
  cutover: time.optional(),
  consumers: z.array(consumerStatus).optional(),
  afterCutover: z
    .array(z.looseObject({ consumer: z.string(), connects: z.boolean(), reason: z.string() }))
    .optional(),
});
const upstreamRun = z.looseObject({
  upstream: z.string(),
  delivered: z
    .record(z.string(), z.array(z.string()))
    .optional()
    .meta({ description: 'consumers verified on the new material, by announcement id' }),
  retired: z
    .array(z.string())
    .optional()
    .meta({ description: 'announcements whose old material was retired' }),
  announcements: z.array(announcement),
});

const silence = z.looseObject({
  id: z.string(),
  scope: z.array(z.looseObject({})).meta({ description: 'matchers, all of which must hold' }),
  until: time,
  reason: z.string(),
});

const certificateReport = z.looseObject({
  fingerprintSha256: fingerprint,
  serialNumber: z.string(),
  subject: z.string(),
  issuer: z.string(),
  notBefore: time,
  notAfter: time,
  daysLeft: wholeDays,
  isCA: z.boolean(),
});

const hostView = z.looseObject({
  host: z.string(),
  certificate: z.string(),
  environment: z.string(),
  state: z.string(),
  reason: z.string().optional(),
  expectedFingerprint: fingerprint.optional(),
  installedFingerprint: fingerprint.optional(),
  servedFingerprint: fingerprint.optional(),
  reportAt: time.optional(),
});

/** The body of each command's document (without `schema`), by command. */
const BODIES = {
  scan: {
    description: '`certrotor scan --json`: what the scan found, and what it reported now.',
    shape: {
      at: time,
      findings: z.array(finding),
      newFindings: z.int().min(0),
      events: z.array(event),
      failures: z.array(failure),
    },
  },
  status: {
    description: '`certrotor status --json`: one row per certificate and place.',
    shape: {
      at: time,
      rows: z.array(
        z.looseObject({
          environment: z.string(),
          where: z.string(),
          certificate: z.string(),
          identity: z.string().nullable(),
          fingerprintSha256: fingerprint.nullable(),
          notAfter: time.nullable(),
          daysLeft: wholeDays.nullable(),
          severity: z.enum(['ok', ...SEVERITIES]),
          state: z.string(),
          clientAuthSunset: clientAuthSunset.optional(),
        }),
      ),
    },
  },
  plan: {
    description: '`certrotor plan --json`: what will need acting on within the horizon, as of now.',
    shape: {
      at: time,
      horizon: z.string(),
      until: time,
      actions: z.array(
        z.looseObject({
          what: z.string(),
          when: time,
          severity,
          why: z.string(),
          notAfter: time.optional(),
          daysLeft: wholeDays.optional(),
        }),
      ),
      failures: z.array(failure),
    },
  },
  run: {
    description: '`certrotor run --json`: one cycle: scan, rotations, upstream watches.',
    shape: {
      at: time,
      findings: z.array(finding),
      newFindings: z.int().min(0),
      events: z.int().min(0).meta({ description: 'events published by this run' }),
      rotations: z.array(rotation),
      deferred: z.array(z.looseObject({ name: z.string(), until: time, reason: z.string() })),
      upstreams: z.array(upstreamRun).optional(),
      failures: z.array(failure),
    },
  },
  rotate: {
    description: '`certrotor rotate <name> --json`: the rotation and what failed.',
    shape: { rotation, failures: z.array(failure) },
  },
  repair: {
    description: '`certrotor repair <name> --json`: whether an interrupted rotation was finished or undone.',
    shape: {
      repaired: z.boolean(),
      reason: z.string().optional(),
      rotation: rotation.optional(),
      failures: z.array(failure).optional(),
    },
  },
  hosts: {
    description: '`certrotor hosts --json`: each host’s installed and served version.',
    shape: { at: time, hosts: z.array(hostView), findings: z.array(finding) },
  },
  inspect: {
    description: '`certrotor inspect <file|host:port> --json`: the certificates of a file or endpoint.',
    shape: { at: time, target: z.string(), certificates: z.array(certificateReport) },
  },
  'config-validate': {
    description: '`certrotor config validate --json`: every problem of a configuration file.',
    shape: {
      ok: z.boolean(),
      file: z.string(),
      backend: z.string(),
      problems: z.array(z.string()),
      locations: z.array(z.looseObject({ problem: z.string() })).optional(),
    },
  },
  silence: {
    description: '`certrotor silence --json`: the silence created.',
    shape: { silence },
  },
  'silence-list': {
    description: '`certrotor silence list --json`: the silences in force.',
    shape: {
      at: time,
      silences: z.array(silence.extend({ origin: z.enum(['stored', 'configuration']) })),
    },
  },
  'silence-lift': {
    description: '`certrotor silence lift <id> --json`: the silence ended.',
    shape: { lifted: silence },
  },
  'upstream-announce': {
    description: '`certrotor upstream announce --json`: the announcement recorded.',
    shape: {
      announcement: z.looseObject({
        id: z.string(),
        upstream: z.string(),
        windowStart: time,
        cutover: time,
      }),
    },
  },
  'upstream-import-client-cert': {
    description: '`certrotor upstream import-client-cert --json`: the client certificate imported.',
    shape: {
      upstream: z.string(),
      name: z.string(),
      version: z.string(),
      fingerprintSha256: fingerprint,
      subject: z.string(),
      notAfter: time,
      announcement: z.string().optional(),
      clientAuthSunset: clientAuthSunset.optional(),
    },
  },
  'upstream-watch': {
    description: '`certrotor upstream watch --json`: announcements, deliveries and verdicts per upstream.',
    shape: {
      at: time,
      upstreams: z.array(upstreamRun),
      events: z.array(event),
      failures: z.array(failure),
    },
  },
  'upstream-status': {
    description: '`certrotor upstream status --json`: each announcement’s stage and consumers.',
    shape: {
      at: time,
      upstreams: z.array(
        z.looseObject({
          upstream: z.string(),
          error: z.string().optional(),
          announcements: z.array(announcement),
        }),
      ),
    },
  },
} as const;

export type JsonCommand = keyof typeof BODIES;

/** `certrotor.scan/1`. */
export function schemaId(command: JsonCommand): string {
  return `certrotor.${command}/1`;
}

/** The zod schema of a command's whole document. */
export function documentSchema(command: JsonCommand) {
  return z.looseObject({ schema: z.literal(schemaId(command)), ...BODIES[command].shape });
}

export const JSON_COMMANDS = Object.keys(BODIES) as JsonCommand[];

/** Writes a command's document: `{ "schema": "certrotor.<command>/1", …body }`. */
export function printJson(ctx: CliContext, command: JsonCommand, body: Record<string, unknown>): void {
  ctx.out(JSON.stringify({ schema: schemaId(command), ...body }, null, 2));
}

/** schemas/cli/<command>.json for every command: JSON Schema draft-07, as published. */
export function cliJsonSchemaFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const command of JSON_COMMANDS) {
    const schema = {
      ...z.toJSONSchema(documentSchema(command), { target: 'draft-07', io: 'output' }),
      $id: `https://certrotor.dev/schemas/cli/${command}.v1.json`,
      title: schemaId(command),
      description: BODIES[command].description,
    };
    files[`schemas/cli/${command}.json`] = `${JSON.stringify(schema, null, 2)}\n`;
  }
  return files;
}
