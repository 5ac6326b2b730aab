/**
 * `certrotor agent --host NAME [--config FILE] [--once]`: the host agent. Polls with jitter until
 * SIGTERM/SIGINT; SIGUSR1 runs a cycle at once and retries versions that failed here. `--once` runs
 * one cycle (retrying failed versions) and exits non-zero when any certificate failed.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { shortFingerprint } from '../domain/certificate';
import { awsAgentStores } from '../adapters/aws/agent-stores';
import { AwsClientPool } from '../adapters/aws/clients';
import { AgentStateJsonFile } from '../adapters/local/agent-host';
import { configuredProber } from '../adapters/net/tls-prober';
import type { CertrotorConfig } from '../config/configuration';
import { InvalidInputError } from '../domain/errors';
import type { BundleStore, StateStore } from '../domain/ports';
import { type AgentDeps } from '../use-cases/agent/model';
import { type DesiredVersionSource } from '../domain/ports';
import { FirstDesiredSource, StateStoreDesiredSource } from '../use-cases/agent/desired-source';
import { runAgentCycle } from '../use-cases/agent/cycle';
import { runAgentLoop } from '../use-cases/agent/loop';
import { agentCertificates, findAgentHost } from './agent-runtime';
import { loadCliConfig, withConfigOption } from './config-option';
import type { CliContext } from './context';
import { localStores } from '../wiring/local';

interface AgentOptions {
  readonly host: string;
  readonly config?: string;
  readonly once?: boolean;
  readonly stateFile?: string;
}

export function registerAgentCommand(program: Command, ctx: CliContext): void {
  withConfigOption(
    program
      .command('agent')
      .description(
        'Run the host agent: pull, install, reload, health-check and report this host’s certificates.',
      )
      .requiredOption('--host <name>', 'this host’s name in the configuration')
      .option('--once', 'run one cycle (retrying failed versions) and exit')
      .option('--state-file <file>', 'the agent’s local state (default: <stateDirectory>/agent/<host>.json)'),
  ).action(async (options: AgentOptions) => {
    await agentCommand(ctx, options);
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function buildAgentDeps(
  ctx: CliContext,
  config: CertrotorConfig,
  options: AgentOptions,
): Promise<AgentDeps> {
  const host = findAgentHost(config, options.host);
  const prober = configuredProber(config.probe, { clock: ctx.clock });
  const certificates = agentCertificates(config, host, { prober, sleep });
  if (certificates.length === 0) {
    throw new InvalidInputError(
      `--host ${host.name}: no certificate is delivered to this host through an \`agent\` destination`,
    );
  }
  const stateDir = config.local.stateDirectory;
  let desired: DesiredVersionSource;
  let bundles: BundleStore;
  let state: StateStore;
  if (config.backend === 'aws') {
    const region = config.aws.region;
    if (!config.aws.tableName)
      throw new InvalidInputError('aws.tableName: the agent needs the state table name to report');
    const aws = awsAgentStores(new AwsClientPool(region ? { region } : {}), {
      secretPrefix: config.aws.secretPrefix,
      tableName: config.aws.tableName,
    });
    bundles = aws.bundles;
    state = aws.state;
    // The workflow's desired record during a rollout (canary, batches, rollback), else AWSCURRENT.
    desired = new FirstDesiredSource([new StateStoreDesiredSource(state), aws.currentSecrets]);
  } else {
    ({ state, bundles } = localStores(config, ctx.clock));
    desired = new StateStoreDesiredSource(state);
  }
  return {
    host: host.name,
    environment: host.environment,
    certificates,
    desired,
    bundles,
    state,
    local: new AgentStateJsonFile(options.stateFile ?? join(stateDir, 'agent', `${host.name}.json`)),
    clock: ctx.clock,
    log: (line) => ctx.err(line),
  };
}

async function agentCommand(ctx: CliContext, options: AgentOptions): Promise<void> {
  const { config } = await loadCliConfig(ctx, options.config);
  const deps = await buildAgentDeps(ctx, config, options);
  if (options.once) {
    const results = await runAgentCycle({ ...deps, log: () => undefined }, { force: true });
    for (const r of results) {
      const fp = r.report?.installedFingerprint ? shortFingerprint(r.report.installedFingerprint) : 'none';
      ctx.out(
        `${deps.host}  ${r.certificate}  ${r.outcome}  installed ${fp}${r.error ? `  ${r.error}` : ''}`,
      );
    }
    if (results.some((r) => r.outcome === 'failed' || r.outcome === 'store-unavailable')) ctx.exitCode = 1;
    return;
  }
  const host = findAgentHost(config, options.host);
  let stopped = false;
  let wake: ((triggered: boolean) => void) | undefined;
  const onTrigger = () => wake?.(true);
  const onStop = () => {
    stopped = true;
    wake?.(false);
  };
  process.on('SIGUSR1', onTrigger);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  ctx.err(
    `agent ${deps.host}: ${deps.certificates.map((c) => c.name).join(', ')}; polling every ${host.agent?.pollInterval ?? 300_000} ms`,
  );
  try {
    await runAgentLoop(
      deps,
      {
        pollIntervalMs: host.agent?.pollInterval ?? 300_000,
        jitterMs: host.agent?.jitter ?? 60_000,
        random: Math.random,
      },
      {
        wait: (ms) =>
          new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => finish(false), ms);
            const finish = (triggered: boolean) => {
              clearTimeout(timer);
              wake = undefined;
              resolve(triggered);
            };
            wake = finish;
            if (stopped) finish(false);
          }),
        stopped: () => stopped,
      },
    );
  } finally {
    process.off('SIGUSR1', onTrigger);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
  }
}
