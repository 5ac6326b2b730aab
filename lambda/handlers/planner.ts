/**
 * The planner Lambda: starts one rotation workflow execution per certificate due for renewal
 * (lambda/use-cases/rotation/plan-rotations.ts), with the renewal decision the scan announces.
 */
import { SFNClient, executionStarter } from '../adapters/aws/step-functions';
import { plannedCertificates } from '../config/views/planner';
import { ConfigurationError } from '../domain/errors';
import { planRotations } from '../use-cases/rotation/plan-rotations';
import {
  AwsClients,
  loadConfiguration,
  logger,
  metrics,
  parseEnvironment,
  stateStore,
  tracer,
} from './support/runtime';
import { instrumented } from './support/instrumented';

export { executionNameFor, planRotations } from '../use-cases/rotation/plan-rotations';

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

async function run(): Promise<{
  started: number;
  alreadyStarted: number;
  locked: number;
  failed: number;
}> {
  const stateMachineArn = env.CERTROTOR_STATE_MACHINE_ARN;
  if (!stateMachineArn)
    throw new ConfigurationError('Lambda environment', ['CERTROTOR_STATE_MACHINE_ARN: required']);
  const config = await loadConfiguration(env);
  const results = await planRotations(
    plannedCertificates(config),
    stateStore(env, clients),
    executionStarter(clients.get(SFNClient), stateMachineArn),
    new Date(),
  );
  for (const r of results) logger.info('rotation plan', { ...r });
  const started = results.filter((r) => r.status === 'started').length;
  const locked = results.filter((r) => r.status === 'locked').length;
  const failed = results.filter((r) => r.status === 'failed').length;
  // Only when not zero: a metric costs for each hour it receives data; the alarm fills no data with 0.
  if (started > 0) metrics.addMetric('RotationsStarted', 'Count', started);
  if (failed > 0) metrics.addMetric('RotationStartFailures', 'Count', failed);
  metrics.publishStoredMetrics();
  tracer.putAnnotation('started', started);
  if (failed > 0)
    throw new Error(
      `${failed} rotation(s) could not be started: ${results
        .filter((r) => r.status === 'failed')
        .map((r) => `${r.name} (${r.reason})`)
        .join(', ')}`,
    );
  return {
    started,
    alreadyStarted: results.filter((r) => r.status === 'already-started').length,
    locked,
    failed,
  };
}

export const handler = instrumented(run);
