/**
 * The roots that verify the endpoints serving an issuer's certificates, the same on every backend and
 * in every Lambda: the local CA's certificate (once it exists) and an ACME issuer's `trustFile`. The
 * rotation verifies hosts against them and the renewal guard holds a renewal whose chain leads to a
 * root outside them ("a new root a consumer does not trust"); without any, the system store.
 */
import type { CertrotorConfig } from '../config/configuration';
import type { Issuer } from '../domain/ports';
import { acmeTrust } from './acme';
import { localCaTrust } from './local-ca-trust';

export function issuerTrust(
  config: CertrotorConfig,
  issuers: ReadonlyMap<string, Issuer> = new Map(),
): (issuer: string) => string[] | undefined {
  return (name) => localCaTrust(issuers.get(name)) ?? acmeTrust(config, name);
}
