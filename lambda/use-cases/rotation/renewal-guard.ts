/**
 * The renewal guard as a rotation step's check: gathers the facts of the version being replaced (its
 * bundle's chain from the key store) and of the new one, how the certificate is used (its configured
 * usage, the names its endpoints serve, the trust anchors configured for them), and asks the domain's
 * `renewalGuard`. Returns the reason to hold, or undefined.
 */
import { X509Certificate } from 'node:crypto';
import { type GuardFacts, renewalGuard } from '../../domain/rotation/renewal-guard';
import type { CertificateBundle } from '../../domain/ports';
import { isIpAddress, parseCertificates } from '../../domain/x509';
import type { VersionRecord } from '../certificate-state';
import type { RotationDeps, RotationSpec } from './spec';

export async function guardRenewal(
  deps: Pick<RotationDeps, 'bundles'>,
  spec: Pick<RotationSpec, 'usage' | 'verify'>,
  current: VersionRecord,
  next: CertificateBundle,
): Promise<{ hold?: string; changes: readonly string[] }> {
  const previousBundle = await deps.bundles.get(current.bundle).catch(() => undefined);
  const previousFacts = previousBundle?.facts ?? current.facts;
  if (!previousFacts) return { changes: [] };
  const previous: GuardFacts = {
    facts: previousFacts,
    ...(previousBundle ? chainFacts(previousBundle.chainPem) : {}),
  };
  const anchors = spec.verify.flatMap((e) => e.caPem ?? []);
  const verdict = renewalGuard(
    previous,
    { facts: next.facts, ...chainFacts(next.chainPem) },
    {
      presentedAsClient: spec.usage === 'server' ? [] : [`configured usage ${spec.usage}`],
      servedNames: [
        ...new Set(
          spec.verify.flatMap((e) => (e.servername && !isIpAddress(e.servername) ? [e.servername] : [])),
        ),
      ],
      ...(anchors.length > 0 ? { newChainTrusted: chainsTo(next, anchors) } : {}),
    },
  );
  return verdict.breaks.length > 0
    ? {
        hold: `${verdict.breaks.join('; ')} (what changed: ${verdict.changes.join('; ')})`,
        changes: verdict.changes,
      }
    : { changes: verdict.changes };
}

function chainFacts(chainPem: string): Pick<GuardFacts, 'issuingIntermediate' | 'root'> {
  if (chainPem.trim() === '') return {};
  try {
    const chain = parseCertificates(chainPem, 'chain');
    const top = chain[chain.length - 1];
    return {
      ...(chain[0] ? { issuingIntermediate: chain[0].facts.subject } : {}),
      ...(top ? { root: top.facts.selfSigned ? top.facts.subject : top.facts.issuer } : {}),
    };
  } catch {
    return {};
  }
}

/** Whether the bundle's chain ends at (or is signed by) one of the anchors. */
function chainsTo(bundle: CertificateBundle, anchors: readonly string[]): boolean {
  try {
    const chain = [
      bundle.certificatePem,
      ...parseCertificates(bundle.chainPem || bundle.certificatePem, 'chain').map((c) => c.pem),
    ];
    const top = new X509Certificate(chain[chain.length - 1]!);
    return anchors.some((pem) =>
      parseCertificates(pem, 'anchor').some((anchor) => {
        const a = new X509Certificate(anchor.pem);
        return a.fingerprint256 === top.fingerprint256 || (top.checkIssued(a) && top.verify(a.publicKey));
      }),
    );
  } catch {
    return false;
  }
}
