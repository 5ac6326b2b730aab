/**
 * The configuration document the deployed functions carry, with each ACME issuer's `trustFile` read
 * at synth: the path names a file on the synthesizing machine, which no Lambda has. The functions get
 * the file's contents in its place (lambda/wiring/acme.ts `acmeTrust` takes either), so hosts are
 * verified, and renewals guarded, against the roots the consumers trust, as in the CLI.
 */
import { readFileSync } from 'node:fs';
import { ConfigurationError } from '../../lambda/domain/errors';

/** What the functions' `acmeTrust` recognises as contents rather than a path (lambda/wiring/acme.ts). */
const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';

export function withTrustFileContents(document: unknown): unknown {
  const issuers = (document as { issuers?: unknown } | undefined)?.issuers;
  if (!Array.isArray(issuers)) return document;
  let changed = false;
  const inlined = issuers.map((issuer: unknown) => {
    const i = issuer as { kind?: unknown; name?: unknown; trustFile?: unknown };
    if (i?.kind !== 'acme' || typeof i.trustFile !== 'string' || i.trustFile.includes(PEM_CERTIFICATE))
      return issuer;
    let pem: string;
    try {
      pem = readFileSync(i.trustFile, 'utf8');
    } catch (error) {
      throw new ConfigurationError('configuration', [
        `issuers.${String(i.name)}.trustFile: cannot read ${i.trustFile}: ${(error as Error).message}`,
      ]);
    }
    if (!pem.includes(PEM_CERTIFICATE))
      throw new ConfigurationError('configuration', [
        `issuers.${String(i.name)}.trustFile: ${i.trustFile} holds no PEM certificate`,
      ]);
    changed = true;
    return { ...i, trustFile: pem };
  });
  return changed ? { ...(document as object), issuers: inlined } : document;
}
