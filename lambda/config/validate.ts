/**
 * Validation at the edge: structure (strict objects everywhere, so a misspelt key is an error rather
 * than a silently ignored setting), then references between sections and key material, every
 * problem at once, each with its path.
 */
import * as z from 'zod';
import { ConfigurationError } from '../domain/errors';
import { scrubPrivateKeys } from '../domain/secret';
import { formatProblem, inDocumentOrder, issueProblems, type PathProblem } from '../domain/zod-issues';
import { type Backend, backendProblems } from './backends';
import { keyMaterialProblems, referenceProblems } from './references';
import { type CertrotorConfig, configSchema } from './schema/document';

export type ConfigCheck =
  | { readonly ok: true; readonly config: CertrotorConfig; readonly problems: readonly [] }
  | { readonly ok: false; readonly problems: readonly string[] };

export interface CheckOptions {
  /**
   * The backend that will run this configuration: every issuer, destination and source kind it cannot
   * run is a problem too (see backends.ts). @default no backend check (structure and references only)
   */
  readonly backend?: Backend;
}

/**
 * Checks `raw` and returns every problem (structure, references, key material, and with `backend`
 * the kinds that backend cannot run) without throwing.
 */
export function checkConfig(raw: unknown, options: CheckOptions = {}): ConfigCheck {
  if (raw === null || raw === undefined) return { ok: false, problems: ['the configuration is empty'] };
  const result = configSchema.safeParse(raw, { reportInput: true });
  const found: PathProblem[] = [
    ...(result.success ? [] : issueProblems(result.error.issues)),
    ...referenceProblems(raw),
    ...keyMaterialProblems(raw),
    ...(options.backend ? backendProblems(raw, options.backend) : []),
  ];
  const problems = [...new Set(inDocumentOrder(found, raw).map((p) => scrubPrivateKeys(formatProblem(p))))];
  if (problems.length > 0 || !result.success) return { ok: false, problems };
  return { ok: true, config: result.data, problems: [] };
}

/**
 * Validates a parsed configuration file.
 * @param sourceName the file (or other origin) named in the error
 * @param options.backend also refuse kinds this backend cannot run (the CDK app passes `aws`)
 * @throws ConfigurationError listing every problem, each with its path
 */
export function validateConfig(
  raw: unknown,
  sourceName: string,
  options: CheckOptions = {},
): CertrotorConfig {
  const check = checkConfig(raw, options);
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
