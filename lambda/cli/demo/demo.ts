/**
 * `certrotor demo` (what `npm start` runs): the whole cycle on loopback with nothing but Node.
 * Starts TLS hosts in two environments (separate processes serving certificate files and reloading
 * on SIGHUP), holds a long-lived connection to one whose certificate has expired, runs one cycle
 * (scan → findings → events → Slack messages → rotation with per-host verification), shows the final
 * status, and stops every process it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tls from 'node:tls';
import type { Command } from 'commander';
import { createPrivateKey } from 'node:crypto';
import {
  exportPrivateKey,
  generateKeyPair,
  importSigningKey,
  mintCertificate,
} from '../../adapters/crypto/mint';
import { LocalCaIssuer } from '../../adapters/local/local-ca-issuer';
import { SecretKey } from '../../domain/secret';
import { buildSlackMessage } from '../../domain/notifications/event-message';
import { parseEvent } from '../../domain/events';
import type { OutgoingEvent } from '../../domain/ports';
import type { CliContext } from '../context';
import { runCli } from '../program';

const DAY = 86_400_000;

interface DemoHost {
  readonly name: string;
  readonly environment: string;
  readonly daysLeft: number;
  /** Managed by `certrotor agent` instead of a files destination. */
  readonly agent?: boolean;
  port?: number;
  process?: ChildProcess;
}

export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description(
      'run the whole cycle on loopback: TLS hosts in two environments, findings, events, Slack messages, rotation',
    )
    .option(
      '--dir <dir>',
      'working directory: new or empty, or one an earlier demo created (then recreated)',
      '.certrotor-demo',
    )
    .action(async (options: { dir: string }) => {
      ctx.exitCode = await runDemo(ctx, resolve(ctx.cwd, options.dir));
    });
}

