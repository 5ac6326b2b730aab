/**
 * An ACME CA (RFC 8555) as an issuer: Let's Encrypt, ACM's managed ACME endpoints, any RFC 8555 CA.
 *
 * Primary course: look the idempotency key up in the journal → generate the certificate key and
 * persist it (or take the one on record) → register or find the account (its key kept like other
 * keys, External Account Binding when configured) → reload the recorded order, else place a new one
 * (`profile`, ARI `replaces`) and record its URL before anything else → answer each pending
 * authorization with the configured challenge (cleaned up afterwards) → finalise with a CSR → wait
 * for `valid` → download the chain. A retried issue after a crash reloads the order: a valid order's
 * certificate is downloaded, never ordered twice.
 */
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { InvalidInputError, OperationError } from '../../../domain/errors';
import type { CertificateBundle, IssueRequest, Issuer, KeySpec } from '../../../domain/ports';
import { keyMatchesCertificate } from '../../../domain/private-keys';
import type { SecretKey } from '../../../domain/secret';
import { isIpAddress, parseCertificates } from '../../../domain/x509';
import { createCsr, exportPrivateKey, generateKeyPair } from '../../crypto/mint';
import { ariCertId } from './ari';
import type { ChallengeSolver } from './challenges';
import { type AcmeIdentifier, type AcmeOrder, AcmeClient, AcmeError, type RenewalInfo } from './client';
import type { AcmeKeyFiles, AcmeOrderJournal } from './journal';
import { dns01TxtValue, keyAuthorization } from './jws';

export interface AcmeIssuerOptions {
  readonly name: string;
  readonly directoryUrl: string;
  readonly email?: string;
  /** External Account Binding; `hmacKey` is read when needed (a secret or a file). */
  readonly eab?: { readonly keyId: string; readonly hmacKey: () => Promise<string> };
  readonly profile?: string;
  readonly solver: ChallengeSolver;
  readonly journal: AcmeOrderJournal;
  readonly keys: AcmeKeyFiles;
  /** The PEM of the version this one replaces, for ARI's `replaces`. */
  readonly currentCertificatePem?: (name: string) => Promise<string | undefined>;
  /** Extra trust for the ACME server's TLS. */
  readonly caPem?: string;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly pollIntervalMs?: number;
}

export class AcmeIssuer implements Issuer {
  readonly name: string;
  private client: Promise<AcmeClient> | undefined;

  constructor(private readonly options: AcmeIssuerOptions) {
    this.name = options.name;
  }

