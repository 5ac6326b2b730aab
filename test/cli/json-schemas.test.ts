/**
 * Typed JSON, one schema per command: every `--json` document of the built `certrotor` binary
 * (dist/certrotor.js) names its schema (`certrotor.<command>/1`) and validates against it, and the
 * JSON Schemas published in schemas/cli/ are the ones the CLI defines (lambda/cli/json-output.ts;
 * regenerate with UPDATE_DOCS=1). One loopback workspace: a TLS endpoint serving a certificate about
 * to expire, a files source, a local CA with a files destination, a vendor upstream.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import * as tls from 'node:tls';
import {
  JSON_COMMANDS,
  type JsonCommand,
  cliJsonSchemaFiles,
  documentSchema,
} from '../../lambda/cli/json-output';
import { DAY, buildCa, buildCertificate } from '../builders/certificates';
import { useTempDirs } from '../support/temp-dir';

jest.setTimeout(60_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const root = resolve(__dirname, '..', '..');
const temp = useTempDirs();
const servers: tls.Server[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
});

function certrotor(
  dir: string,
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...argv], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, CERTROTOR_CONFIG: join(dir, 'certrotor.json') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

async function workspace(): Promise<string> {
  const dir = await temp.make('cli-json-schemas');
  const now = Date.now();
  const ca = await buildCa({ commonName: 'JSON schema CA', now: new Date(now - 400 * DAY) });
  const served = await buildCertificate({
    issuer: ca,
    commonName: 'api.internal.example',
    notAfter: new Date(now + 5 * DAY + 3_600_000),
    lifetimeDays: 365,
  });
  const billing = await buildCertificate({
    issuer: ca,
    commonName: 'api.internal.example',
    notAfter: new Date(now + 40 * DAY),
    lifetimeDays: 365,
  });
  const vendorCa = await buildCa({ commonName: 'Vendor client CA', now: new Date(now - DAY) });
  const client = await buildCertificate({
    issuer: vendorCa,
    commonName: 'client.example.com',
    extendedKeyUsage: ['clientAuth'],
    notAfter: new Date(now + 200 * DAY),
    lifetimeDays: 365,
  });
  writeFileSync(join(dir, 'ca.pem'), ca.certificatePem);
  writeFileSync(join(dir, 'billing.pem'), billing.certificatePem);
  writeFileSync(join(dir, 'client.pem'), client.certificatePem);
  writeFileSync(join(dir, 'client.key'), client.privateKey.reveal(), { mode: 0o600 });
  const server = tls.createServer({ key: served.privateKey.reveal(), cert: served.certificatePem });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  mkdirSync(join(dir, 'tls'), { recursive: true });
  writeFileSync(
    join(dir, 'certrotor.json'),
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }, { name: 'staging' }],
      issuers: [
        { name: 'local', kind: 'local-ca' },
        { name: 'vendor', kind: 'external' },
      ],
      sources: [{ name: 'files', kind: 'files', environment: 'prod', paths: ['billing.pem'] }],
      hosts: [{ name: 'web-1', environment: 'staging' }],
      destinations: [
        { name: 'web-files', kind: 'files', environment: 'staging', directory: 'tls/web', host: 'web-1' },
      ],
      endpoints: [
        {
          name: 'api-staging',
          environment: 'staging',
          host: '127.0.0.1',
          port,
          servername: 'api.internal.example',
          caFile: 'ca.pem',
        },
      ],
      certificates: [
        {
          name: 'api',
          dnsNames: ['api.example.com'],
          issuer: 'local',
          validity: '30d',
          destinations: ['web-files'],
        },
        { name: 'vendor-client', commonName: 'client.example.com', usage: 'client', issuer: 'vendor' },
      ],
      upstreams: [
        {
          name: 'payments',
          endpoints: [{ host: '127.0.0.1', port, environment: 'prod', servername: 'api.internal.example' }],
          trust: { caBundleFile: 'ca.pem' },
          clientCertificate: 'vendor-client',
          consumers: { destinations: ['web-files'] },
        },
      ],
      local: { stateDirectory: 'state', events: { stdout: false } },
    }),
  );
  return dir;
}

describe('the JSON output of every command', () => {
  it('names its schema and validates against it, for every command that prints JSON', async () => {
    // Prepare
    const dir = await workspace();
    const inAWeek = new Date(Date.now() + 7 * DAY).toISOString();
    const yesterday = new Date(Date.now() - DAY).toISOString();

    // Act: every command with --json, in an order that gives each something to say.
    const documents: [JsonCommand, string[]][] = [
      ['config-validate', ['config', 'validate', '--json']],
      ['inspect', ['inspect', 'billing.pem', '--json']],
      ['scan', ['scan', '--json']],
      ['status', ['status', '--json']],
      ['plan', ['plan', '--json']],
      ['rotate', ['rotate', 'api', '--json']],
      ['repair', ['repair', 'api', '--json']],
      [
        'upstream-announce',
        ['upstream', 'announce', 'payments', '--window-start', yesterday, '--cutover', inAWeek, '--json'],
      ],
      [
        'upstream-import-client-cert',
        [
          'upstream',
          'import-client-cert',
          'payments',
          '--cert',
          'client.pem',
          '--key',
          'client.key',
          '--json',
        ],
      ],
      ['upstream-watch', ['upstream', 'watch', '--json']],
      ['upstream-status', ['upstream', 'status', '--json']],
      ['run', ['run', '--json']],
      ['hosts', ['hosts', '--json']],
      [
        'silence',
        ['silence', '--scope', 'environment=staging', '--until', '4h', '--reason', 'INC-1', '--json'],
      ],
      ['silence-list', ['silence', 'list', '--json']],
    ];
    const outputs: { command: JsonCommand; document: Record<string, unknown>; stderr: string }[] = [];
    for (const [command, argv] of documents) {
      const run = await certrotor(dir, ...argv);
      outputs.push({
        command,
        document: JSON.parse(run.stdout) as Record<string, unknown>,
        stderr: run.stderr,
      });
    }
    const silenceId = String(
      (outputs.find((o) => o.command === 'silence')!.document.silence as { id: string }).id,
    );
    const lift = await certrotor(dir, 'silence', 'lift', silenceId, '--json');
    outputs.push({
      command: 'silence-lift',
      document: JSON.parse(lift.stdout) as Record<string, unknown>,
      stderr: lift.stderr,
    });

    // Assess: each document is its command's schema, and every command is covered.
    for (const { command, document, stderr } of outputs) {
      expect({ command, schema: document.schema }).toEqual({ command, schema: `certrotor.${command}/1` });
      const checked = documentSchema(command).safeParse(document);
      expect({ command, stderr, issues: checked.success ? [] : checked.error.issues }).toEqual({
        command,
        stderr,
        issues: [],
      });
    }
    expect(outputs.map((o) => o.command).sort()).toEqual([...JSON_COMMANDS].sort());
    // Typed: full fingerprints and numbers where a person would compute.
    const status = outputs.find((o) => o.command === 'status')!.document as {
      rows: { fingerprintSha256: string | null; daysLeft: number | null }[];
    };
    expect(status.rows.some((r) => typeof r.daysLeft === 'number')).toBe(true);
    const scan = outputs.find((o) => o.command === 'scan')!.document as {
      findings: { places?: unknown[] }[];
    };
    expect(scan.findings.length).toBeGreaterThan(0);
  });

  it('is published as one JSON Schema per command in schemas/cli/', () => {
    const files = cliJsonSchemaFiles();
    if (process.env.UPDATE_DOCS === '1') {
      mkdirSync(join(root, 'schemas', 'cli'), { recursive: true });
      for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text);
    }
    for (const [path, text] of Object.entries(files)) {
      const actual = existsSync(join(root, path)) ? readFileSync(join(root, path), 'utf8') : undefined;
      expect({ path, inSync: actual === text }).toEqual({ path, inSync: true });
    }
    expect(readdirSync(join(root, 'schemas', 'cli')).sort()).toEqual(
      JSON_COMMANDS.map((c) => `${c}.json`).sort(),
    );
  });
});
