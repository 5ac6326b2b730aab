/**
 * Fresh handshakes from where a target is reachable, for the rotation steps that check targets in
 * one invocation (a rollback restores and re-checks every touched target; the workflow's Verify task
 * is routed per target instead). The deployed rotation steps run in one network placement; a target
 * in an environment another placement reaches is probed by that placement's rotation-step function
 * (its `probe` step), the others locally. Which environment a probe is for comes from the
 * certificate's verify endpoints (host, port and SNI name).
 */
import { describeError } from '../../domain/errors';
import type { TlsProber } from '../../domain/ports';
import { type RemotePlacement } from '../../domain/rotation/placements';
import type { RotationSpec } from './spec';

export { type RemotePlacement, VERIFIERS_VARIABLE, probeRequestOf } from '../../domain/rotation/placements';

/** `local` for the environments no remote placement reaches, each remote placement for its own. */
export function placementProber(
  local: TlsProber,
  spec: Pick<RotationSpec, 'verify'>,
  remotes: readonly RemotePlacement[],
  clock: () => Date,
): TlsProber {
  if (remotes.length === 0) return local;
  return {
    async probe(request) {
      const environment = spec.verify.find(
        (e) =>
          e.host === request.host &&
          e.port === request.port &&
          (e.servername ?? undefined) === (request.servername ?? undefined),
      )?.environment;
      const remote =
        environment === undefined ? undefined : remotes.find((r) => r.environments.includes(environment));
      if (!remote) return local.probe(request);
      try {
        return await remote.probe(request);
      } catch (error) {
        // A prober never throws for what stops a handshake: the check fails with the reason.
        return [
          {
            host: request.host,
            port: request.port,
            ...(request.servername ? { servername: request.servername } : {}),
            address: request.host,
            observedAt: clock().toISOString(),
            ok: false,
            error: `probing from network placement ${remote.name} failed: ${describeError(error)}`,
            chain: [],
            authorized: false,
            hostnameMatches: false,
          },
        ];
      }
    },
  };
}
