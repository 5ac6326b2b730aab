/**
 * Destinations: where a certificate is delivered, with the install shape (file names, modes, reload) shared by the kinds that write files.
 */
import * as z from 'zod';
import { arn, command, duration, environmentRef, fileMode, name, ref, region, text } from './fields';

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