  async issue(request: IssueRequest, _now: Date): Promise<CertificateBundle> {
    const identifiers = identifiersOf(request);
    const where = `${request.name}@${request.version}`;
    const { journal } = this.options;
    const client = await this.account();

    const subject = { name: request.name, version: request.version };
    const record = await journal.lookup(request.idempotencyKey, subject);
    const privateKey =
      record?.privateKey ??
      (await journal.reserveKey(
        request.idempotencyKey,
        await exportPrivateKey(await generateKeyPair(request.keySpec)),
        subject,
      ));

    let orderUrl = record?.orderUrl;
    let order: AcmeOrder | undefined = orderUrl ? await client.getOrder(orderUrl) : undefined;
    if (!orderUrl || !order || order.status === 'invalid') {
      const replaces = await this.replaces(request.name);
      const placeOrder = (withReplaces: boolean) =>
        client.newOrder({
          identifiers,
          ...(this.options.profile ? { profile: this.options.profile } : {}),
          ...(replaces && withReplaces ? { replaces } : {}),
        });
      // `replaces` names the version being renewed; a CA that did not issue it (the first certificate
      // from this CA, after a move from another) refuses it, and the order is placed without it.
      const placed = await placeOrder(true).catch((error: unknown) => {
        if (replaces && error instanceof AcmeError && (error.is('malformed') || error.is('conflict')))
          return placeOrder(false);
        throw error;
      });
      orderUrl = placed.url;
      order = placed.order;
      // Recorded before any challenge or finalisation: a retry after a crash resumes this order.
      await journal.recordOrder(request.idempotencyKey, orderUrl);
    }

    if (order.status === 'pending') {
      for (const url of order.authorizations) await this.authorize(client, url, where);
      order = await client.waitForOrder(orderUrl, (o) => o.status !== 'pending');
    }
    if (order.status === 'ready') {
      const csr = await createCsr({
        subject: `CN=${csrCommonName(request)}`,
        dnsNames: identifiers.filter((i) => i.type === 'dns').map((i) => i.value),
        ipAddresses: identifiers.filter((i) => i.type === 'ip').map((i) => i.value),
        keys: await webcryptoPair(privateKey, request.keySpec),
      });
      const der = Buffer.from(csr.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
      order = await client.finalize(order, der);
    }
    if (order.status === 'processing')
      order = await client.waitForOrder(orderUrl, (o) => o.status !== 'processing');
    if (order.status !== 'valid' || !order.certificate)
      throw new OperationError(
        'acme:order',
        orderUrl,
        `order for ${where} is ${order.status}${order.error?.detail ? `: ${order.error.detail}` : ''}`,
      );

    const chain = parseCertificates(await client.downloadCertificate(order.certificate), order.certificate);
    const leaf = chain[0];
    if (!leaf) throw new OperationError('acme:certificate', order.certificate, 'no certificate returned');
    if (!keyMatchesCertificate(leaf.pem, privateKey))
      throw new OperationError(
        'acme:certificate',
        order.certificate,
        `the certificate does not match the key on record for ${where}`,
      );
    return {
      name: request.name,
      version: request.version,
      certificatePem: leaf.pem,
      chainPem: chain
        .slice(1)
        .map((c) => c.pem)
        .join(''),
      privateKey,
      facts: leaf.facts,
    };
  }

  /** ARI: the CA's suggested renewal window for `certificatePem`, when the CA offers one. */
  async renewalInfo(certificatePem: string): Promise<RenewalInfo | undefined> {
    const client = await this.clientOnly();
    return client.renewalInfo(ariCertId(certificatePem));
  }

  private async replaces(name: string): Promise<string | undefined> {
    const pem = await this.options.currentCertificatePem?.(name);
    if (!pem) return undefined;
    try {
      const dir = await (await this.clientOnly()).getDirectory();
      return dir.renewalInfo ? ariCertId(pem) : undefined;
    } catch {
      return undefined; // a certificate from another CA (no AKI) is not replaced by ARI's rules
    }
  }

  private async authorize(client: AcmeClient, url: string, where: string): Promise<void> {
    const authz = await client.getAuthorization(url);
    if (authz.status === 'valid') return;
    if (authz.status !== 'pending')
      throw new OperationError('acme:authorization', url, `${authz.identifier.value} is ${authz.status}`);
    const { solver } = this.options;
    const challenge = authz.challenges.find((c) => c.type === solver.type);
    if (!challenge)
      throw new OperationError(
        'acme:authorization',
        url,
        `the CA offers no ${solver.type} challenge for ${authz.identifier.value} (offered: ${authz.challenges
          .map((c) => c.type)
          .join(', ')})`,
      );
    const accountKey = await this.accountKeyObject();
    const value =
      solver.type === 'dns-01'
        ? dns01TxtValue(challenge.token, accountKey)
        : keyAuthorization(challenge.token, accountKey);
    const identifier = authz.identifier.value;
    await solver.present(identifier, challenge.token, value);
    try {
      await client.respondToChallenge(challenge.url);
      const done = await client.waitForAuthorization(url);
      if (done.status !== 'valid') {
        const failed = done.challenges.find((c) => c.type === solver.type);
        throw new OperationError(
          'acme:authorization',
          url,
          `${solver.type} for ${identifier} (${where}) is ${done.status}${
            failed?.error?.detail ? `: ${failed.error.detail}` : ''
          }`,
        );
      }
    } finally {
      await solver.cleanup(identifier, challenge.token, value).catch(() => undefined);
    }
  }

  private accountKeyPem: Promise<SecretKey> | undefined;

  private async accountKeyObject() {
    this.accountKeyPem ??= this.options.keys.accountKey(async () =>
      exportPrivateKey(await generateKeyPair('EC_P256')),
    );
    return createPrivateKey((await this.accountKeyPem).reveal());
  }

  private clientOnly(): Promise<AcmeClient> {
    this.client ??= (async () =>
      new AcmeClient({
        directoryUrl: this.options.directoryUrl,
        accountKey: await this.accountKeyObject(),
        ...(this.options.caPem ? { caPem: this.options.caPem } : {}),
        ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
        ...(this.options.pollIntervalMs !== undefined ? { pollIntervalMs: this.options.pollIntervalMs } : {}),
      }))().catch((error: unknown) => {
      this.client = undefined;
      throw error;
    });
    return this.client;
  }

  private async account(): Promise<AcmeClient> {
    const client = await this.clientOnly();
    const { eab, email } = this.options;
    await client.account({
      ...(email ? { email } : {}),
      ...(eab ? { eab: { keyId: eab.keyId, hmacKey: (await eab.hmacKey()).trim() } } : {}),
    });
    return client;
  }
}

function identifiersOf(request: IssueRequest): AcmeIdentifier[] {
  const where = `issue request ${request.name}@${request.version}`;
  if (request.idempotencyKey.trim() === '')
    throw new InvalidInputError(`${where}: idempotencyKey must not be empty`);
  const names = new Set<string>(request.dnsNames);
  const cn = request.commonName.trim();
  if (cn !== '' && !isIpAddress(cn) && !cn.includes(' ')) names.add(cn);
  const out: AcmeIdentifier[] = [...names].map((value) => ({ type: 'dns' as const, value }));
  for (const ip of request.ipAddresses ?? []) out.push({ type: 'ip', value: ip });
  if (out.length === 0)
    throw new InvalidInputError(`${where}: an ACME certificate needs at least one DNS name`);
  return out;
}

function csrCommonName(request: IssueRequest): string {
  return request.dnsNames[0] ?? request.commonName;
}

async function webcryptoPair(privateKey: SecretKey, spec: KeySpec): Promise<CryptoKeyPair> {
  const keyObject = createPrivateKey(privateKey.reveal());
  const algorithm = spec.startsWith('EC_')
    ? { name: 'ECDSA', namedCurve: spec === 'EC_P384' ? 'P-384' : 'P-256' }
    : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const pkcs8 = keyObject.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(keyObject).export({ format: 'der', type: 'spki' });
  const [priv, pub] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, true, ['sign']),
    webcrypto.subtle.importKey('spki', spki, algorithm, true, ['verify']),
  ]);
  return { privateKey: priv, publicKey: pub } as unknown as CryptoKeyPair;
}
