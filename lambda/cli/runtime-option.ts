/**
 * `--backend local|aws` and the AWS options, shared by every command that reads or changes state:
 * the runtime (state store, key store, issuers, destinations, sources, events) is built for the
 * backend the flags or the configuration name.
 */
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { InvalidInputError } from '../domain/errors';
import { buildAwsRuntime } from './aws-runtime';
import { loadCliConfig } from './config-option';
import type { CliContext } from './context';
import { rehearsalConfig, rehearsalTime } from './rehearsal';
import { buildLocalRuntime, type Runtime } from './local-runtime';

export interface BackendOptions {
  config?: string;
  json?: boolean;
  backend?: string;
  region?: string;
  profile?: string;
  endpointUrl?: string;
  table?: string;
}

/** Adds `--backend` and the AWS options (region, profile, endpoint, table) to a command. */
export function withBackendOptions(command: Command): Command {
  return command
    .option(
      '--backend <local|aws>',
      "where state, keys and events live (default: the configuration's `backend`)",
    )
    .option('--region <region>', 'AWS region (--backend aws; default: aws.region, then AWS_REGION)')
    .option('--profile <name>', 'AWS shared-config profile (--backend aws)')
    .option('--endpoint-url <url>', 'send every AWS call to this endpoint (an emulator, a VPC endpoint)')
    .option('--table <name>', 'DynamoDB state table (--backend aws; default: aws.tableName)');
}

/** Builds the runtime for a command; --json turns human event lines off so stdout stays one JSON. */
export async function runtimeFor(ctx: CliContext, options: BackendOptions): Promise<Runtime> {
  const loaded = await loadCliConfig(ctx, options.config);
  const backend = options.backend ?? loaded.config.backend;
  if (backend !== 'local' && backend !== 'aws')
    throw new InvalidInputError(`--backend ${backend}: must be local or aws`);
  if (backend === 'aws' && rehearsalTime(ctx))
    throw new InvalidInputError('--at: a rehearsal runs with the local backend only (its own state)');
  // A rehearsal (--at) keeps its own state, never the real one.
  const config = rehearsalConfig(ctx, loaded.config);
  const eventStream = options.json
    ? undefined
    : new Writable({
        write(chunk: Buffer, _encoding, done) {
          ctx.out(chunk.toString().replace(/\n$/, ''));
          done();
        },
      });
  if (backend === 'aws') {
    return await buildAwsRuntime(config, {
      clock: ctx.clock,
      env: ctx.env,
      flags: {
        ...(options.region !== undefined ? { region: options.region } : {}),
        ...(options.profile !== undefined ? { profile: options.profile } : {}),
        ...(options.endpointUrl !== undefined ? { endpointUrl: options.endpointUrl } : {}),
        ...(options.table !== undefined ? { table: options.table } : {}),
      },
      ...(eventStream ? { eventStream } : {}),
    });
  }
  return buildLocalRuntime(config, { clock: ctx.clock, ...(eventStream ? { eventStream } : {}) });
}
