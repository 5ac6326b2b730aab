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
export * from './schema/certificates';
export * from './schema/destinations';
export * from './schema/document';
export { KEY_SPECS, USAGES, scheduleExpressionProblem } from './schema/fields';
export * from './schema/inventory';
export * from './schema/issuers';
export * from './schema/notifications';
export * from './schema/operations';
export * from './schema/upstreams';
export * from './validate';
export {
  BACKENDS,
  BACKEND_LABELS,
  type Backend,
  DESTINATION_KINDS,
  ISSUER_KINDS,
  SOURCE_KINDS,
  type SourceKind,
  backendProblems,
  kindsRunBy,
} from './backends';
