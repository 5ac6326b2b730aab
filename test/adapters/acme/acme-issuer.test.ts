/**
 * The ACME issuer against a real ACME server (Pebble v2.10.3 + pebble-challtestsrv on loopback):
 * HTTP-01 through the CLI's responder, DNS-01 through TXT records on challtestsrv, External Account
 * Binding, badNonce retries, profiles, ARI's certificate identifier and renewal window, and an order
 * that survives a crash without issuing twice.
 */
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { FileStateStore } from '../../../lambda/adapters/local/file-state-store';
import { ariCertId } from '../../../lambda/adapters/net/acme/ari';
import {
  Dns01Solver,
  Http01Responder,
  type ChallengeSolver,
} from '../../../lambda/adapters/net/acme/challenges';
import { AcmeIssuer, type AcmeIssuerOptions } from '../../../lambda/adapters/net/acme/issuer';
import { LocalAcmeJournal } from '../../../lambda/adapters/net/acme/journal';
import type { IssueRequest } from '../../../lambda/domain/ports';
import { type Pebble, startPebble } from '../../support/pebble';
import { createTempDirs } from '../../support/temp-dir';

jest.setTimeout(60_000);

const temp = createTempDirs();
let pebble: Pebble | undefined;

afterEach(async () => {
  await pebble?.stop();
  pebble = undefined;
  await temp.cleanup();
});

function request(version: string, names = ['api.example.test']): IssueRequest {
  return {
    name: 'api',
    version,
    commonName: names[0]!,
    dnsNames: names,
    keySpec: 'EC_P256',
    usage: 'server',
    validityDays: 90,
    idempotencyKey: `api-${version}`,
  };
}

async function issuerFor(
  server: Pebble,
  dir: string,
  overrides: Partial<AcmeIssuerOptions> = {},
): Promise<AcmeIssuer> {
  const journal = new LocalAcmeJournal(
    join(dir, 'acme'),
    new FileStateStore({ directory: join(dir, 'state') }),
    () => new Date(),
  );
  return new AcmeIssuer({
    name: 'pebble',
    directoryUrl: server.directoryUrl,
    caPem: server.caPem,
    email: 'ops@example.test',
    solver: new Http01Responder({ host: '127.0.0.1', port: server.httpPort }),
    journal,
    keys: journal,
    pollIntervalMs: 50,
    ...overrides,
  });
}

