/**
 * Issuers: what signs new certificates (`external` means a vendor supplies them).
 */
import * as z from 'zod';
import { arn, duration, KEY_SPECS, name, region, text } from './fields';

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
      kind: z.literal('external'),
      description: text('Who supplies these certificates and how.').optional(),
    }),
  ])
  // No `acm` kind until ACM exportable certificates can be issued from (issue 17): the configuration
  // accepts only what some engine runs (lambda/config/backends.ts).
  .meta({ description: 'What signs new certificates; `external` means a vendor supplies them.' });
