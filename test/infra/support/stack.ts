/**
 * One synthesized certrotor stack per test file, from the example configuration. Bundling is skipped
 * (context `aws:cdk:bundling-stacks`): the template, the nag checks and the state machine definition
 * do not depend on bundle contents, and `npx cdk synth` / `npm run bench:bundles` bundle for real.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseConfigText } from '../../../lambda/adapters/local/config-file';
import { CertRotorStack } from '../../../lib/certrotor-stack';

export const EXAMPLE_CONFIG = join(__dirname, '..', '..', '..', 'config', 'certrotor.example.yaml');

export interface Synthesized {
  readonly app: App;
  readonly stack: CertRotorStack;
  readonly template: Template;
}

let cached: Synthesized | undefined;

export function exampleConfiguration(): unknown {
  return parseConfigText(readFileSync(EXAMPLE_CONFIG, 'utf8'), EXAMPLE_CONFIG);
}

export function synthesizeExample(): Synthesized {
  if (cached) return cached;
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CertRotorStack(app, 'CertRotor', {
    configuration: exampleConfiguration(),
    configurationName: EXAMPLE_CONFIG,
  });
  cached = { app, stack, template: Template.fromStack(stack) };
  return cached;
}

/** Resources of `type` in the template, by logical id. */
export function resourcesOf(
  template: Template,
  type: string,
): Record<string, { Properties: Record<string, unknown> }> {
  return template.findResources(type) as Record<string, { Properties: Record<string, unknown> }>;
}