async function runDemo(ctx: CliContext, dir: string): Promise<number> {
  const started = Date.now();
  const hosts: DemoHost[] = [
    { name: 'staging-api', environment: 'staging', daysLeft: -2 },
    { name: 'prod-api-1', environment: 'prod', daysLeft: 5 },
    { name: 'prod-api-2', environment: 'prod', daysLeft: 5 },
    // The background component: its certificate is installed by `certrotor agent` running beside it.
    { name: 'prod-worker-1', environment: 'prod', daysLeft: 5, agent: true },
  ];
  const vendor: DemoHost = { name: 'payments-gateway', environment: 'prod', daysLeft: 200 };
  let longLived: tls.TLSSocket | undefined;
  let agent: ChildProcess | undefined;
  const refused = await prepareDirectory(dir);
  if (refused) {
    ctx.err(refused);
    return 1;
  }
  try {
    section(ctx, '1. Setting up: a local CA, four TLS hosts in two environments, a vendor upstream');
    const stateDir = join(dir, 'state');
    const ca = new LocalCaIssuer({
      directory: join(stateDir, 'ca', 'local-ca'),
      name: 'local-ca',
      clock: ctx.clock,
    });
    const caPem = (await ca.caCertificate()).pem;
    const caKey = new SecretKey(await readFile(join(ca.directory, 'ca.key.pem'), 'utf8'));
    const caKeys = await importSigningKey(caKey, caPem);
    const now = ctx.clock();
    for (const host of hosts) {
      const hostDir = join(dir, 'hosts', host.name);
      await mkdir(hostDir, { recursive: true });
      // Staging's certificate starts valid so a client can connect; it is then replaced by an expired one.
      await installCertificate(
        hostDir,
        caPem,
        caKeys,
        host.environment === 'staging' ? 30 : host.daysLeft,
        now,
      );
      host.process = startHost(hostDir);
      host.port = await listeningPort(host.process, host.name);
      ctx.out(
        `  ${host.name.padEnd(16)} ${host.environment.padEnd(8)} https://127.0.0.1:${host.port}  (pid ${host.process.pid})${host.agent ? ', managed by certrotor agent' : ''}`,
      );
    }

    // The vendor: its own CA, a server we connect to, and a client certificate CA it is rotating.
    const vendorCa = await demoCa('CN=Payments Vendor Root, O=vendor', now);
    const vendorDir = join(dir, 'hosts', vendor.name);
    await mkdir(vendorDir, { recursive: true });
    await installCertificate(vendorDir, vendorCa.pem, vendorCa.keys, vendor.daysLeft, now, {
      subject: 'CN=pay.vendor.test, O=vendor',
      dnsNames: ['pay.vendor.test'],
    });
    await writeFile(join(dir, 'vendor-ca.pem'), vendorCa.pem);
    vendor.process = startHost(vendorDir);
    vendor.port = await listeningPort(vendor.process, vendor.name);
    ctx.out(
      `  ${vendor.name.padEnd(16)} ${'vendor'.padEnd(8)} https://127.0.0.1:${vendor.port}  (pid ${vendor.process.pid}), an upstream our prod hosts call`,
    );

    const staging = hosts[0]!;
    longLived = await openLongLivedConnection(staging.port!, caPem);
    await installCertificate(join(dir, 'hosts', staging.name), caPem, caKeys, staging.daysLeft, now);
    await reloadHost(staging);
    ctx.out(
      `  a client opened a long-lived connection to ${staging.name}; then its certificate was replaced by one that expired ${-staging.daysLeft} days ago`,
    );
    ctx.out(
      `  long-lived connection still works: ${await ping(longLived)}  ← this is how an expired certificate hides`,
    );

    const configFile = join(dir, 'certrotor.yaml');
    await writeFile(configFile, demoConfig(hosts, vendor, dir));
    ctx.out(`  configuration: ${configFile}`);

    const events: OutgoingEvent[] = [];
    const cli = (args: string[], capture?: (line: string) => void) =>
      runCli([...args, '--config', configFile], {
        ...ctx,
        out: (line) => (capture ? capture(line) : ctx.out(indent(line))),
        err: (line) => ctx.err(indent(line)),
        exitCode: 0,
      });

    const worker = hosts.find((h) => h.agent)!;
    agent = startAgent(worker.name, configFile, dir);
    ctx.out(`  certrotor agent started for ${worker.name} (pid ${agent.pid}): it pulls its desired version`);

    // The vendor announced a client CA rotation and sent us a client certificate from the new CA.
    const cutover = new Date(now.getTime() + 10 * DAY);
    await cli([
      'upstream',
      'announce',
      vendor.name,
      '--window-start',
      new Date(now.getTime() - DAY).toISOString(),
      '--cutover',
      cutover.toISOString(),
      '--id',
      'VEND-2291',
      '--note',
      'VEND-2291: client certificates move to the G2 client CA',
    ]);
    const clientCa = await demoCa('CN=Payments Vendor Client CA G2, O=vendor', now);
    const client = await generateKeyPair('EC_P256');
    const clientPem = await mintCertificate({
      subject: 'CN=certrotor-demo, O=example customer',
      notBefore: new Date(now.getTime() - DAY),
      notAfter: new Date(now.getTime() + 365 * DAY),
      subjectKeys: client.keys,
      issuer: { certificatePem: clientCa.pem, keys: clientCa.keys },
      extendedKeyUsage: ['clientAuth'],
    });
    await writeFile(join(dir, 'vendor-client-g2.pem'), clientPem);
    await writeFile(join(dir, 'vendor-client-g2.key'), (await exportPrivateKey(client)).reveal(), {
      mode: 0o600,
    });
    await cli([
      'upstream',
      'import-client-cert',
      vendor.name,
      '--cert',
      join(dir, 'vendor-client-g2.pem'),
      '--key',
      join(dir, 'vendor-client-g2.key'),
    ]);
    ctx.out(
      `  ${vendor.name} cuts over on ${cutover.toISOString().slice(0, 10)}; consumers: prod-api-1, prod-api-2 and ${worker.name}`,
    );

    section(
      ctx,
      '2. One cycle: fresh-handshake probes, findings, events, rotation with per-host verification',
    );
    const runCode = await cli(['run']);
    for (const line of (await readFile(join(dir, 'events.jsonl'), 'utf8')).split('\n').filter(Boolean)) {
      events.push(JSON.parse(line) as OutgoingEvent);
    }

    section(
      ctx,
      '3. Slack messages built from those events' +
        (ctx.env.SLACK_WEBHOOK_URL
          ? ' (also sent to SLACK_WEBHOOK_URL)'
          : ' (set SLACK_WEBHOOK_URL to send them)'),
    );
    for (const event of events) {
      const message = buildSlackMessage(parseEvent(event), {
        now: ctx.clock(),
        runbookBaseUrl: 'https://runbooks.example.com/certrotor',
      });
      ctx.out(indent(message.text.split('\n')[0] ?? ''));
    }

    section(ctx, '4. Status after the cycle (a second scan: nothing is reported twice)');
    await cli(['scan']);
    await cli(['status']);
    ctx.out('');
    await cli(['hosts']);
    ctx.out('');
    await cli(['upstream', 'status']);
    ctx.out(
      `  long-lived connection to ${staging.name} is still up: ${await ping(longLived)}; new connections get the new certificate`,
    );

    section(ctx, `done in ${((Date.now() - started) / 1000).toFixed(1)} s; state and events kept in ${dir}`);
    // The run reports failures (the expired certificate was a finding, not a failure); a rotation
    // failure would make it non-zero.
    return runCode;
  } finally {
    longLived?.destroy();
    const children = [...hosts.map((h) => h.process), vendor.process, agent];
    for (const child of children) child?.kill('SIGTERM');
    await Promise.all(children.map((c) => (c ? exited(c) : undefined)));
  }
}

