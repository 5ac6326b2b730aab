/**
 * Secrets Manager as a rotation destination: stages the new version as AWSPENDING, promotes it to
 * AWSCURRENT, rolls back by dropping AWSPENDING or moving AWSCURRENT back once.
 */
import { type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { OperationError, describeError } from '../../domain/errors';
import type {
  BundleRef,
  CertificateBundle,
  Destination,
  InspectableDestination,
  PromotableDestination,
  StagingDestination,
  TargetOutcome,
} from '../../domain/ports';
import { scrubPrivateKeys } from '../../domain/secret';
import {
  STAGE_CURRENT,
  STAGE_PENDING,
  STAGE_PREVIOUS,
  STAGE_ROLLED_BACK,
  type SecretSettings,
  describeSecret,
  moveStage,
  parseSecretBundle,
  pendingNotCurrent,
  readVersion,
  requestTokenFor,
  stageBundle,
  versionWith,
} from './secrets-manager';

export interface SecretsManagerDestinationOptions extends SecretSettings {
  readonly client: SecretsManagerClient;
  /** Secret names or ARNs this destination delivers to; each is one target. */
  readonly secretIds: readonly string[];
  /** @default 'secrets-manager' */
  readonly name?: string;
}

export interface ClearPendingResult {
  readonly secret: string;
  /** The version AWSPENDING was removed from; absent when there was none to clear. */
  readonly clearedVersionId?: string;
  /** The certrotor rotation version that pending version held, when readable. */
  readonly clearedRotationVersion?: string;
}

export class SecretsManagerDestination
  implements Destination, PromotableDestination, InspectableDestination, StagingDestination
{
  readonly name: string;
  readonly kind = 'secrets-manager';
  private readonly client: SecretsManagerClient;
  private readonly secretIds: readonly string[];
  private readonly settings: SecretSettings;

  constructor(options: SecretsManagerDestinationOptions) {
    this.client = options.client;
    this.secretIds = [...options.secretIds];
    this.name = options.name ?? 'secrets-manager';
    this.settings = {
      ...(options.kmsKeyId !== undefined ? { kmsKeyId: options.kmsKeyId } : {}),
      ...(options.tags !== undefined ? { tags: options.tags } : {}),
    };
  }

  async targets(): Promise<string[]> {
    return [...this.secretIds];
  }

  /**
   * Stages the bundle as AWSPENDING; AWSCURRENT (what consumers read) is untouched until `promote`.
   * Refused when another rotation's AWSPENDING is still on the secret.
   */
  async deliver(target: string, bundle: CertificateBundle): Promise<TargetOutcome> {
    const unknown = this.refuseUnknown(target);
    if (unknown !== undefined) return unknown;
    try {
      const versionId = requestTokenFor(bundle.name, bundle.version);
      const before = await describeSecret(this.client, target);
      const stale = before === undefined ? undefined : pendingNotCurrent(before);
      if (stale !== undefined && stale !== versionId) {
        return {
          target,
          ok: false,
          error: `secret ${target} has a pending version ${stale} from an unfinished rotation; run \`certrotor repair ${target}\``,
          detail: 'refused: stale AWSPENDING',
        };
      }
      const staged = await stageBundle(this.client, target, bundle, this.settings);
      const labels = staged.state.stages.get(versionId) ?? [];
      // Stored earlier (by the bundle store, or before a rollback) but no longer labelled: stage it again.
      if (staged.alreadyStored && !labels.includes(STAGE_PENDING) && !labels.includes(STAGE_CURRENT)) {
        const holder = versionWith(staged.state, STAGE_PENDING);
        await moveStage(this.client, target, STAGE_PENDING, {
          to: versionId,
          ...(holder !== undefined ? { from: holder } : {}),
        });
      }
      const current = labels.includes(STAGE_CURRENT) ? ' (already AWSCURRENT)' : '';
      return {
        target,
        ok: true,
        fingerprintSha256: bundle.facts.fingerprintSha256,
        detail: `staged ${bundle.name} ${bundle.version} as ${STAGE_PENDING} version ${versionId}${current}`,
      };
    } catch (error) {
      return this.failed(target, error);
    }
  }

  /** Moves AWSCURRENT to the bundle's version; the version it leaves becomes AWSPREVIOUS. Idempotent. */
  async promote(target: string, ref: BundleRef): Promise<TargetOutcome> {
    const unknown = this.refuseUnknown(target);
    if (unknown !== undefined) return unknown;
    try {
      const versionId = requestTokenFor(ref.name, ref.version);
      const state = await describeSecret(this.client, target);
      const labels = state?.stages.get(versionId);
      if (state === undefined || labels === undefined) {
        return {
          target,
          ok: false,
          error: `secret ${target} has no staged version ${versionId} for ${ref.name} ${ref.version}: deliver it before promoting`,
        };
      }
      const current = versionWith(state, STAGE_CURRENT);
      if (current !== versionId) {
        await moveStage(this.client, target, STAGE_CURRENT, {
          to: versionId,
          ...(current !== undefined ? { from: current } : {}),
        });
      }
      if (labels.includes(STAGE_PENDING)) {
        await moveStage(this.client, target, STAGE_PENDING, { from: versionId });
      }
      return {
        target,
        ok: true,
        ...(await this.fingerprintOutcome(target)),
        detail: `${STAGE_CURRENT} is ${ref.name} ${ref.version} (version ${versionId})${current !== undefined && current !== versionId ? `; ${STAGE_PREVIOUS} is ${current}` : ''}`,
      };
    } catch (error) {
      return this.failed(target, error);
    }
  }

  /**
   * Before promotion: drops AWSPENDING, AWSCURRENT never moved. After promotion: moves AWSCURRENT back
   * to AWSPREVIOUS, once (the version it leaves is marked, so a repeated rollback is a no-op).
   */
  async rollback(target: string): Promise<TargetOutcome> {
    const unknown = this.refuseUnknown(target);
    if (unknown !== undefined) return unknown;
    try {
      const state = await describeSecret(this.client, target);
      if (state === undefined) return { target, ok: false, error: `secret ${target} does not exist` };
      const pending = pendingNotCurrent(state);
      if (pending !== undefined) {
        await moveStage(this.client, target, STAGE_PENDING, { from: pending });
        return {
          target,
          ok: true,
          ...(await this.fingerprintOutcome(target)),
          detail: `discarded ${STAGE_PENDING} version ${pending}; ${STAGE_CURRENT} unchanged`,
        };
      }
      const current = versionWith(state, STAGE_CURRENT);
      const previous = versionWith(state, STAGE_PREVIOUS);
      const leftover = versionWith(state, STAGE_PENDING);
      if (leftover !== undefined) await moveStage(this.client, target, STAGE_PENDING, { from: leftover });
      if (current === undefined)
        return { target, ok: false, error: `secret ${target} has no ${STAGE_CURRENT} version` };
      if (previous === undefined) {
        return {
          target,
          ok: false,
          error: `secret ${target} has no earlier version to restore: its only version ${current} is ${STAGE_CURRENT}`,
        };
      }
      if (state.stages.get(previous)?.includes(STAGE_ROLLED_BACK)) {
        return {
          target,
          ok: true,
          ...(await this.fingerprintOutcome(target)),
          detail: `already rolled back: ${STAGE_CURRENT} is ${current}`,
        };
      }
      await moveStage(this.client, target, STAGE_CURRENT, { to: previous, from: current });
      const marked = versionWith(state, STAGE_ROLLED_BACK);
      await moveStage(this.client, target, STAGE_ROLLED_BACK, {
        to: current,
        ...(marked !== undefined ? { from: marked } : {}),
      });
      return {
        target,
        ok: true,
        ...(await this.fingerprintOutcome(target)),
        detail: `restored ${STAGE_CURRENT} to version ${previous}; version ${current} is ${STAGE_PREVIOUS}`,
      };
    } catch (error) {
      return this.failed(target, error);
    }
  }

  /** Fingerprint of the AWSCURRENT version: what consumers of the secret get now. */
  async currentFingerprint(target: string): Promise<string | undefined> {
    const read = await readVersion(this.client, target, { stage: STAGE_CURRENT });
    if (read === undefined) return undefined;
    return parseSecretBundle(read.secretString, `${target} ${STAGE_CURRENT}`).facts.fingerprintSha256;
  }

  /**
   * Fingerprint of the version promotion would make AWSCURRENT: the AWSPENDING version, or the
   * AWSCURRENT one when nothing is pending (already promoted). A rotation verifies this before promoting.
   */
  async stagedFingerprint(target: string): Promise<string | undefined> {
    const state = await describeSecret(this.client, target);
    if (state === undefined) return undefined;
    const pending = versionWith(state, STAGE_PENDING);
    if (pending === undefined) return this.currentFingerprint(target);
    const read = await readVersion(this.client, target, { versionId: pending });
    if (read === undefined) return undefined;
    return parseSecretBundle(read.secretString, `${target} ${STAGE_PENDING}`).facts.fingerprintSha256;
  }

  /** The version holding AWSPENDING without being AWSCURRENT, if any: a rotation in flight or abandoned. */
  async pendingVersion(target: string): Promise<string | undefined> {
    const state = await describeSecret(this.client, target);
    return state === undefined ? undefined : pendingNotCurrent(state);
  }

  /** For `certrotor repair`: removes AWSPENDING left by an unfinished rotation. AWSCURRENT is not touched. */
  async clearPending(secret: string): Promise<ClearPendingResult> {
    const state = await describeSecret(this.client, secret);
    if (state === undefined) throw new OperationError('DescribeSecret', secret, 'secret does not exist');
    const pending = versionWith(state, STAGE_PENDING);
    if (pending === undefined) return { secret };
    let rotationVersion: string | undefined;
    try {
      const read = await readVersion(this.client, secret, { versionId: pending });
      if (read !== undefined)
        rotationVersion = parseSecretBundle(read.secretString, secret).version || undefined;
    } catch {
      // Not a certrotor document: clearing the label is still what repair asked for.
    }
    await moveStage(this.client, secret, STAGE_PENDING, { from: pending });
    return {
      secret,
      clearedVersionId: pending,
      ...(rotationVersion !== undefined ? { clearedRotationVersion: rotationVersion } : {}),
    };
  }

  private refuseUnknown(target: string): TargetOutcome | undefined {
    if (this.secretIds.includes(target)) return undefined;
    return { target, ok: false, error: `secret ${target} is not a target of destination ${this.name}` };
  }

  private async fingerprintOutcome(target: string): Promise<{ fingerprintSha256?: string }> {
    const fingerprint = await this.currentFingerprint(target);
    return fingerprint !== undefined ? { fingerprintSha256: fingerprint } : {};
  }

  private failed(target: string, error: unknown): TargetOutcome {
    return { target, ok: false, error: scrubPrivateKeys(describeError(error)) };
  }
}
