/**
 * A real ACME server for the tests: Pebble v2.10.3 and pebble-challtestsrv (its DNS resolver), both
 * built into .tools/bin by scripts/ensure-test-deps.sh, on loopback with free ports and their own
 * configuration in a temp directory. Every name resolves to 127.0.0.1 (challtestsrv's default), so
 * HTTP-01 validation connects to 127.0.0.1:<httpPort>, where the test's responder listens. TXT
 * records for DNS-01 are set through challtestsrv's management API (`ChalltestsrvDns`).
 *
 * Pebble's TLS certificate is minted here (`caPem` trusts it). Its issuing root is at the management
 * API's `/roots/0` (`rootPem()`), its intermediates at `/intermediates/0`.
 *
 * Pebble v2.10.3 issues serverAuth-only certificates for every profile (ca.Profile has no EKU
 * setting), so "a profile with clientAuth" is not something Pebble can offer.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import type { DnsTxtPort } from '../../lambda/adapters/net/acme/challenges';
import { exportPrivateKey, generateKeyPair, mintCertificate } from '../../lambda/adapters/crypto/mint';
import { createServer } from 'node:net';

export const PEBBLE_BIN = resolve(__dirname, '..', '..', '.tools', 'bin', 'pebble');
export const CHALLTESTSRV_BIN = resolve(__dirname, '..', '..', '.tools', 'bin', 'pebble-challtestsrv');

export interface PebbleOptions {
  /** Percentage of valid nonces Pebble rejects as badNonce. @default 0 */
  readonly nonceRejectPercent?: number;
  /** EAB key ids and base64url MAC keys; when set, External Account Binding is required. */
  readonly eabKeys?: Record<string, string>;
  /** Retry-After seconds Pebble sends on authz/order polls. @default 0 */
  readonly retryAfter?: { readonly authz: number; readonly order: number };
}

export interface Pebble {
  readonly directoryUrl: string;
  readonly managementUrl: string;
  /** Trust for Pebble's HTTPS listener (the ACME API). */
  readonly caPem: string;
  readonly caFile: string;
  /** The port Pebble's VA connects to for HTTP-01 (on 127.0.0.1). */
  readonly httpPort: number;
  /** challtestsrv's management API. */
  readonly challtestsrvUrl: string;
  readonly dns: ChalltestsrvDns;
  /** Pebble's issuing root (management API /roots/0). */
  rootPem(): Promise<string>;
  intermediatePem(): Promise<string>;
  /** Overrides the ARI answer for one certificate (management API /set-renewal-info/). */
  setRenewalInfo(certificatePem: string, window: { start: string; end: string }): Promise<void>;
  stop(): Promise<void>;
}

export function pebbleInstalled(): boolean {
  return existsSync(PEBBLE_BIN) && existsSync(CHALLTESTSRV_BIN);
}

/** TXT records on challtestsrv (what Pebble's DNS-01 validation asks). */
export class ChalltestsrvDns implements DnsTxtPort {
  readonly calls: { op: 'set' | 'clear'; name: string }[] = [];

  constructor(private readonly url: string) {}

  async setTxt(name: string, value: string): Promise<void> {
    this.calls.push({ op: 'set', name });
    await post(`${this.url}/set-txt`, { host: `${name}.`, value });
  }

  async clearTxt(name: string): Promise<void> {
    this.calls.push({ op: 'clear', name });
    await post(`${this.url}/clear-txt`, { host: `${name}.` });
  }
}

