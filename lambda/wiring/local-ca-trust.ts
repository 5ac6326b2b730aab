/** The local CA's certificate as a trust anchor (lambda/wiring/trust.ts). */
import { readFileSync } from 'node:fs';
import { LocalCaIssuer } from '../adapters/local/local-ca-issuer';
import type { Issuer } from '../domain/ports';

/** The local CA's certificate as a trust anchor; none before the CA's first issue creates it. */
export function localCaTrust(issuer: Issuer | undefined): string[] | undefined {
  if (!(issuer instanceof LocalCaIssuer)) return undefined;
  try {
    return [readFileSync(issuer.caCertificatePath, 'utf8')];
  } catch {
    return undefined; // created on first issue
  }
}
