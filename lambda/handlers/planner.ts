/**
 * The planner Lambda: starts one rotation workflow execution per certificate due for renewal
 * (lambda/use-cases/rotation/plan-rotations.ts), with the renewal decision the scan announces.
 *
 * Certificates of `acm` issuers are renewed by ACM itself: on every run the planner compares what ACM
 * holds with what was distributed (lambda/use-cases/acm-renewals.ts) and starts a rotation of each
 * one ACM renewed. ACM's "ACM Certificate Available" event invokes it too, for the event's
 * certificates only; the schedule is the reconciliation for events that never arrived.
 *
 * Certificates of `acme` issuers are judged with the CA's suggested renewal window (ARI, RFC 9773) of
 * their current version, as the CLI's scan and run judge them: a CA-suggested early renewal (an
 * incident, a revocation) starts a rotation, and the plan's reason names the window.
 */
import * as z from 'zod';
import { SFNClient, executionStarter } from '../adapters/aws/step-functions';
import { acmIssuedCertificates, plannedCertificates } from '../config/views/planner';
import { ConfigurationError } from '../domain/errors';
import { SCAN_PROBLEMS_METRIC } from '../domain/health-metrics';
import { reconcileAcmRenewals, renewedReasons } from '../use-cases/acm-renewals';
import { type PlannedStart, planRotations } from '../use-cases/rotation/plan-rotations';
import { acmStatusReader } from '../wiring/acm-issuer';
import { acmeRenewalWindows } from '../wiring/acme';
import { buildRotationAdapters } from '../wiring/aws';
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

/** ACM's event for a certificate issued or renewed (the schedule's invocation is anything else). */
export const ACM_AVAILABLE_DETAIL_TYPE = 'ACM Certificate Available';
const acmAvailableSchema = z.object({
  source: z.literal('aws.acm'),
  'detail-type': z.literal(ACM_AVAILABLE_DETAIL_TYPE),
  resources: z.array(z.string()).default([]),
  detail: z.object({ Action: z.string().optional() }).passthrough().optional(),
});

async function run(event?: unknown): Promise<{
  started: number;
  alreadyStarted: number;
  locked: number;
  failed: number;
}> {
  const stateMachineArn = env.CERTROTOR_STATE_MACHINE_ARN;
  if (!stateMachineArn)
    throw new ConfigurationError('Lambda environment', ['CERTROTOR_STATE_MACHINE_ARN: required']);
  const config = await loadConfiguration(env);
  const state = stateStore(env, clients);
  const acmEvent = acmAvailableSchema.safeParse(event);
  const eventArns = acmEvent.success ? acmEvent.data.resources : undefined;
  if (eventArns)
    logger.info('ACM certificate available', {
      certificates: eventArns,
      action: acmEvent.data?.detail?.Action,
    });
  const reconciled = await reconcileAcmRenewals(
    {
      state,
      clock: () => new Date(),
      status: acmStatusReader(config, clients),
    },
    acmIssuedCertificates(config),
    eventArns,
  );
  for (const r of reconciled) logger.info('ACM renewal check', { ...r });
  // Renewed by ACM: due, with why (caRenewalDecision, the same decision as `certrotor run`'s).
  const renewed = renewedReasons(reconciled);
  const planned = plannedCertificates(config)
    .map((c) => (renewed.has(c.name) ? { ...c, dueBecause: renewed.get(c.name)! } : c))
    // An ACM event plans only the certificates it renewed; the schedule plans every certificate.
    .filter((c) => !eventArns || renewed.has(c.name));
  // ARI needs the current version's certificate (the key store) and the issuer's directory.
  const acme = config.issuers.some((i) => i.kind === 'acme')
    ? buildRotationAdapters(config, clients, {
        ...(env.CERTROTOR_KMS_KEY_ID ? { kmsKeyId: env.CERTROTOR_KMS_KEY_ID } : {}),
        clock: () => new Date(),
        state,
      })
    : undefined;
  const results: PlannedStart[] = [
    ...(await planRotations(
      planned,
      state,
      executionStarter(clients.get(SFNClient), stateMachineArn),
      new Date(),
      acme ? acmeRenewalWindows(acme.issuers, acme.bundles) : undefined,
    )),
    ...reconciled.flatMap((r): PlannedStart[] =>
      r.outcome === 'failed'
        ? [{ name: r.name, status: 'failed', reason: `ACM renewal check: ${r.reason}` }]
        : [],
    ),
  ];
  for (const r of results) logger.info('rotation plan', { ...r });
  const started = results.filter((r) => r.status === 'started').length;
  const locked = results.filter((r) => r.status === 'locked').length;
  const failed = results.filter((r) => r.status === 'failed').length;
  // Only when not zero: a metric costs for each hour it receives data; the alarm fills no data with 0.
  if (started > 0) metrics.addMetric('RotationsStarted', 'Count', started);
  if (failed > 0) metrics.addMetric(SCAN_PROBLEMS_METRIC, 'Count', failed);
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
