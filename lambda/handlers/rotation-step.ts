/**
 * One step of the rotation state machine: parses the task input and runs the rotation step it names
 * (lambda/use-cases/rotation/step-router.ts), the same steps the CLI's in-process driver runs.
 */
import { parseRotationStep, runRotationStep } from '../use-cases/rotation/step-router';
import {
  AwsClients,
  loadConfiguration,
  logger,
  parseEnvironment,
  tracer,
  workflowSpec,
} from './support/runtime';
import { rotationDeps } from './support/rotation-deps';
import { instrumented } from './support/instrumented';

export type { RotationStepInput } from '../use-cases/rotation/step-router';

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

async function run(event: unknown): Promise<unknown> {
  const step = parseRotationStep(event);
  logger.appendKeys({ certificate: step.name, version: step.version, action: step.action });
  tracer.putAnnotation('certificate', step.name);
  const config = await loadConfiguration(env);
  try {
    return await runRotationStep(rotationDeps(config, env, clients), workflowSpec(config, step.name), step);
  } catch (error) {
    logger.error('rotation step failed', { error: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    logger.resetKeys();
  }
}

export const handler = instrumented(run);