async function post(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`);
}

function httpsGet(url: string, ca: string, init: { method?: string; body?: string } = {}): Promise<string> {
  return new Promise((done, reject) => {
    const req = httpsRequest(
      url,
      { ca, method: init.method ?? 'GET', headers: { 'user-agent': 'certrotor-tests' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 400) reject(new Error(`${url}: ${res.statusCode} ${text}`));
          else done(text);
        });
      },
    );
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}

function track(child: ChildProcess, label: string, log: string[]): void {
  child.stdout?.on('data', (c: Buffer) => log.push(`${label}: ${c.toString()}`));
  child.stderr?.on('data', (c: Buffer) => log.push(`${label}: ${c.toString()}`));
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((done) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}

/**
 * A free loopback port below the kernel's ephemeral range (32768+): a port picked by binding to 0
 * and releasing it can be taken by any outgoing connection before Pebble binds it; one outside
 * that range can only be taken by another test choosing the same way.
 */
async function freeFixedPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((done) => {
      const probe = createServer();
      probe.once('error', () => done(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free loopback port between 20000 and 32000');
}

/** Starts Pebble and challtestsrv; a start that loses a port race is retried on other ports. */
export async function startPebble(dir: string, options: PebbleOptions = {}): Promise<Pebble> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startPebbleOnce(dir, options);
    } catch (error) {
      last = error;
    }
  }
  throw last;
}

async function startPebbleOnce(dir: string, options: PebbleOptions): Promise<Pebble> {
  if (!pebbleInstalled())
    throw new Error(
      `Pebble is not built: run \`bash scripts/ensure-test-deps.sh\` (it installs pebble and pebble-challtestsrv v2.10.3 into .tools/bin)`,
    );
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < 6; i++) ports.push(await freeFixedPort(taken));
  const [acmePort, mgmtPort, httpPort, tlsPort, dnsPort, challMgmtPort] = ports as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const now = Date.now();
  const caKeys = await generateKeyPair('EC_P256');
  const caPem = await mintCertificate({
    subject: 'CN=pebble test TLS CA',
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 86_400_000),
    subjectKeys: caKeys.keys,
    isCA: true,
    extendedKeyUsage: [],
  });
  const tlsKeys = await generateKeyPair('EC_P256');
  const tlsPem = await mintCertificate({
    subject: 'CN=localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 86_400_000),
    subjectKeys: tlsKeys.keys,
    issuer: { certificatePem: caPem, keys: caKeys.keys },
  });
  const caFile = join(dir, 'pebble-tls-ca.pem');
  await writeFile(caFile, caPem);
  await writeFile(join(dir, 'pebble-tls.pem'), tlsPem);
  await writeFile(join(dir, 'pebble-tls.key.pem'), (await exportPrivateKey(tlsKeys)).reveal(), {
    mode: 0o600,
  });
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: join(dir, 'pebble-tls.pem'),
      privateKey: join(dir, 'pebble-tls.key.pem'),
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: options.eabKeys !== undefined,
      ...(options.eabKeys ? { externalAccountMACKeys: options.eabKeys } : {}),
      retryAfter: options.retryAfter ?? { authz: 0, order: 0 },
      keyAlgorithm: 'ecdsa',
      profiles: {
        default: { description: 'The default profile', validityPeriod: 7_776_000 },
        shortlived: { description: 'Six days', validityPeriod: 518_400 },
      },
    },
  };
  const configFile = join(dir, 'pebble-config.json');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const log: string[] = [];
  const chall = spawn(
    CHALLTESTSRV_BIN,
    [
      '-http01',
      '',
      '-https01',
      '',
      '-doh',
      '',
      '-tlsalpn01',
      '',
      '-dnsserver',
      `127.0.0.1:${dnsPort}`,
      '-management',
      `127.0.0.1:${challMgmtPort}`,
      '-defaultIPv4',
      '127.0.0.1',
      '-defaultIPv6',
      '',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  track(chall, 'challtestsrv', log);
  const pebble = spawn(PEBBLE_BIN, ['-config', configFile, '-dnsserver', `127.0.0.1:${dnsPort}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: String(options.nonceRejectPercent ?? 0),
      PEBBLE_AUTHZREUSE: '0',
    },
  });
  track(pebble, 'pebble', log);
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  const managementUrl = `https://127.0.0.1:${mgmtPort}`;
  const challtestsrvUrl = `http://127.0.0.1:${challMgmtPort}`;
  const stop = async (): Promise<void> => {
    await Promise.all([stopChild(pebble), stopChild(chall)]);
  };
  try {
    await waitUntil(async () => {
      // A process that exited (a port taken under it) will not come up: fail now, retry elsewhere.
      for (const [label, child] of [
        ['pebble', pebble],
        ['challtestsrv', chall],
      ] as const)
        if (child.exitCode !== null || child.signalCode !== null) throw new Fatal(`${label} exited`);
      await httpsGet(directoryUrl, caPem);
      await fetch(`${challtestsrvUrl}/dns-request-history`, { method: 'POST', body: '{"host":"x."}' });
    }, log);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    directoryUrl,
    managementUrl,
    caPem,
    caFile,
    httpPort,
    challtestsrvUrl,
    dns: new ChalltestsrvDns(challtestsrvUrl),
    rootPem: () => httpsGet(`${managementUrl}/roots/0`, caPem),
    intermediatePem: () => httpsGet(`${managementUrl}/intermediates/0`, caPem),
    setRenewalInfo: async (certificatePem, window) => {
      await httpsGet(`${managementUrl}/set-renewal-info/`, caPem, {
        method: 'POST',
        body: JSON.stringify({
          Certificate: certificatePem,
          ARIResponse: JSON.stringify({ suggestedWindow: window }),
        }),
      });
    },
    stop,
  };
}

class Fatal extends Error {}

async function waitUntil(check: () => Promise<void>, log: string[]): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 200; i++) {
    try {
      await check();
      return;
    } catch (error) {
      last = error;
      if (error instanceof Fatal) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`Pebble did not start: ${String(last)}\n${log.join('')}`);
}