describe('ACME issuer against Pebble', () => {
  it('issues a certificate over HTTP-01 whose chain leads to Pebble’s root', async () => {
    const dir = await temp.make('acme-http01');
    pebble = await startPebble(dir);
    const issuer = await issuerFor(pebble, dir);
    const bundle = await issuer.issue(request('v1', ['api.example.test', 'www.example.test']), new Date());
    expect(bundle.facts.subjectAltNames.map((s) => s.value).sort()).toEqual([
      'api.example.test',
      'www.example.test',
    ]);
    expect(bundle.facts.extendedKeyUsage).toEqual(['serverAuth']);
    const root = new X509Certificate(await pebble.rootPem());
    const intermediate = new X509Certificate(bundle.chainPem);
    expect(new X509Certificate(bundle.certificatePem).verify(intermediate.publicKey)).toBe(true);
    expect(intermediate.verify(root.publicKey)).toBe(true);
    expect(JSON.stringify(bundle)).not.toContain('PRIVATE KEY');
  });

  it('issues over DNS-01 with the TXT record set on the resolver and removed afterwards', async () => {
    const dir = await temp.make('acme-dns01');
    pebble = await startPebble(dir);
    const issuer = await issuerFor(pebble, dir, { solver: new Dns01Solver(pebble.dns) });
    const bundle = await issuer.issue(request('v1', ['dns.example.test']), new Date());
    expect(bundle.facts.subjectAltNames).toEqual([{ type: 'DNS', value: 'dns.example.test' }]);
    expect(pebble.dns.calls).toEqual([
      { op: 'set', name: '_acme-challenge.dns.example.test' },
      { op: 'clear', name: '_acme-challenge.dns.example.test' },
    ]);
  });

  it('registers with External Account Binding when the CA requires it, and is refused without it', async () => {
    const dir = await temp.make('acme-eab');
    const hmac = Buffer.from('a-32-byte-mac-key-for-the-tests!').toString('base64url');
    pebble = await startPebble(dir, { eabKeys: { 'kid-1': hmac } });
    const without = await issuerFor(pebble, join(dir, 'a'));
    await expect(without.issue(request('v1'), new Date())).rejects.toThrow(
      /externalAccountRequired|External Account Binding/i,
    );
    const withEab = await issuerFor(pebble, join(dir, 'b'), {
      eab: { keyId: 'kid-1', hmacKey: async () => hmac },
    });
    const bundle = await withEab.issue(request('v1'), new Date());
    expect(bundle.facts.subjectAltNames).toEqual([{ type: 'DNS', value: 'api.example.test' }]);
  });

  it('retries badNonce answers with the fresh nonce and still issues', async () => {
    const dir = await temp.make('acme-badnonce');
    pebble = await startPebble(dir, { nonceRejectPercent: 15 });
    const issuer = await issuerFor(pebble, dir);
    const bundle = await issuer.issue(request('v1'), new Date());
    expect(bundle.facts.extendedKeyUsage).toEqual(['serverAuth']);
  });

  it('orders with the configured profile (the short-lived one gives a six-day certificate)', async () => {
    const dir = await temp.make('acme-profile');
    pebble = await startPebble(dir);
    const issuer = await issuerFor(pebble, dir, { profile: 'shortlived' });
    const { facts } = await issuer.issue(request('v1'), new Date());
    const days = (Date.parse(facts.notAfter) - Date.parse(facts.notBefore)) / 86_400_000;
    expect(Math.round(days)).toBe(6);
  });

  it('resumes the recorded order after a crash before finalisation instead of ordering again', async () => {
    const dir = await temp.make('acme-crash');
    pebble = await startPebble(dir);
    const responder = new Http01Responder({ host: '127.0.0.1', port: pebble.httpPort });
    const crashing: ChallengeSolver = {
      type: 'http-01',
      present: async () => {
        throw new Error('killed before answering the challenge');
      },
      cleanup: async () => undefined,
    };
    const first = await issuerFor(pebble, dir, { solver: crashing });
    await expect(first.issue(request('v1'), new Date())).rejects.toThrow(/killed/);
    const state = new FileStateStore({ directory: join(dir, 'state') });
    const recorded = await state.get<{ orderUrl: string }>('acme-orders', 'api-v1', new Date());
    expect(recorded?.value.orderUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);

    const second = await issuerFor(pebble, dir, { solver: responder });
    const issued = await second.issue(request('v1'), new Date());
    expect((await state.get<{ orderUrl: string }>('acme-orders', 'api-v1', new Date()))?.value.orderUrl).toBe(
      recorded?.value.orderUrl,
    );
    // A crash after the CA issued (the result lost): the retry downloads the same certificate.
    const third = await issuerFor(pebble, dir, { solver: crashing });
    const again = await third.issue(request('v1'), new Date());
    expect(again.facts.fingerprintSha256).toBe(issued.facts.fingerprintSha256);
    expect(again.privateKey.reveal()).toBe(issued.privateKey.reveal());
  });

  it('reads the CA’s suggested renewal window (ARI) and sees an override that moves it earlier', async () => {
    const dir = await temp.make('acme-ari');
    pebble = await startPebble(dir);
    const issuer = await issuerFor(pebble, dir);
    const bundle = await issuer.issue(request('v1'), new Date());
    expect(ariCertId(bundle.certificatePem)).toMatch(/^[\w-]+\.[\w-]+$/);
    const info = await issuer.renewalInfo(bundle.certificatePem);
    expect(Date.parse(info!.suggestedWindow.start)).toBeGreaterThan(Date.parse(bundle.facts.notBefore));
    const early = {
      start: new Date(Date.now() - 60_000).toISOString(),
      end: new Date(Date.now() + 60_000).toISOString(),
    };
    await pebble.setRenewalInfo(bundle.certificatePem, early);
    expect((await issuer.renewalInfo(bundle.certificatePem))?.suggestedWindow).toEqual(early);
  });
});

describe('ACME order journal', () => {
  it('keeps an order’s certificate key for retries, and removes it once it is past the retention', async () => {
    const dir = await temp.make('acme-journal');
    const { utimes } = await import('node:fs/promises');
    const { SecretKey } = await import('../../../lambda/domain/secret');
    const { encodeName } = await import('../../../lambda/adapters/local/file-state-store');
    const now = new Date();
    const journal = new LocalAcmeJournal(
      join(dir, 'acme'),
      new FileStateStore({ directory: join(dir, 'state') }),
      () => now,
    );
    const key = (label: string) =>
      new SecretKey(`-----BEGIN PRIVATE KEY-----\n${label}\n-----END PRIVATE KEY-----\n`);
    const age = async (id: string, days: number) => {
      const at = new Date(now.getTime() - days * 86_400_000);
      await utimes(join(dir, 'acme', 'orders', `${encodeName(id)}.key.pem`), at, at);
    };
    await journal.reserveKey('api-v1', key('v1'));
    await journal.reserveKey('api-v2', key('v2'));
    await age('api-v1', 31);
    await age('api-v2', 29);
    await journal.reserveKey('api-v3', key('v3'));
    expect(await journal.lookup('api-v1')).toBeUndefined();
    expect((await journal.lookup('api-v2'))?.privateKey?.reveal()).toContain('v2');
    expect((await journal.lookup('api-v3'))?.privateKey?.reveal()).toContain('v3');
  });
});
