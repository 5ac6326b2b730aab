/** The rotation's adapters, built from configuration (only the rotation-step function loads these SDK clients). */
import { buildRotationAdapters } from '../../wiring/aws';
import { configuredProber } from '../../adapters/net/tls-prober';
import type { CertrotorConfig } from '../../config/configuration';
import type { RotationDeps } from '../../use-cases/rotation/spec';
import { type AwsClients, type HandlerEnvironment, eventPublisher, stateStore } from './runtime';

/**
 * Everything the rotation steps need, built from configuration. File destinations are not deliverable
 * from Lambda; agent destinations record desired versions in the state table for the hosts' agents.
 */
export function rotationDeps(
  config: CertrotorConfig,
  env: HandlerEnvironment,
  clients: AwsClients,
): RotationDeps {
  const clock = () => new Date();
  const state = stateStore(env, clients);
  const { issuers, destinations, bundles } = buildRotationAdapters(config, clients, {
    ...(env.CERTROTOR_KMS_KEY_ID ? { kmsKeyId: env.CERTROTOR_KMS_KEY_ID } : {}),
    clock,
    state,
    waitForAgents: false,
  });
  return {
    issuers,
    destinations,
    bundles,
    state,
    prober: configuredProber(config.probe, { clock, inLambda: true }),
    clock,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    events: eventPublisher(env, clients),
  };
}
