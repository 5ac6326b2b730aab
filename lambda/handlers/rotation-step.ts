/**
 * One step of the rotation state machine, chosen by `action`. Input and output are references only
 * (certificate name, version id, bundle reference, target, public facts); key material stays in
 * Secrets Manager and in this function's memory.
 */
import * as z from 'zod';
import { InvalidInputError } from '../domain/errors';
import {
  deliverStep,
  finishStep,
  issueRotationStep,
  listTargetsStep,
  promoteRotationStep,
  rollbackStep,
  startStep,
  verifyStep,
} from '../use-cases/rotation-workflow';
import {
  AwsClients,
  loadConfiguration,
  logger,
  parseEnvironment,
  tracer,
  workflowSpec,
} from './support/runtime';
import { rotationDeps } from './support/rotation-deps';

const reference = {
  name: z.string().min(1),
  version: z.string().min(1),
  execution: z.string().min(1),
  trigger: z.enum(['schedule', 'manual', 'upstream', 'drift']).optional().catch(undefined),
};
const bundleRef = z.object({ name: z.string(), version: z.string(), location: z.string() });
const targetRef = z.object({ destination: z.string(), target: z.string() });
const issued = z.object({
  bundle: bundleRef,
  fingerprint: z.string(),
  notAfter: z.string(),
  subject: z.string(),
  issuer: z.string(),
  serialNumber: z.string(),
});
const targets = z.object({
  canary: z.array(targetRef),
  rest: z.array(targetRef),
  verifyIntervalSeconds: z.number(),
});

const stepSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('start'), ...reference }),
  z.object({ action: z.literal('issue'), ...reference }),
  z.object({ action: z.literal('list-targets'), ...reference }),
  z.object({ action: z.literal('deliver'), ...reference, bundle: bundleRef, target: targetRef }),
  z.object({
    action: z.literal('verify'),
    ...reference,
    fingerprint: z.string(),
    target: targetRef,
    deadline: z.string(),
  }),
  z.object({ action: z.literal('rollback'), ...reference }),
  z.object({ action: z.literal('promote'), ...reference, issued, targets }),
  z.object({
    action: z.literal('finish'),
    ...reference,
    outcome: z.enum(['succeeded', 'rolled-back', 'failed']),
    issued: issued.partial().optional(),
    targets: targets.partial().optional(),
    error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
    rollback: z
      .object({
        restored: z.array(targetRef).optional(),
        failed: z.array(z.object({ target: targetRef, error: z.string() })).optional(),
        verified: z.boolean().optional(),
        verifiedBeforeRollback: z.number().int().min(0).optional(),
      })
      .optional(),
  }),
]);
export type RotationStepInput = z.input<typeof stepSchema>;

const env = parseEnvironment();
const clients = new AwsClients(env.AWS_REGION);

export async function handler(event: unknown): Promise<unknown> {
  const parsed = stepSchema.safeParse(event);
  if (!parsed.success) {
    throw new InvalidInputError(
      `rotation step input: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const step = parsed.data;
  logger.appendKeys({ certificate: step.name, version: step.version, action: step.action });
  tracer.putAnnotation('certificate', step.name);
  const config = await loadConfiguration(env);
  const spec = workflowSpec(config, step.name);
  const deps = rotationDeps(config, env, clients);
  const ref = {
    name: step.name,
    version: step.version,
    execution: step.execution,
    ...(step.trigger ? { trigger: step.trigger } : {}),
  };
  try {
    switch (step.action) {
      case 'start':
        return await startStep(deps, spec, ref);
      case 'issue':
        return await issueRotationStep(deps, spec, ref);
      case 'list-targets':
        return await listTargetsStep(deps, spec);
      case 'deliver':
        return await deliverStep(deps, spec, ref, step.bundle, step.target);
      case 'verify':
        return await verifyStep(deps, spec, step.target, step.fingerprint, step.deadline, ref);
      case 'rollback':
        return await rollbackStep(deps, spec, ref);
      case 'promote':
        await promoteRotationStep(deps, spec, step.issued, step.targets);
        return { promoted: true };
      case 'finish':
        return await finishStep(deps, spec, ref, step);
    }
  } catch (error) {
    logger.error('rotation step failed', { error: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    logger.resetKeys();
  }
}
