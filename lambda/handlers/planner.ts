/**
 * Starts one rotation execution per certificate due for renewal. The execution name is derived from
 * the certificate and its next version id, so a duplicate start (two schedules, a retry) is
 * `ExecutionAlreadyExists`: a no-op, never a second rotation.
 *
 * Before starting, the planner takes the certificate's rotation lock on behalf of that execution (the
 * lock owner is the execution name, which the workflow's start step recognises as its own). A lock held
 * by anyone else (a manual `certrotor rotate`, an execution for another version) means a rotation is in
 * progress: the certificate is reported as locked and nothing is started.
 */
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { isAwsError } from '../adapters/aws/clients';
import type { CertrotorConfig, ManagedCertificateConfig } from '../config/configuration';
import { ConfigurationError, describeError } from '../domain/errors';
import { isRenewalDue, stableRandom } from '../domain/renewal';
import {
  COLLECTIONS,
  type CertificateState,
  type Lock,
  acquireLock,
  nextVersionId,
  readCertificateState,
  releaseLock,
} from '../use-cases/certificate-state';
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
  readonly version?: string;
  readonly executionName?: string;
  readonly status: 'started' | 'already-started' | 'locked' | 'not-due' | 'not-managed-here' | 'failed';
  readonly reason: string;
}

/** Step Functions execution names: 1-80 characters of letters, digits, `-` and `_`. */
export function executionNameFor(name: string, version: string): string {
  return `${name}-${version}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);
}

/** As long as the workflow's own lock (its start step takes the same lock, with the same lifetime). */
export const PLANNED_LOCK_TTL_MS = 3 * 3_600_000;

export type StartExecution = (
  executionName: string,
  input: Record<string, unknown>,
) => Promise<'started' | 'already-started'>;

export async function planRotations(
  config: CertrotorConfig,
  state: StateStore,
  start: StartExecution,
  now: Date,
): Promise<PlannedStart[]> {
  const deployable = new Set(config.issuers.filter((i) => i.kind === 'acm-pca').map((i) => i.name));
  const results: PlannedStart[] = [];
  for (const certificate of config.certificates) {
    if (!deployable.has(certificate.issuer)) {
      results.push({
        name: certificate.name,
        status: 'not-managed-here',
        reason: `issuer ${certificate.issuer} is not issued from the deployed service`,
      });
      continue;
    }
    // One certificate's failure (state unreadable, start refused) never keeps the others from rotating.
    try {
      results.push(await planOne(certificate, state, start, now));
    } catch (error) {
      results.push({ name: certificate.name, status: 'failed', reason: describeError(error) });
    }
  }
  return results;
}

async function planOne(
  certificate: ManagedCertificateConfig,
  state: StateStore,
  start: StartExecution,
  now: Date,
): Promise<PlannedStart> {
  const current: CertificateState | undefined = (await readCertificateState(state, certificate.name, now))
    ?.value;
  const version = nextVersionId(certificate.name, current);
  const executionName = executionNameFor(certificate.name, version);
  const base = { name: certificate.name, version, executionName };
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
    if (!renewal.due) return { ...base, status: 'not-due', reason: renewal.message };
  }

  const lock: Lock = {
    owner: executionName,
    acquiredAt: now.toISOString(),
    purpose: `rotate ${certificate.name} ${version} (planned)`,
  };
  const took = await acquireLock(state, certificate.name, lock, now, PLANNED_LOCK_TTL_MS);
  if (!took) {
    const held = await state.get<Lock>(COLLECTIONS.locks, certificate.name, now);
    // Held by this very execution: an earlier planner run took it; starting again is the no-op below.
    if (held !== undefined && held.value.owner !== executionName) {
      return {
        ...base,
        status: 'locked',
        reason: `rotation of ${certificate.name} is already in progress (lock held by ${held.value.owner} since ${held.value.acquiredAt})`,
      };
    }
  }
  try {
    const status = await start(executionName, { name: certificate.name, version, trigger: 'schedule' });
    if (!took) {
      // StartExecution with the same name and input is idempotent while the execution runs: an
      // earlier run of the planner (which took the lock) started it, this one changed nothing.
      return { ...base, status: 'already-started', reason: `execution ${executionName} was started earlier` };
    }
    return { ...base, status, reason: current?.current ? 'renewal due' : 'no current version' };
  } catch (error) {
    // Nothing will run under this lock: free it so the next schedule (or a manual rotation) can.
    let released = '';
    if (took)
      await releaseLock(state, certificate.name, executionName, now).catch((releaseError: unknown) => {
        released = `; its lock could not be released either (it expires by itself): ${describeError(releaseError)}`;
      });
    return { ...base, status: 'failed', reason: `${describeError(error)}${released}` };
  }
}

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

export async function handler(): Promise<{
  started: number;
  alreadyStarted: number;
  locked: number;
  failed: number;
}> {
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
  const locked = results.filter((r) => r.status === 'locked').length;
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
  return {
    started,
    alreadyStarted: results.filter((r) => r.status === 'already-started').length,
    locked,
    failed,
  };
}
