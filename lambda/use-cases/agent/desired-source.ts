/**
 * Where the agent reads the version each certificate should have: the state store (written by the
 * `agent` destination) or the first of several sources that answers.
 */
import {
  DESIRED_COLLECTION,
  type DesiredRecord,
  type DesiredVersion,
  hostRecordId,
} from '../../domain/host-agent';
import type { DesiredVersionSource } from '../../domain/ports';
import type { StateStore } from '../../domain/ports';

/** Desired versions from the state store (`desired` records written by the `agent` destination). */
export class StateStoreDesiredSource implements DesiredVersionSource {
  readonly name = 'state-store';
  constructor(private readonly state: StateStore) {}

  async desired(host: string, certificate: string, now: Date): Promise<DesiredVersion | undefined> {
    const item = await this.state.get<DesiredRecord>(
      DESIRED_COLLECTION,
      hostRecordId(host, certificate),
      now,
    );
    return item?.value;
  }
}

/**
 * The first source that names a desired version wins: with the AWS backend, the `desired` record the
 * rotation workflow writes while it rolls out (so hosts install, and are verified, before promotion;
 * a rollback points it back), else the promoted version (the secret's AWSCURRENT) for certificates no
 * workflow has rolled out to this host yet. A source that cannot be read is an outage, never a
 * reason to fall through to an older answer.
 */
export class FirstDesiredSource implements DesiredVersionSource {
  readonly name: string;
  constructor(private readonly sources: readonly DesiredVersionSource[]) {
    this.name = sources.map((s) => s.name).join(', then ');
  }

  async desired(host: string, certificate: string, now: Date): Promise<DesiredVersion | undefined> {
    for (const source of this.sources) {
      const found = await source.desired(host, certificate, now);
      if (found) return found;
    }
    return undefined;
  }
}
