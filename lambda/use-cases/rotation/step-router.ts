/**
 * One step of the rotation workflow, chosen by `action`: the Step Functions state machine's tasks
 * call the rotation-step Lambda with these inputs, and this router runs the same step functions the
 * in-process driver runs. Input and output are references only (names, version ids, bundle reference,
 * targets, public facts); key material stays in the key store and in memory.
 */
import * as z from 'zod';
import { InvalidInputError } from '../../domain/errors';
import { finishStep } from './finish';
import { rollbackStep } from './rollback';
import type { TargetRef } from '../../domain/rotation/rollout';
import {
  type RotationDeps,
  type RotationRef,
  type RotationSpec,
  endpointsFor,
  environmentOf,
  verifyIntervalOf,
} from './spec';
import { deliverStep, issueStep, nextStep, planStep, promoteStep, startStep, verifyStep } from './steps';

const reference = {
  name: z.string().min(1),
  version: z.string().min(1),
  execution: z.string().min(1),
  trigger: z.enum(['schedule', 'manual', 'upstream', 'drift']).optional().catch(undefined),
};
const bundleRef = z.object({ name: z.string(), version: z.string(), location: z.string() });
const targetRef = z.object({ destination: z.string(), target: z.string() });
const caught = z.object({ Error: z.string().optional(), Cause: z.string().optional() }).partial();

const stepSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('start'), ...reference }),
  z.object({ action: z.literal('plan'), ...reference }),
  z.object({ action: z.literal('issue'), ...reference }),
  z.object({ action: z.literal('next'), ...reference }),
  z.object({ action: z.literal('deliver'), ...reference, bundle: bundleRef, target: targetRef }),
  z.object({
    action: z.literal('verify'),
    ...reference,
    fingerprint: z.string(),
    target: targetRef,
    deadline: z.string(),
  }),
  z.object({ action: z.literal('promote'), ...reference }),
  // Fresh handshakes on behalf of the rotation steps of another network placement (placement-prober.ts).
  z.object({
    action: z.literal('probe'),
    ...reference,
    request: z.object({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65_535),
      servername: z.string().optional(),
      caPem: z.array(z.string()).optional(),
      timeoutMs: z.number().int().positive().optional(),
      connectTimeoutMs: z.number().int().positive().optional(),
      allAddresses: z.boolean().optional(),
    }),
  }),
  z.object({ action: z.literal('rollback'), ...reference }),
  z.object({
    action: z.literal('finish'),
    ...reference,
    outcome: z.enum(['succeeded', 'rolled-back', 'failed', 'held']),
    error: caught.optional(),
    decision: z.object({ reason: z.string().optional() }).partial().optional(),
    promotion: z.object({ error: z.string().optional() }).partial().optional(),
  }),
]);
export type RotationStepInput = z.input<typeof stepSchema>;

export function parseRotationStep(event: unknown): z.output<typeof stepSchema> {
  const parsed = stepSchema.safeParse(event);
  if (!parsed.success) {
    throw new InvalidInputError(
      `rotation step input: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

export async function runRotationStep(
  deps: RotationDeps,
  spec: RotationSpec,
  step: z.output<typeof stepSchema>,
): Promise<unknown> {
  const ref: RotationRef = {
    name: step.name,
    version: step.version,
    owner: step.execution,
    ...(step.trigger ? { trigger: step.trigger } : {}),
  };
  switch (step.action) {
    case 'start':
      return startStep(deps, spec, ref);
    case 'plan':
      return {
        ...(await planStep(deps, spec, ref)),
        verifyIntervalSeconds: Math.max(1, Math.round(verifyIntervalOf(spec) / 1000)),
      };
    case 'issue':
      return issueStep(deps, spec, ref);
    case 'next': {
      // Each target names its environment, so the workflow verifies it from the network placement
      // that reaches it (lib/constructs/rotation-workflow.ts, `VerifyWhere?`).
      const decision = await nextStep(deps, spec, ref);
      if (decision.action !== 'deliver') return decision;
      return {
        ...decision,
        targets: decision.targets.map((t) => ({ ...t, environment: targetEnvironment(spec, t) })),
      };
    }
    case 'deliver':
      return deliverStep(deps, spec, ref, step.bundle, step.target);
    case 'verify':
      return verifyStep(deps, spec, ref, step.target, step.fingerprint, step.deadline);
    case 'promote':
      return promoteStep(deps, spec, ref);
    case 'probe':
      return deps.prober.probe(step.request);
    case 'rollback': {
      // Counts only: the targets stay in the state store (payloads stay small at any fleet size).
      const { targets: _targets, ...summary } = await rollbackStep(deps, spec, ref);
      return summary;
    }
    case 'finish': {
      const reason =
        (step.error?.Error || step.error?.Cause ? failureReason(step.error) : undefined) ??
        step.promotion?.error ??
        step.decision?.reason;
      const result = await finishStep(deps, spec, ref, {
        outcome: step.outcome,
        ...(reason ? { reason } : {}),
      });
      return { outcome: step.outcome, status: result.status, convergence: result.convergence };
    }
  }
}

/**
 * The environment a target is verified in: its destination's, else that of the verify endpoints
 * naming it; '' when neither says (verified by the rotation's own function).
 */
export function targetEnvironment(spec: RotationSpec, target: TargetRef): string {
  return environmentOf(spec, target.destination) ?? endpointsFor(spec, target)[0]?.environment ?? '';
}

/** One line from a Step Functions error caught, `{ Error, Cause }` (Cause may be a Lambda error JSON). */
export function failureReason(error: { Error?: string; Cause?: string }): string {
  let cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (typeof parsed.errorMessage === 'string') cause = parsed.errorMessage;
  } catch {
    // Cause is plain text (a Fail state's cause).
  }
  const line = `${error.Error ?? 'Error'}${cause ? `: ${cause}` : ''}`.split('\n')[0] ?? 'failure';
  return line.slice(0, 900);
}
