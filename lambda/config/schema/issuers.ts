/**
 * Issuers: what signs new certificates (`external` means a vendor supplies them).
 */
import * as z from 'zod';
import { arn, duration, hostName, httpUrl, KEY_SPECS, name, port, region, text } from './fields';

/** How an ACME issuer answers challenges (issue 17). */
const acmeChallengeSchema = z
  .discriminatedUnion('type', [
    z
      .strictObject({
        type: z.literal('http-01'),
        listen: z
          .strictObject({
            host: hostName.default('0.0.0.0').meta({ description: 'Address to listen on. @default 0.0.0.0' }),
            port: port.default(80).meta({ description: 'Port the CA connects to. @default 80' }),
          })
          .optional()
          .meta({ description: 'A responder the CLI runs while a challenge is outstanding.' }),
        webroot: z.string().min(1).optional().meta({
          description: 'Directory a web server serves: the token goes to .well-known/acme-challenge/.',
        }),
      })
      .superRefine((c, ctx) => {
        if ((c.listen === undefined) === (c.webroot === undefined))
          ctx.addIssue({
            code: 'custom',
            path: c.listen ? ['webroot'] : [],
            message: 'needs exactly one of listen (a responder the CLI runs) or webroot',
          });
      }),
    z.strictObject({
      type: z.literal('dns-01'),
      route53: z
        .strictObject({
          hostedZoneId: z
            .string()
            .regex(
              /^(\/hostedzone\/)?[A-Z0-9]{1,32}$/,
              'must be a Route 53 hosted zone id such as Z0123456789ABC',
            )
            .meta({ description: 'Hosted zone holding the names.' }),
          region: region.optional(),
        })
        .meta({ description: 'TXT records through Route 53 (UPSERT, wait for INSYNC, DELETE).' }),
    }),
  ])
  .meta({
    description:
      'How challenges are answered: http-01 (listen or webroot; the CLI on a host) or dns-01 (route53; also the deployed service, which answers dns-01 only).',
  });

const acmeEabSchema = z
  .strictObject({
    keyId: z.string().min(1).meta({ description: 'EAB key id from the CA.' }),
    hmacKeySecretId: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Secrets Manager secret holding the base64url MAC key.' }),
    hmacKeyFile: z.string().min(1).optional().meta({ description: 'File holding the base64url MAC key.' }),
  })
  .superRefine((e, ctx) => {
    if ((e.hmacKeySecretId === undefined) === (e.hmacKeyFile === undefined))
      ctx.addIssue({
        code: 'custom',
        path: e.hmacKeySecretId ? ['hmacKeyFile'] : [],
        message: 'needs exactly one of hmacKeySecretId or hmacKeyFile',
      });
  })
  .meta({ description: 'External Account Binding (CAs that require it, e.g. ACM managed ACME).' });

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
      kind: z.literal('acme'),
      directoryUrl: httpUrl.meta({ description: 'ACME directory URL (RFC 8555).' }),
      email: z.email('must be an email address').optional().meta({ description: 'Account contact.' }),
      eab: acmeEabSchema.optional(),
      profile: z.string().min(1).optional().meta({
        description: 'Certificate profile to order (e.g. tlsserver, shortlived). @default the CA default',
      }),
      challenge: acmeChallengeSchema,
      trustFile: z.string().min(1).optional().meta({
        description:
          'Roots (PEM) the consumers of these certificates trust: endpoints are verified against them, and a renewal whose chain leads elsewhere is held. @default the system store',
      }),
      directory: z
        .string()
        .min(1)
        .optional()
        .meta({ description: 'Where the account key and order records live. @default <state>/acme/<name>' }),
    }),
    z.strictObject({
      name: name('Issuer name.'),
      kind: z.literal('acm'),
      region: region
        .optional()
        .meta({ description: 'Region of the ACM certificates. @default the SDK default' }),
      validation: z
        .strictObject({
          route53: z
            .strictObject({
              hostedZoneId: z
                .string()
                .regex(
                  /^(\/hostedzone\/)?[A-Z0-9]{1,32}$/,
                  'must be a Route 53 hosted zone id such as Z0123456789ABC',
                )
                .meta({ description: 'Hosted zone holding the names.' }),
              region: region.optional(),
            })
            .meta({
              description: "ACM's validation CNAMEs (UPSERT, wait for INSYNC; kept for ACM's renewals).",
            }),
        })
        .meta({ description: 'DNS validation of the requested names.' }),
      validationTimeout: duration(
        'Longest wait for ACM to validate and issue within one rotation step.',
      ).prefault('10m'),
    }),
    z.strictObject({
      name: name('Issuer name.'),
      kind: z.literal('external'),
      description: text('Who supplies these certificates and how.').optional(),
    }),
  ])
  // `acm`: ACM exportable public certificates (lambda/adapters/aws/acm-exportable-issuer.ts).
  .meta({ description: 'What signs new certificates; `external` means a vendor supplies them.' });