/** Marks a directory the demo created, so a later demo may recreate it and nothing else. */
const MARKER = '.certrotor-demo';

/**
 * Makes `dir` an empty directory of the demo's own. Only a directory the demo created (it holds the
 * marker) is ever emptied; a new or empty one is taken and marked. Anything else is refused: the
 * one-line reason, or undefined when the directory is ready.
 */
async function prepareDirectory(dir: string): Promise<string | undefined> {
  let entries: string[] | undefined;
  try {
    entries = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') return `demo: --dir ${dir} is a file, not a directory`;
    if (code !== 'ENOENT') return `demo: cannot read --dir ${dir}: ${(error as Error).message}`;
  }
  if (entries && entries.length > 0) {
    if (!entries.includes(MARKER))
      return `demo: --dir ${dir} is not empty and was not created by certrotor demo; choose a new or empty directory`;
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(
    join(dir, MARKER),
    'created by certrotor demo; the next demo run may delete this directory\n',
    {
      mode: 0o600,
    },
  );
  return undefined;
}

async function installCertificate(
  hostDir: string,
  caPem: string,
  caKeys: CryptoKeyPair,
  daysLeft: number,
  now: Date,
  names: { subject: string; dnsNames: string[] } = {
    subject: 'CN=api.internal, O=certrotor demo',
    dnsNames: ['api.internal', 'localhost'],
  },
): Promise<void> {
  const pair = await generateKeyPair('EC_P256');
  const notAfter = new Date(now.getTime() + daysLeft * DAY);
  const pem = await mintCertificate({
    subject: names.subject,
    dnsNames: names.dnsNames,
    ipAddresses: ['127.0.0.1'],
    notBefore: new Date(notAfter.getTime() - 90 * DAY),
    notAfter,
    subjectKeys: pair.keys,
    issuer: { certificatePem: caPem, keys: caKeys },
  });
  const key = await exportPrivateKey(pair);
  createPrivateKey(key.reveal()); // sanity: a usable key before the host loads it
  await writeFile(join(hostDir, 'key.pem'), key.reveal(), { mode: 0o600 });
  await writeFile(join(hostDir, 'fullchain.pem'), pem + caPem);
  await writeFile(join(hostDir, 'cert.pem'), pem);
  await writeFile(join(hostDir, 'chain.pem'), caPem);
}

/** A bundled script beside the CLI in dist/, or in dist/ when the demo runs from source (tests). */
function distScript(file: string): string {
  const candidates = [join(__dirname, file), resolve(__dirname, '../../../dist', file)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`dist/${file} is missing: run \`npm run build\` first`);
  return found;
}

function startHost(hostDir: string): ChildProcess {
  const script = distScript('demo-host.js');
  return spawn(process.execPath, [script, hostDir, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `certrotor agent` for one host, as a separate process the way it runs on a real host. */
function startAgent(host: string, configFile: string, cwd: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [distScript('certrotor.js'), 'agent', '--host', host, '--config', configFile],
    { cwd, stdio: ['ignore', 'ignore', 'ignore'] },
  );
  return child;
}

async function demoCa(subject: string, now: Date): Promise<{ pem: string; keys: CryptoKeyPair }> {
  const pair = await generateKeyPair('EC_P256');
  const pem = await mintCertificate({
    subject,
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 3650 * DAY),
    subjectKeys: pair.keys,
    isCA: true,
  });
  return { pem, keys: pair.keys };
}

function listeningPort(child: ChildProcess, name: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo host ${name} did not start within 10 s`)), 10_000);
    child.stdout!.on('data', (data: Buffer) => {
      const match = /listening (\d+)/.exec(data.toString());
      if (match) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`demo host ${name} exited with ${code}`)));
  });
}

async function reloadHost(host: DemoHost): Promise<void> {
  const reloaded = new Promise<void>((r) => host.process!.stdout!.once('data', () => r()));
  host.process!.kill('SIGHUP');
  await reloaded;
}

function openLongLivedConnection(port: number, caPem: string): Promise<tls.TLSSocket> {
  return new Promise((resolveSocket, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'api.internal', ca: [caPem] }, () =>
      resolveSocket(socket),
    );
    socket.once('error', reject);
  });
}

function ping(socket: tls.TLSSocket): Promise<string> {
  return new Promise((r) => {
    const timer = setTimeout(() => r('no answer'), 2000);
    socket.once('data', (d) => {
      clearTimeout(timer);
      r(`sent "ping", got "${d.toString()}"`);
    });
    socket.write('ping');
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

function demoConfig(hosts: readonly DemoHost[], vendor: DemoHost, dir: string): string {
  const hostYaml = hosts
    .map(
      (h) =>
        `  - name: ${h.name}\n    environment: ${h.environment}\n    address: 127.0.0.1\n    endpoint: { port: ${h.port}, servername: api.internal }` +
        (h.agent ? '\n    agent: { pollInterval: 300ms, jitter: 100ms }' : ''),
    )
    .join('\n');
  const destinationOf = (h: DemoHost) => (h.agent ? `${h.name}-agent` : `${h.name}-files`);
  const destinations = hosts
    .map((h) =>
      h.agent
        ? `  - name: ${destinationOf(h)}\n    kind: agent\n    hosts: [${h.name}]\n    directory: hosts/${h.name}\n    reloadCommand: ["kill", "-HUP", "${h.process!.pid}"]\n    reloadTimeout: 5s\n    healthCheck: { handshake: true, timeout: 3s }`
        : `  - name: ${destinationOf(h)}\n    kind: files\n    host: ${h.name}\n    directory: hosts/${h.name}\n    reloadCommand: ["kill", "-HUP", "${h.process!.pid}"]\n    reloadTimeout: 5s`,
    )
    .join('\n');
  // The vendor's client certificate goes beside each API host's own files; nothing delivers it to the worker.
  const clientDestinations = hosts
    .filter((h) => h.environment === 'prod' && !h.agent)
    .map(
      (h) =>
        `  - name: ${h.name}-payments-client\n    kind: files\n    host: ${h.name}\n    directory: hosts/${h.name}/payments-client`,
    )
    .join('\n');
  const prodApis = hosts.filter((h) => h.environment === 'prod' && !h.agent);
  const workers = hosts.filter((h) => h.agent);
  return `# Generated by \`certrotor demo\` in ${dir}
version: 1
environments:
  - name: staging
  - name: prod
issuers:
  - name: local-ca
    kind: local-ca
    directory: state/ca/local-ca
hosts:
${hostYaml}
destinations:
${destinations}
${clientDestinations}
certificates:
  - name: internal-api
    commonName: api.internal
    dnsNames: [api.internal, localhost]
    ipAddresses: [127.0.0.1]
    issuer: local-ca
    validity: 90d
    destinations: [${hosts.map(destinationOf).join(', ')}]
    rollout: { canary: 1, batchSize: 2, verifyTimeout: 10s, verifyInterval: 200ms }
    owner: platform-team
    runbookUrl: https://runbooks.example.com/certrotor/internal-api
upstreams:
  - name: ${vendor.name}
    description: The payments vendor's API (mutual TLS)
    owner: payments-team
    endpoints:
      - { host: 127.0.0.1, port: ${vendor.port}, servername: pay.vendor.test, environment: prod }
    trust: { caBundleFile: vendor-ca.pem }
    consumers:
      destinations: [${prodApis.map((h) => `${h.name}-payments-client`).join(', ')}]
      hosts: [${workers.map((h) => h.name).join(', ')}]
notifications:
  channels:
    - name: ops
      kind: slack
      webhook: { env: SLACK_WEBHOOK_URL }
  runbookBaseUrl: https://runbooks.example.com/certrotor
probe: { timeout: 3s }
local:
  stateDirectory: state
  events: { stdout: true, jsonlFile: events.jsonl }
`;
}

function section(ctx: CliContext, title: string): void {
  ctx.out('');
  ctx.out(`== ${title}`);
}

function indent(line: string): string {
  return `  ${line}`;
}
