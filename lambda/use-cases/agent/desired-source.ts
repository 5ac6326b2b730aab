/**
 * Where the agent reads the version each certificate should have: the state store (written by the
 * `agent` destination) or the first of several sources that answers.
 */
import type { BundleRef, StateStore } from '../../domain/ports';

/** Collection of desired-version records written by the `agent` destination, id `<host>#<certificate>`. */
export const DESIRED_COLLECTION = 'desired';

export function hostRecordId(host: string, certificate: string): string {
  return `${host}#${certificate}`;
}

/** The version a host should hold. Public facts and a reference only, never the key. */
export interface DesiredVersion {
  readonly certificate: string;
  readonly version: string;
  readonly fingerprintSha256: string;
  readonly bundle: BundleRef;
  readonly requestedAt?: string;
}

/** What the `agent` destination writes per host and certificate. */
export interface DesiredRecord extends DesiredVersion {
  readonly host: string;
  /** The version to go back to on rollback. */
  readonly previous?: Omit<DesiredVersion, 'certificate' | 'requestedAt'>;
}

/** Where an agent learns which version it should install. */
export interface DesiredVersionSource {
  readonly name: string;
  /** Undefined when nothing is desired yet. Throws when the store cannot be read. */
  desired(host: string, certificate: string, now: Date): Promise<DesiredVersion | undefined>;
}

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
