/**
 * The spec of one configured upstream: the mapping from configuration to what the upstream steps use,
 * with each consumer resolved through the destinations' targets (so it lives with the wiring, which
 * holds the destinations).
 */
import type { CertrotorConfig, UpstreamConfig } from '../config/configuration';
import type { Destination } from '../domain/ports';
import type { UpstreamConsumer, UpstreamSpec } from '../use-cases/upstream/model';

/**
 * The spec of one configured upstream: every consumer host, fleet member and destination target.
 * @param caPem the contents of `trust.caBundleFile`, read by the caller
 */
export async function upstreamSpecOf(
  config: CertrotorConfig,
  upstream: UpstreamConfig,
  destinations: ReadonlyMap<string, Destination>,
  caPem?: readonly string[],
): Promise<UpstreamSpec> {
  const hostEnv = new Map(config.hosts.map((h) => [h.name, h.environment]));
  const consumers = new Map<string, UpstreamConsumer>();
  const addHost = (name: string) => {
    if (!consumers.has(name)) {
      const environment = hostEnv.get(name);
      consumers.set(name, { name, kind: 'host', host: name, ...(environment ? { environment } : {}) });
    }
  };
  upstream.consumers.hosts.forEach(addHost);
  for (const fleetName of upstream.consumers.fleets) {
    const fleet = config.fleets.find((f) => f.name === fleetName);
    (fleet?.hosts ?? []).forEach(addHost);
  }
  // A host consumer is reachable through a destination of the client certificate that covers it
  // (typically its agent): the new client certificate is delivered there during the overlap.
  const client = upstream.clientCertificate
    ? config.certificates.find((c) => c.name === upstream.clientCertificate)
    : undefined;
  for (const name of client?.destinations ?? []) {
    const destination = destinations.get(name);
    if (!destination) continue;
    const targets = await destination.targets();
    for (const consumer of [...consumers.values()]) {
      if (consumer.destination || !targets.includes(consumer.name)) continue;
      consumers.set(consumer.name, { ...consumer, destination: name, target: consumer.name });
    }
  }
  for (const name of upstream.consumers.destinations) {
    const destination = destinations.get(name);
    const configured = config.destinations.find((d) => d.name === name);
    const targets = destination ? await destination.targets() : [];
    for (const target of targets) {
      const environment = hostEnv.get(target) ?? configured?.environment;
      consumers.set(target, {
        name: target,
        kind: 'destination',
        destination: name,
        target,
        ...(hostEnv.has(target) ? { host: target } : {}),
        ...(environment ? { environment } : {}),
      });
    }
  }
  const environment =
    upstream.endpoints.find((e) => e.environment)?.environment ?? config.environments[0]?.name ?? 'default';
  return {
    name: upstream.name,
    environment,
    ...(upstream.owner ? { owner: upstream.owner } : {}),
    endpoints: upstream.endpoints.map((e) => ({
      host: e.host,
      port: e.port,
      ...(e.servername ? { servername: e.servername } : {}),
      ...(e.environment ? { environment: e.environment } : {}),
    })),
    pinnedFingerprints: upstream.trust.pinnedFingerprints ?? [],
    ...(caPem ? { caPem } : {}),
    ...(upstream.clientCertificate ? { clientCertificate: upstream.clientCertificate } : {}),
    consumers: [...consumers.values()],
    feeds: upstream.feeds.flatMap((f) =>
      f.kind === 'aws-health'
        ? []
        : [
            {
              kind: f.kind,
              url: f.url,
              ...(f.match ? { match: f.match } : {}),
              ...(f.kind === 'statuspage-json' && f.components ? { components: f.components } : {}),
            },
          ],
    ),
    policy: { safetyMarginMs: upstream.safetyMargin, thresholds: upstream.thresholds },
    expiryWarningMs: upstream.expiryWarning,
  };
}
