/**
 * One step of the rotation state machine: parses the task input and runs the rotation step it names
 * (lambda/use-cases/rotation/step-router.ts), the same steps the CLI's in-process driver runs.
 */
import { placementProber } from '../use-cases/rotation/placement-prober';
import { parseRotationStep, runRotationStep } from '../use-cases/rotation/step-router';
import {
  AwsClients,
  loadConfiguration,
  logger,
  parseEnvironment,
  tracer,
  workflowSpec,
} from './support/runtime';
import { VERIFIERS_VARIABLE, parseVerifiers, remotePlacements } from '../adapters/aws/placement-verifiers';
import { rotationDeps } from './support/rotation-deps';
import { instrumented } from './support/instrumented';

export type { RotationStepInput } from '../use-cases/rotation/step-router';

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);
// The rotation-step functions of the other network placements (set on the rotation's own function).
const verifiers = parseVerifiers(process.env[VERIFIERS_VARIABLE]);

async function run(event: unknown): Promise<unknown> {
  const step = parseRotationStep(event);
  logger.appendKeys({ certificate: step.name, version: step.version, action: step.action });
  tracer.putAnnotation('certificate', step.name);
  const config = await loadConfiguration(env);
  try {
    const spec = workflowSpec(config, step.name);
    const deps = rotationDeps(config, env, clients);
    // Targets another placement reaches are probed from there (a `probe` step is always local).
    const prober =
      step.action === 'probe'
        ? deps.prober
        : placementProber(deps.prober, spec, remotePlacements(verifiers, clients, step), deps.clock);
    return await runRotationStep({ ...deps, prober }, spec, step);
  } catch (error) {
    logger.error('rotation step failed', { error: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    logger.resetKeys();
  }
}

export const handler = instrumented(run);
