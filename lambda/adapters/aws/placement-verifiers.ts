/**
 * The rotation-step functions of the other network placements, as the CDK construct lists them in
 * CERTROTOR_VERIFIERS (a JSON array of { name, environments, functionName }): the rotation steps that
 * check targets in one invocation (rollback) probe those placements' targets through them
 * (lambda/use-cases/rotation/placement-prober.ts). Unset: every probe is local.
 */
import { ConfigurationError } from '../../domain/errors';
import type { ProbeRequest, ProbeResult } from '../../domain/ports';
import { type RemotePlacement, VERIFIERS_VARIABLE, probeRequestOf } from '../../domain/rotation/placements';
import type { AwsClientProvider } from './clients';

export { VERIFIERS_VARIABLE };

type LambdaSdk = typeof import('@aws-sdk/client-lambda');

export interface PlacementVerifierEntry {
  readonly name: string;
  readonly environments: readonly string[];
  /** Name or ARN of the placement's rotation-step function. */
  readonly functionName: string;
}

export function parseVerifiers(variable: string | undefined): PlacementVerifierEntry[] {
  if (variable === undefined || variable === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(variable);
  } catch {
    throw new ConfigurationError('Lambda environment', [`${VERIFIERS_VARIABLE}: not JSON`]);
  }
  const valid =
    Array.isArray(parsed) &&
    parsed.every(
      (v: Partial<PlacementVerifierEntry> | null) =>
        typeof v?.name === 'string' &&
        typeof v.functionName === 'string' &&
        Array.isArray(v.environments) &&
        v.environments.every((e) => typeof e === 'string'),
    );
  if (!valid)
    throw new ConfigurationError('Lambda environment', [
      `${VERIFIERS_VARIABLE}: must be a list of { name, environments, functionName }`,
    ]);
  return parsed as PlacementVerifierEntry[];
}

/** Each placement's probe: one synchronous invocation of its rotation-step function (`probe` step). */
export function remotePlacements(
  entries: readonly PlacementVerifierEntry[],
  clients: AwsClientProvider,
  ref: { readonly name: string; readonly version: string; readonly execution: string },
): RemotePlacement[] {
  return entries.map((entry) => ({
    name: entry.name,
    environments: entry.environments,
    probe: async (request: ProbeRequest): Promise<ProbeResult[]> => {
      // Loaded on first use: most rotations never probe another placement (cold starts stay short).
      // require, not import(): the bundle is CommonJS and the runtime's SDK resolves through NODE_PATH.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { InvokeCommand, LambdaClient } = require('@aws-sdk/client-lambda') as LambdaSdk;
      const answer = await clients.get(LambdaClient).send(
        new InvokeCommand({
          FunctionName: entry.functionName,
          Payload: Buffer.from(
            JSON.stringify({ action: 'probe', ...ref, request: probeRequestOf(request) }),
            'utf8',
          ),
        }),
      );
      const text = answer.Payload ? Buffer.from(answer.Payload).toString('utf8') : 'null';
      if (answer.FunctionError) {
        const message = (JSON.parse(text) as { errorMessage?: string } | null)?.errorMessage;
        throw new Error(`${entry.functionName}: ${message ?? answer.FunctionError}`);
      }
      const results = JSON.parse(text) as unknown;
      if (!Array.isArray(results)) throw new Error(`${entry.functionName}: answered no probe results`);
      return results as ProbeResult[];
    },
  }));
}
