/**
 * Configuration → host agents: which hosts an `agent` destination covers (by name or fleet), which
 * certificates a host's agent installs, where, and how it proves them; and the `agent` destinations
 * themselves for the rotation workflow.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CertrotorConfig, type HostConfig, keyModeProblem } from '../config/configuration';
import { InvalidInputError } from '../domain/errors';
import type { BundleStore, Clock, ProbeRequest, StateStore, TlsProber } from '../domain/ports';
import {
  type AgentDestinationConfig,
  agentDestinationHosts,
  agentReportTimeoutMs,
  assignmentsFor,
} from '../config/views/agent-hosts';
import { AgentDestination } from '../adapters/local/agent-destination';
import { FileInstaller, commandHealthCheck } from '../adapters/local/agent-host';
import type { FileOwner, InstallFileNames } from '../adapters/local/file-destination';
import { type AgentCertificate } from '../use-cases/agent/model';
import { type HealthCheck } from '../domain/ports';
import { allHealthChecks, handshakeHealthCheck } from '../use-cases/agent/health';

export {
  type AgentAssignment,
  type AgentDestinationConfig,
  agentDestinationHosts,
  assignmentsFor,
  expectedAgentHosts,
  fleetMembers,
} from '../config/views/agent-hosts';

export function findAgentHost(config: CertrotorConfig, name: string): HostConfig {
  const host = config.hosts.find((h) => h.name === name);
  if (!host) {
    throw new InvalidInputError(
      `--host ${name}: no such host in the configuration (hosts: ${config.hosts.map((h) => h.name).join(', ') || 'none'})`,
    );
  }
  return host;
}

/** The agent's certificates with their installers and health checks. */
export function agentCertificates(
  config: CertrotorConfig,
  host: HostConfig,
  deps: { prober: TlsProber; sleep: (ms: number) => Promise<void> },
): AgentCertificate[] {
  const assignments = assignmentsFor(config, host.name);
  const perDirectory = new Map<string, number>();
  for (const a of assignments)
    perDirectory.set(a.destination.directory, (perDirectory.get(a.destination.directory) ?? 0) + 1);
  return assignments.map((a) => {
    const d = a.destination;
    // Two certificates through one destination must not share files: each gets a subdirectory.
    const directory =
      (perDirectory.get(d.directory) ?? 0) > 1 ? join(d.directory, a.certificate) : d.directory;
    const owner = resolveFileOwner(d.owner, d.group, `destinations.${d.name}`);
    const checks: HealthCheck[] = [];
    if (d.healthCheck.handshake && host.endpoint) {
      const request: ProbeRequest = {
        host: host.endpoint.host ?? host.address ?? host.name,
        port: host.endpoint.port,
        ...(host.endpoint.servername ? { servername: host.endpoint.servername } : {}),
        timeoutMs: d.healthCheck.timeout,
        allAddresses: false,
      };
      checks.push(
        handshakeHealthCheck(deps.prober, request, { attempts: 5, intervalMs: 1000, sleep: deps.sleep }),
      );
    }
    if (d.healthCheck.command)
      checks.push(
        commandHealthCheck(d.healthCheck.command, { timeoutMs: d.healthCheck.timeout, cwd: directory }),
      );
    return {
      name: a.certificate,
      installer: new FileInstaller({
        certificate: a.certificate,
        directory,
        ...(d.reloadCommand !== undefined ? { reload: d.reloadCommand } : {}),
        reloadTimeoutMs: d.reloadTimeout,
        ...(owner ? { owner } : {}),
        ...installLayout(d, `destinations.${d.name}`),
      }),
      ...(checks.length > 0 ? { healthCheck: allHealthChecks(checks) } : {}),
    };
  });
}

/** `agent` destinations for the rotation workflow. */
export function buildAgentDestinations(
  config: CertrotorConfig,
  deps: { state: StateStore; bundles: BundleStore; clock: Clock; sleep: (ms: number) => Promise<void> },
): Map<string, AgentDestination> {
  const out = new Map<string, AgentDestination>();
  for (const d of config.destinations) {
    if (d.kind !== 'agent') continue;
    out.set(
      d.name,
      new AgentDestination({
        name: d.name,
        hosts: agentDestinationHosts(config, d),
        ...deps,
        timeoutMs: agentReportTimeoutMs(config, d),
      }),
    );
  }
  return out;
}

/**
 * File names and key mode of a `files` or `agent` destination, for FileDestination and FileInstaller.
 * The configuration schema already refuses a key mode readable by others; this names the setting
 * if a configuration built in code slips one through.
 */
export function installLayout(
  d: Pick<AgentDestinationConfig, 'fileNames' | 'keyMode'>,
  where: string,
): { fileNames: InstallFileNames; keyMode: number } {
  const problem = keyModeProblem(d.keyMode);
  if (problem)
    throw new InvalidInputError(`${where}.keyMode: ${problem}; use '0600', or '0640' with a group`);
  return { fileNames: d.fileNames, keyMode: Number.parseInt(d.keyMode, 8) };
}

/**
 * Numeric ids, or names looked up in /etc/passwd and /etc/group of this machine (where the files
 * are written). `where` names the setting in errors, e.g. `destinations.web`.
 */
export function resolveFileOwner(
  user: string | undefined,
  group: string | undefined,
  where: string,
): FileOwner | undefined {
  if (user === undefined && group === undefined) return undefined;
  const uid = user === undefined ? undefined : idOf(user, '/etc/passwd', `${where}.owner`);
  const gid = group === undefined ? undefined : idOf(group, '/etc/group', `${where}.group`);
  return { ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}) };
}

function idOf(name: string, file: string, what: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // fall through to the error below
  }
  const line = text.split('\n').find((l) => l.split(':')[0] === name);
  const id = line?.split(':')[2];
  if (id === undefined || !/^\d+$/.test(id))
    throw new InvalidInputError(`${what} ${name}: not found in ${file}`);
  return Number(id);
}
