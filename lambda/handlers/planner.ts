/**
 * Starts one rotation execution per certificate due for renewal. The execution name is derived from
 * the certificate and its next version id, so a duplicate start (two schedules, a retry) is
 * `ExecutionAlreadyExists`: a no-op, never a second rotation.
 */
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { isAwsError } from '../adapters/aws/clients';
import type { CertrotorConfig } from '../domain/config';
import { ConfigurationError, describeError } from '../domain/errors';
import { isRenewalDue, stableRandom } from '../domain/renewal';
import { type CertificateState, nextVersionId, readCertificateState } from '../use-cases/certificate-state';
import type { StateStore } from '../domain/ports';
import {
  AwsClients,
  loadConfiguration,
  logger,
  metrics,
  parseEnvironment,
  stateStore,
  tracer,
} from './support/runtime';

export interface PlannedStart {
  readonly name: string;
  readonly version: string;
  readonly executionName: string;
  readonly status: 'started' | 'already-started' | 'not-due' | 'not-managed-here' | 'failed';
  readonly reason: string;
}

/** Step Functions execution names: 1-80 characters of letters, digits, `-` and `_`. */
export function executionNameFor(name: string, version: string): string {
  return `${name}-${version}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);
}

export async function planRotations(
  config: CertrotorConfig,
  state: StateStore,
  start: (executionName: string, input: Record<string, unknown>) => Promise<'started' | 'already-started'>,
  now: Date,
): Promise<PlannedStart[]> {
  const deployable = new Set(config.issuers.filter((i) => i.kind === 'acm-pca').map((i) => i.name));
  const results: PlannedStart[] = [];
  for (const certificate of config.certificates) {
    const current: CertificateState | undefined = (await readCertificateState(state, certificate.name, now))
      ?.value;
    const version = nextVersionId(certificate.name, current);
    const executionName = executionNameFor(certificate.name, version);
    const base = { name: certificate.name, version, executionName };
    if (!deployable.has(certificate.issuer)) {
      results.push({
        ...base,
        status: 'not-managed-here',
        reason: `issuer ${certificate.issuer} is not issued from the deployed service`,
      });
      continue;
    }
    if (current?.current) {
      const renewal = isRenewalDue(
        current.current,
        {
          ...(certificate.renewal.renewBefore !== undefined
            ? { renewBefore: certificate.renewal.renewBefore }
            : {}),
          ...(certificate.renewal.renewBeforePercentage !== undefined
            ? { renewBeforePercentage: certificate.renewal.renewBeforePercentage }
            : {}),
          jitterPercentage: certificate.renewal.jitterPercentage,
        },
        now,
        stableRandom(`${certificate.name}|${current.current.fingerprintSha256}`),
      );
      if (!renewal.due) {
        results.push({ ...base, status: 'not-due', reason: renewal.message });
        continue;
      }
    }
    try {
      const status = await start(executionName, { name: certificate.name, version, trigger: 'schedule' });
      results.push({ ...base, status, reason: current?.current ? 'renewal due' : 'no current version' });
    } catch (error) {
      results.push({ ...base, status: 'failed', reason: describeError(error) });
    }
  }
  return results;
}

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

export async function handler(): Promise<{ started: number; failed: number }> {
  const stateMachineArn = env.CERTROTOR_STATE_MACHINE_ARN;
  if (!stateMachineArn)
    throw new ConfigurationError('Lambda environment', ['CERTROTOR_STATE_MACHINE_ARN: required']);
  const config = await loadConfiguration(env);
  const sfn = clients.get(SFNClient);
  const results = await planRotations(
    config,
    stateStore(env, clients),
    async (name, input) => {
      try {
        await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
        return 'started';
      } catch (error) {
        if (isAwsError(error, 'ExecutionAlreadyExists')) return 'already-started';
        throw error;
      }
    },
    new Date(),
  );
  for (const r of results) logger.info('rotation plan', { ...r });
  const started = results.filter((r) => r.status === 'started').length;
  const failed = results.filter((r) => r.status === 'failed').length;
  metrics.addMetric('RotationsStarted', 'Count', started);
  metrics.addMetric('RotationStartFailures', 'Count', failed);
  metrics.publishStoredMetrics();
  tracer.putAnnotation('started', started);
  if (failed > 0)
    throw new Error(
      `${failed} rotation(s) could not be started: ${results
        .filter((r) => r.status === 'failed')
        .map((r) => `${r.name} (${r.reason})`)
        .join(', ')}`,
    );
  return { started, failed };
}
