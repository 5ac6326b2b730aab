/**
 * A client certificate from a public CA that stops issuing clientAuth reaches people: the scan's
 * `client-auth-sunset` finding is a `Client Certificate Sunset` event and a Slack message (a fake
 * Slack server on loopback), sent once per level: the warning once, then critical once from the date
 * on. Through the built binary (dist/certrotor.js), and in-process with the clock crossing the date.
 *
 * The "public" CA is minted by the test with a public CA operator's organization name (DigiCert: the
 * Chrome Root Program's 2027-03-15 applies to it).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exportPrivateKey, generateKeyPair, mintCertificate } from '../../lambda/adapters/crypto/mint';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { type FakeSlackServer, startFakeSlackServer } from '../support/fake-slack-server';
import { createTempDirs } from '../support/temp-dir';

jest.setTimeout(60_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const DAY = 86_400_000;
const SUNSET = '2027-03-15';
const temp = createTempDirs();
let slack: FakeSlackServer;

beforeAll(async () => {
  slack = await startFakeSlackServer();
});
afterAll(async () => {
  await slack.close();
  await temp.cleanup();
});

interface Workspace {
  readonly dir: string;
  readonly configFile: string;
}

/** An upstream whose client certificate the vendor supplies, and a Slack channel. */
async function workspace(): Promise<Workspace> {
  const dir = await temp.make('cli-client-auth-sunset');
  const configFile = join(dir, 'certrotor.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }],
      issuers: [{ name: 'vendor', kind: 'external' }],
      hosts: [{ name: 'web-1', environment: 'prod', address: '127.0.0.1' }],
      certificates: [
        { name: 'vendor-client', commonName: 'client.example.com', usage: 'client', issuer: 'vendor' },
      ],
      upstreams: [
        {
          name: 'payments',
          endpoints: [{ host: 'pay.example.net', port: 443, environment: 'prod' }],
          clientCertificate: 'vendor-client',
          consumers: { hosts: ['web-1'] },
          owner: 'payments-team',
        },
      ],
      notifications: {
        channels: [{ name: 'alerts', kind: 'slack', webhook: { env: 'SLACK_WEBHOOK_URL' } }],
        delivery: { messagesPerSecond: 10, maxAttempts: 2, timeout: '5s' },
      },
      local: { stateDirectory: join(dir, 'state'), events: { stdout: false } },
    }),
  );
  return { dir, configFile };
}

/** A client certificate (serverAuth + clientAuth) from a DigiCert-named CA, written as client.pem/key. */
async function vendorClientCertificate(ws: Workspace, notAfter: Date): Promise<string> {
  const ca = await generateKeyPair('EC_P256');
  const caPem = await mintCertificate({
    subject: 'C=US, O=DigiCert Inc, CN=DigiCert Test TLS CA',
    dnsNames: [],
    notBefore: new Date(notAfter.getTime() - 3650 * DAY),
    notAfter: new Date(notAfter.getTime() + 3650 * DAY),
    subjectKeys: ca.keys,
    isCA: true,
    extendedKeyUsage: [],
  });
  const leaf = await generateKeyPair('EC_P256');
  const certificatePem = await mintCertificate({
    subject: 'CN=client.example.com',
    dnsNames: ['client.example.com'],
    notBefore: new Date(notAfter.getTime() - 398 * DAY),
    notAfter,
    subjectKeys: leaf.keys,
    isCA: false,
    extendedKeyUsage: ['serverAuth', 'clientAuth'],
    issuer: { certificatePem: caPem, keys: ca.keys },
  });
  const keyPem = (await exportPrivateKey(leaf)).reveal();
  writeFileSync(join(ws.dir, 'client.pem'), certificatePem);
  writeFileSync(join(ws.dir, 'client.key'), keyPem, { mode: 0o600 });
  return keyPem;
}

const IMPORT = ['upstream', 'import-client-cert', 'payments', '--cert', 'client.pem', '--key', 'client.key'];

function binary(ws: Workspace, ...argv: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [CLI, ...argv, '--config', ws.configFile], {
    cwd: ws.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', SLACK_WEBHOOK_URL: slack.url },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((r) => child.once('exit', (code) => r({ code, out })));
}

async function inProcess(
  ws: Workspace,
  now: Date,
  ...argv: string[]
): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const ctx: CliContext = {
    out: (text) => out.push(text),
    err: (text) => out.push(text),
    env: { SLACK_WEBHOOK_URL: slack.url },
    cwd: ws.dir,
    clock: () => now,
    exitCode: 0,
  };
  const code = await runCli([...argv, '--config', ws.configFile], ctx);
  return { code, out: out.join('\n') };
}

function postedSince(from: number): { text: string; body: string }[] {
  return slack.requests.slice(from).map((r) => ({ text: String(r.json?.text ?? ''), body: r.body }));
}

describe('a client certificate losing clientAuth reaches Slack', () => {
  it('posts one warning naming the certificate, the upstream and the date, and nothing more on the next scan (built binary)', async () => {
    const ws = await workspace();
    const keyPem = await vendorClientCertificate(ws, new Date(Date.now() + 200 * DAY));
    expect((await binary(ws, ...IMPORT)).code).toBe(0);
    const from = slack.requests.length;

    const scanned = await binary(ws, 'scan');

    expect(scanned.out).toContain('vendor-client is presented to upstream payments as a client certificate');
    const posted = postedSince(from);
    expect(posted).toHaveLength(1);
    expect(posted[0]!.text).toMatch(
      /^\[warning\] Client certificate losing clientAuth: vendor-client \(upstream payments\)/,
    );
    expect(posted[0]!.body).toContain(SUNSET);
    expect(posted[0]!.body).toContain('Chrome Root Program');
    expect(posted[0]!.body).toContain('payments-team');
    expect(posted[0]!.body).toContain('certrotor upstream import-client-cert payments');
    expect(posted[0]!.body).toContain('Client Certificate Sunset');
    const keyBody = keyPem.split('\n')[1]!;
    expect(posted[0]!.body).not.toContain(keyBody);
    expect(posted[0]!.body).not.toContain('PRIVATE KEY');

    const again = slack.requests.length;
    expect((await binary(ws, 'scan')).code).not.toBeNull();
    expect(postedSince(again)).toEqual([]);
  });

  it('posts the warning once before the date and critical once from the date on, as the clock crosses it', async () => {
    const ws = await workspace();
    const before = new Date(`${SUNSET}T00:00:00Z`);
    await vendorClientCertificate(ws, new Date(before.getTime() + 120 * DAY));
    const at = (days: number) => new Date(before.getTime() + days * DAY);
    expect((await inProcess(ws, at(-20), ...IMPORT)).code).toBe(0);
    const start = slack.requests.length;

    await inProcess(ws, at(-14), 'scan');
    await inProcess(ws, at(-1), 'scan');
    const warnings = postedSince(start);
    const critical = slack.requests.length;
    await inProcess(ws, at(0.5), 'scan');
    await inProcess(ws, at(3), 'scan');
    const criticals = postedSince(critical);

    expect(warnings.map((p) => p.text.slice(0, 20))).toEqual(['[warning] Client cer']);
    expect(criticals).toHaveLength(1);
    expect(criticals[0]!.text).toMatch(/\[critical\] Client certificate losing clientAuth: vendor-client/);
    expect(criticals[0]!.body).toContain(`since *${SUNSET}*`);
  });
});
