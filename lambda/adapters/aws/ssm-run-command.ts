/**
 * Hosts reached through SSM Run Command as a destination.
 *
 * Primary course: `SendCommand` runs the certrotor install document (ssm-install-certificate.json)
 * on the target instances; the document reads the certificate version from Secrets Manager with the
 * instance's own role (only the secret ARN and version id travel through SSM, never the key), writes
 * the files atomically keeping the previous ones, reloads and health-checks. `GetCommandInvocation`
 * is polled per instance until a terminal status, within a bound, and each instance gets its own
 * outcome, so a partial failure names exactly the instances that failed.
 *
 * Rollback runs the same document again with the version installed before (when this process knows
 * it), or with `Action=restore-previous`, which puts back the files the last install kept on the host.
 */
import {
  DescribeInstanceInformationCommand,
  type DescribeInstanceInformationCommandOutput,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { describeError } from '../../domain/errors';
import type { BundleRef, CertificateBundle, Destination, TargetOutcome } from '../../domain/ports';
import { scrubPrivateKeys } from '../../domain/secret';
import { describeAwsError, isAwsError } from './clients';

/** Name under which the install document is created in each account (CDK creates it). */
export const INSTALL_DOCUMENT_NAME = 'certrotor-install-certificate';

/** Where one bundle version lives in Secrets Manager. */
export interface SecretVersion {
  readonly secretArn: string;
  readonly versionId: string;
}

/** Finds the secret version holding `bundle`: the composition root wires it to the BundleStore. */
export type SecretLocator = (bundle: CertificateBundle) => Promise<SecretVersion>;

/** A locator over a BundleStore whose references are `<secret ARN>#<version id>` (the Secrets Manager store). */
export function locateInBundleStore(store: {
  find(name: string, version: string): Promise<BundleRef | undefined>;
}): SecretLocator {
  return async (bundle) => {
    const ref = await store.find(bundle.name, bundle.version);
    const at = ref?.location.lastIndexOf('#') ?? -1;
    if (ref === undefined || at <= 0) {
      throw new Error(
        `${bundle.name} ${bundle.version}: not stored in Secrets Manager (no <secret ARN>#<version id> reference)`,
      );
    }
    return { secretArn: ref.location.slice(0, at), versionId: ref.location.slice(at + 1) };
  };
}

/** Which instances this destination covers. */
export type InstanceSelection =
  | { readonly instanceIds: readonly string[] }
  /** Managed instances carrying tag `key` with one of `values`, found with DescribeInstanceInformation. */
  | { readonly tag: { readonly key: string; readonly values: readonly string[] } };

/** Parameters of the install document that describe the host side; see ssm-install-certificate.json. */
export interface HostInstallSettings {
  readonly certificatePath: string;
  readonly keyPath: string;
  /** @default '' (chain appended to the certificate file) */
  readonly chainPath?: string;
  /** @default '' (no separate certificate + chain file) */
  readonly fullchainPath?: string;
  /** Octal key file mode, `0600` or `0640` (with `group`); never readable by others. @default '0600' */
  readonly keyMode?: string;
  /** @default 'root' */
  readonly owner?: string;
  /** @default 'root' */
  readonly group?: string;
  /** @default '' (no reload) */
  readonly reloadCommand?: string;
  /** @default '' (no health check) */
  readonly healthCheckCommand?: string;
}

export interface SsmRunCommandDestinationOptions {
  readonly client: SSMClient;
  /** Destination name from configuration. */
  readonly name: string;
  readonly instances: InstanceSelection;
  readonly locate: SecretLocator;
  readonly host: HostInstallSettings;
  /** @default INSTALL_DOCUMENT_NAME */
  readonly documentName?: string;
  /** Longest wait for an instance's result, from SendCommand. @default 600000 */
  readonly resultTimeoutMs?: number;
  /** @default 2000 */
  readonly pollIntervalMs?: number;
  /** Injected for tests. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injected for tests. @default Date.now */
  readonly now?: () => number;
}

const TERMINAL = new Set(['Success', 'Cancelled', 'TimedOut', 'Failed', 'Cancelling']);
/** SendCommand accepts at most 50 instance ids. */
const MAX_INSTANCES_PER_COMMAND = 50;

interface Installed {
  readonly version: SecretVersion;
  readonly fingerprint: string;
}

export class SsmRunCommandDestination implements Destination {
  readonly kind = 'ssm-run-command';
  readonly name: string;
  private knownTargets: string[] | undefined;
  /** Per instance, the versions this process installed, oldest first. */
  private readonly installed = new Map<string, Installed[]>();

  constructor(private readonly options: SsmRunCommandDestinationOptions) {
    this.name = options.name;
  }

  async targets(): Promise<string[]> {
    const selection = this.options.instances;
    if ('instanceIds' in selection) return [...selection.instanceIds];
    const ids: string[] = [];
    let nextToken: string | undefined;
    do {
      let page: DescribeInstanceInformationCommandOutput;
      try {
        page = await this.options.client.send(
          new DescribeInstanceInformationCommand({
            Filters: [{ Key: `tag:${selection.tag.key}`, Values: [...selection.tag.values] }],
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
        );
      } catch (error) {
        throw describeAwsError('ssm:DescribeInstanceInformation', `tag:${selection.tag.key}`, error);
      }
      for (const info of page.InstanceInformationList ?? []) if (info.InstanceId) ids.push(info.InstanceId);
      nextToken = page.NextToken;
    } while (nextToken);
    this.knownTargets = ids;
    return [...ids];
  }

  async deliver(target: string, bundle: CertificateBundle): Promise<TargetOutcome> {
    return (await this.deliverMany([target], bundle))[0]!;
  }

  /**
   * Delivers to several instances with one command per 50 of them, and reports each instance on its
   * own: the fleet step uses it for a batch after the canary.
   */
  async deliverMany(targets: readonly string[], bundle: CertificateBundle): Promise<TargetOutcome[]> {
    const covered = await this.covered(targets);
    let version: SecretVersion;
    try {
      version = await this.options.locate(bundle);
    } catch (error) {
      return targets.map((target) => ({
        target,
        ok: false,
        error: `deliver ${target}: locating ${bundle.name} ${bundle.version} failed: ${describeError(error)}`,
      }));
    }
    const fingerprint = bundle.facts.fingerprintSha256;
    const outcomes = await this.run(
      targets.filter((t) => covered.has(t)),
      {
        Action: 'install',
        SecretArn: version.secretArn,
        SecretVersionId: version.versionId,
        ExpectedFingerprint: fingerprint,
      },
      `certrotor install ${bundle.name} ${bundle.version}`,
      'deliver',
    );
    return targets.map((target) => {
      if (!covered.has(target)) return this.notCovered(target, 'deliver');
      const outcome = outcomes.get(target)!;
      if (!outcome.ok) return outcome;
      const history = this.installed.get(target) ?? [];
      if (history[history.length - 1]?.fingerprint !== fingerprint) history.push({ version, fingerprint });
      this.installed.set(target, history);
      return { ...outcome, fingerprintSha256: fingerprint };
    });
  }

  async rollback(target: string): Promise<TargetOutcome> {
    const covered = await this.covered([target]);
    if (!covered.has(target)) return this.notCovered(target, 'rollback');
    const history = this.installed.get(target) ?? [];
    const previous = history[history.length - 2];
    const parameters: Record<string, string> = previous
      ? {
          Action: 'install',
          SecretArn: previous.version.secretArn,
          SecretVersionId: previous.version.versionId,
          ExpectedFingerprint: previous.fingerprint,
        }
      : { Action: 'restore-previous' };
    const outcome = (
      await this.run(
        [target],
        parameters,
        `certrotor rollback ${previous ? previous.version.versionId : 'restore-previous'}`,
        'rollback',
      )
    ).get(target)!;
    if (!outcome.ok) return outcome;
    history.pop();
    return previous ? { ...outcome, fingerprintSha256: previous.fingerprint } : outcome;
  }

  private async covered(targets: readonly string[]): Promise<Set<string>> {
    const selection = this.options.instances;
    const known =
      'instanceIds' in selection ? selection.instanceIds : (this.knownTargets ?? (await this.targets()));
    return new Set(targets.filter((t) => known.includes(t)));
  }

  private notCovered(target: string, step: string): TargetOutcome {
    return { target, ok: false, error: `${step} ${target}: not an instance of SSM destination ${this.name}` };
  }

  /** Sends the document to `targets` and waits for every instance's result. Never throws. */
  private async run(
    targets: readonly string[],
    action: Record<string, string>,
    comment: string,
    step: string,
  ): Promise<Map<string, TargetOutcome>> {
    const outcomes = new Map<string, TargetOutcome>();
    const host = this.options.host;
    const parameters: Record<string, string[]> = Object.fromEntries(
      Object.entries({
        ...action,
        CertificatePath: host.certificatePath,
        KeyPath: host.keyPath,
        ChainPath: host.chainPath ?? '',
        FullchainPath: host.fullchainPath ?? '',
        KeyMode: host.keyMode ?? '0600',
        Owner: host.owner ?? 'root',
        Group: host.group ?? 'root',
        ReloadCommand: host.reloadCommand ?? '',
        HealthCheckCommand: host.healthCheckCommand ?? '',
      }).map(([k, v]) => [k, [v]]),
    );
    for (let i = 0; i < targets.length; i += MAX_INSTANCES_PER_COMMAND) {
      const batch = targets.slice(i, i + MAX_INSTANCES_PER_COMMAND);
      let commandId: string;
      try {
        const sent = await this.options.client.send(
          new SendCommandCommand({
            DocumentName: this.options.documentName ?? INSTALL_DOCUMENT_NAME,
            InstanceIds: [...batch],
            Parameters: parameters,
            Comment: comment.slice(0, 100),
            TimeoutSeconds: Math.ceil((this.options.resultTimeoutMs ?? 600_000) / 1000),
          }),
        );
        if (!sent.Command?.CommandId) throw new Error('the response holds no command id');
        commandId = sent.Command.CommandId;
      } catch (error) {
        const message = describeAwsError('ssm:SendCommand', batch.join(','), error).message;
        for (const target of batch)
          outcomes.set(target, { target, ok: false, error: `${step} ${target}: ${message}` });
        continue;
      }
      await Promise.all(
        batch.map(async (target) => outcomes.set(target, await this.awaitResult(commandId, target, step))),
      );
    }
    return outcomes;
  }

  private async awaitResult(commandId: string, target: string, step: string): Promise<TargetOutcome> {
    const now = this.options.now ?? Date.now;
    const sleep =
      this.options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const deadline = now() + (this.options.resultTimeoutMs ?? 600_000);
    for (;;) {
      let invocation: GetCommandInvocationCommandOutput | undefined;
      try {
        invocation = await this.options.client.send(
          new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: target }),
        );
      } catch (error) {
        // The invocation appears a moment after SendCommand returns.
        if (!isAwsError(error, 'InvocationDoesNotExist')) {
          return {
            target,
            ok: false,
            error: `${step} ${target}: ${describeAwsError('ssm:GetCommandInvocation', `${commandId}/${target}`, error).message}`,
          };
        }
      }
      const status = invocation?.Status;
      if (status !== undefined && TERMINAL.has(status))
        return this.outcomeOf(target, step, commandId, invocation!);
      if (now() >= deadline) {
        return {
          target,
          ok: false,
          error: `${step} ${target}: no result from command ${commandId} within ${Math.round((this.options.resultTimeoutMs ?? 600_000) / 1000)} s (last status ${status ?? 'unknown'})`,
        };
      }
      await sleep(this.options.pollIntervalMs ?? 2000);
    }
  }

  private outcomeOf(
    target: string,
    step: string,
    commandId: string,
    invocation: GetCommandInvocationCommandOutput,
  ): TargetOutcome {
    const lastLine = (text: string | undefined): string =>
      scrubPrivateKeys(text ?? '')
        .trim()
        .split('\n')
        .filter(Boolean)
        .pop() ?? '';
    if (invocation.Status === 'Success') {
      const out = lastLine(invocation.StandardOutputContent);
      return { target, ok: true, detail: `command ${commandId}${out ? `: ${out}` : ''}` };
    }
    const reason = lastLine(invocation.StandardErrorContent) || lastLine(invocation.StandardOutputContent);
    return {
      target,
      ok: false,
      error: `${step} ${target}: command ${commandId} ${invocation.Status}${invocation.ResponseCode !== undefined && invocation.ResponseCode >= 0 ? ` (exit ${invocation.ResponseCode})` : ''}${reason ? `: ${reason}` : ''}`,
    };
  }
}
