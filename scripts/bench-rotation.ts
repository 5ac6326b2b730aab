/**
 * `npm run bench:rotation`: one certificate rotated across N real TLS hosts (200 by default) through
 * the real rotation engine (`rotateCertificate`, the CLI's in-process driver) with the local CA, a
 * file state store and bundle store, and a `files` destination: every host has its own listener, its
 * own certificate directory and its own reload command. Verification is by fresh handshakes.
 *
 *   node dist/bench-rotation.js [--hosts 200] [--processes 2] [--canary 1] [--batch-size 40]
 *                               [--verify-interval-ms 100] [--no-workflow]
 *
 * Hosts: a few child processes each serve many TLS listeners (one per host). A host reloads its own
 * files (`fullchain.pem`, `key.pem`, re-read from its directory) when its reload command asks: the
 * command is `bash` writing the host's name to its process's control port and waiting for `ok`, so
 * it returns once the host serves what is on disk, as `nginx -s reload` returns once the master has
 * the new configuration.
 *
 * Printed: end-to-end time and where it went (issue, deliver = files, reload, verify, promote), per
 * batch, and the number of state transitions the deployed driver (the synthesized Step Functions
 * state machine, executed locally with aws-local-stepfunctions over a fake fleet of the same size and
 * rollout) takes for the same rollout, with its largest state payload.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tls from 'node:tls';
import { FileBundleStore } from '../lambda/adapters/local/file-bundle-store';
import { FileDestination } from '../lambda/adapters/local/file-destination';
import { FileStateStore } from '../lambda/adapters/local/file-state-store';
import { LocalCaIssuer } from '../lambda/adapters/local/local-ca-issuer';
import { runReloadCommand } from '../lambda/adapters/local/reload-command';
import { NodeTlsProber } from '../lambda/adapters/net/tls-prober';
import type { CertificateBundle, Destination, StateStore, TargetOutcome } from '../lambda/domain/ports';
import {
  updateCertificateState,
  readCertificateState,
  nextVersionId,
} from '../lambda/use-cases/certificate-state';
import { DEFAULT_VERIFY } from '../lambda/use-cases/managed-certificate';
import { rotateCertificate } from '../lambda/use-cases/rotation/in-process-driver';
import type { RotationProgress, RotationSpec } from '../lambda/use-cases/rotation/spec';

interface Options {
  hosts: number;
  processes: number;
  canary: number;
  batchSize: number;
  verifyIntervalMs: number;
  rounds: number;
  workflow: boolean;
  deadline: number;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = {
    hosts: 200,
    processes: 2,
    canary: 1,
    batchSize: 40,
    verifyIntervalMs: 100,
    rounds: 3,
    workflow: true,
    deadline: 600,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--no-workflow') {
      options.workflow = false;
      continue;
    }
    const key = arg.replace(/^--/, '').replace(/-(\w)/g, (_, c: string) => c.toUpperCase()) as keyof Options;
    const value = Number(argv[++i]);
    if (!(key in options) || key === 'workflow' || !Number.isInteger(value) || value < 0) {
      throw new Error(`bench-rotation: bad argument ${arg} ${argv[i] ?? ''}`);
    }
    (options[key] as number) = value;
  }
  if (options.hosts < 1 || options.processes < 1 || options.batchSize < 1 || options.rounds < 1)
    throw new Error('bench-rotation: --hosts, --processes, --batch-size and --rounds must be at least 1');
  return options;
}

// ---------------------------------------------------------------------------------------------
// Child: many TLS hosts in one process, each reloading its own files on its own command
// ---------------------------------------------------------------------------------------------

interface HostsMessage {
  readonly hosts: readonly { readonly name: string; readonly dir: string }[];
}

function hostsChild(): void {
  process.once('message', async (message: HostsMessage) => {
    const contexts = new Map<string, tls.SecureContext>();
    const dirs = new Map<string, string>();
    const load = (name: string) => {
      const dir = dirs.get(name)!;
      contexts.set(
        name,
        tls.createSecureContext({
          cert: readFileSync(join(dir, 'fullchain.pem'), 'utf8'),
          key: readFileSync(join(dir, 'key.pem'), 'utf8'),
        }),
      );
    };
    const ports: Record<string, number> = {};
    for (const host of message.hosts) {
      dirs.set(host.name, host.dir);
      load(host.name);
      const server = tls.createServer(
        { SNICallback: (_servername, cb) => cb(null, contexts.get(host.name)!) },
        (socket) => {
          socket.on('error', () => undefined);
          socket.resume();
        },
      );
      server.on('tlsClientError', () => undefined);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', 511, () => resolve());
      });
      ports[host.name] = (server.address() as net.AddressInfo).port;
    }
    // Reload requests: one line with a host name; the answer is `ok` once that host serves its files.
    const control = net.createServer((socket) => {
      let buffered = '';
      socket.setEncoding('utf8');
      socket.on('error', () => undefined);
      socket.on('data', (chunk: string) => {
        buffered += chunk;
        const newline = buffered.indexOf('\n');
        if (newline === -1) return;
        const name = buffered.slice(0, newline).trim();
        const received = Date.now();
        let ok = false;
        try {
          if (dirs.has(name)) {
            load(name);
            ok = true;
          }
        } catch {
          ok = false;
        }
        process.send!({ reloaded: name, received, done: Date.now(), ok });
        socket.end(ok ? 'ok\n' : 'failed\n');
      });
    });
    await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', 511, () => resolve()));
    process.send!({ ports, control: (control.address() as net.AddressInfo).port });
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// Parent
// ---------------------------------------------------------------------------------------------

const children: ChildProcess[] = [];
function killChildren(): void {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

interface Host {
  readonly name: string;
  readonly dir: string;
  port: number;
  control: number;
}

/** When each host's reload request reached its process (ms since the epoch), from the children. */
const reloadReceived = new Map<string, number>();

async function startHosts(hosts: Host[], processes: number): Promise<void> {
  const per = Math.ceil(hosts.length / processes);
  await Promise.all(
    Array.from({ length: processes }, async (_, index) => {
      const mine = hosts.slice(index * per, (index + 1) * per);
      if (mine.length === 0) return;
      const child = fork(process.argv[1]!, ['--hosts-child'], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.on(
          'message',
          (m: { ports?: Record<string, number>; control?: number; reloaded?: string; received?: number }) => {
            if (m.ports) {
              for (const h of mine) {
                h.port = m.ports[h.name]!;
                h.control = m.control!;
              }
              resolve();
            } else if (m.reloaded) {
              reloadReceived.set(m.reloaded, m.received!);
            }
          },
        );
        child.once('exit', (code) => reject(new Error(`host process exited (${code}) before listening`)));
        child.send({ hosts: mine.map((h) => ({ name: h.name, dir: h.dir })) } satisfies HostsMessage);
      });
    }),
  );
}

/** The files destination, timed: when each delivery started and ended (deliver includes the reload). */
class TimedDestination implements Destination {
  readonly kind: string;
  readonly name: string;
  readonly started = new Map<string, number>();
  readonly ended = new Map<string, number>();
  constructor(private readonly inner: FileDestination) {
    this.kind = inner.kind;
    this.name = inner.name;
  }
  targets(): Promise<string[]> {
    return this.inner.targets();
  }
  async deliver(target: string, bundle: CertificateBundle): Promise<TargetOutcome> {
    this.started.set(target, Date.now());
    try {
      return await this.inner.deliver(target, bundle);
    } finally {
      this.ended.set(target, Date.now());
    }
  }
  rollback(target: string): Promise<TargetOutcome> {
    return this.inner.rollback(target);
  }
}

/** The state store, counting its operations per collection (how much the engine writes per host). */
function countingStore(inner: FileStateStore): StateStore & { counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const count = (op: string, collection: string) => {
    const key = `${op} ${collection}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  return {
    counts,
    get: (c, id, now) => (count('get', c), inner.get(c, id, now)),
    put: (c, id, v, now, o) => (count('put', c), inner.put(c, id, v, now, o)),
    list: (c, now, prefix) => (count('list', c), inner.list(c, now, prefix)),
    delete: (c, id, o) => (count('delete', c), inner.delete(c, id, o)),
  };
}

const CERT = 'fleet-api';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
};
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(options: Options): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'certrotor-bench-rotation-'));
  try {
    const store = countingStore(new FileStateStore({ directory: join(root, 'state') }));
    const bundles = new FileBundleStore({ directory: join(root, 'bundles') });
    const issuer = new LocalCaIssuer({ directory: join(root, 'ca') });
    const caPem = (await issuer.caCertificate()).pem;
    const now = new Date();
    const initial = await issuer.issue(
      {
        name: CERT,
        version: 'v0',
        commonName: 'localhost',
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
        keySpec: 'EC_P256',
        usage: 'server',
        validityDays: 20,
        idempotencyKey: `${CERT}-v0`,
      },
      now,
    );
    const initialRef = await bundles.put(initial);
    await updateCertificateState(store, CERT, now, () => ({
      name: CERT,
      current: {
        version: 'v0',
        fingerprintSha256: initial.facts.fingerprintSha256,
        notAfter: initial.facts.notAfter,
        notBefore: initial.facts.notBefore,
        bundle: initialRef,
        promotedAt: now.toISOString(),
      },
      failedAttempts: 0,
    }));

    const hosts: Host[] = Array.from({ length: options.hosts }, (_, i) => {
      const name = `host-${String(i + 1).padStart(3, '0')}`;
      const dir = join(root, 'hosts', name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'key.pem'), initial.privateKey.reveal(), { mode: 0o600 });
      writeFileSync(join(dir, 'cert.pem'), initial.certificatePem);
      writeFileSync(join(dir, 'chain.pem'), initial.chainPem);
      writeFileSync(join(dir, 'fullchain.pem'), initial.certificatePem + initial.chainPem);
      return { name, dir, port: 0, control: 0 };
    });
    await startHosts(hosts, options.processes);

    const reloadScript =
      'exec 3<>/dev/tcp/127.0.0.1/$1 && printf "%s\\n" "$2" >&3 && read -r reply <&3 && [ "$reply" = ok ]';
    const reloadCommand = (h: Host): string[] => [
      'bash',
      '-c',
      reloadScript,
      'reload',
      String(h.control),
      h.name,
    ];
    const destination = new TimedDestination(
      new FileDestination({
        name: 'fleet',
        hosts: Object.fromEntries(
          hosts.map((h) => [
            h.name,
            {
              dir: h.dir,
              reload: reloadCommand(h),
              reloadTimeoutMs: 10_000,
            },
          ]),
        ),
      }),
    );
    const spec: RotationSpec = {
      name: CERT,
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      keySpec: 'EC_P256',
      usage: 'server',
      validityDays: 30,
      issuer: 'local-ca',
      destinations: ['fleet'],
      verify: hosts.map((h) => ({
        environment: 'prod',
        host: '127.0.0.1',
        port: h.port,
        servername: 'localhost',
        target: h.name,
        caPem: [caPem],
      })),
      environments: ['prod'],
      rollout: { canary: options.canary, batchSize: options.batchSize, failureTolerance: 0 },
      verifyPolicy: {
        ...DEFAULT_VERIFY,
        attempts: 30,
        intervalMs: options.verifyIntervalMs,
        timeoutMs: 3000,
      },
    };

    const [load1, load5] = loadavg();
    console.log(
      `bench:rotation — ${hosts.length} TLS hosts (own listener, files and reload each) in ${options.processes} processes; ` +
        `rollout canary ${options.canary}, batches of ${options.batchSize}, verify interval ${options.verifyIntervalMs} ms`,
    );
    console.log(
      `Node ${process.version}, ${availableParallelism()} CPUs, load average at start ${load1!.toFixed(2)} (1 min) ${load5!.toFixed(2)} (5 min)`,
    );

    const totals: number[] = [];
    const bares: number[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const marks: { at: number; progress: RotationProgress }[] = [];
      const verifiedAt = new Map<string, number>();
      destination.started.clear();
      destination.ended.clear();
      reloadReceived.clear();
      store.counts.clear();
      const prober = new NodeTlsProber({ defaultTimeoutMs: 3000 });
      console.log('');
      console.log(`round ${round}: rotateCertificate`);
      const t0 = Date.now();
      const result = await rotateCertificate(
        {
          issuers: new Map([['local-ca', issuer]]),
          destinations: new Map([['fleet', destination]]),
          bundles,
          state: store,
          prober,
          clock: () => new Date(),
          sleep,
          onProgress: (progress) => {
            const at = Date.now();
            marks.push({ at, progress });
            if (progress.phase === 'verified' && progress.target) verifiedAt.set(progress.target, at);
          },
        },
        spec,
        { reason: 'bench', owner: 'bench-rotation' },
      );
      const total = Date.now() - t0;
      await prober.close();

      // Check the outcome for real: every host serves the new version (fresh handshakes).
      const check = new NodeTlsProber({ workers: 0 });
      let serving = 0;
      for (const h of hosts) {
        const [r] = await check.probe({
          host: '127.0.0.1',
          port: h.port,
          servername: 'localhost',
          caPem: [caPem],
        });
        if (r?.ok && r.authorized && r.chain[0]?.facts.fingerprintSha256 === result.newFingerprint) serving++;
      }
      const state = (await readCertificateState(store, CERT, new Date()))?.value;

      // Where the time went.
      const first = (phase: string) => marks.find((m) => m.progress.phase === phase)?.at;
      const issued = first('issued') ?? t0;
      const lastVerified = Math.max(...verifiedAt.values(), issued);
      const promoted = first('promoted') ?? lastVerified;
      const files: number[] = [];
      const reloads: number[] = [];
      const verifies: number[] = [];
      for (const h of hosts) {
        const s = destination.started.get(h.name);
        const e = destination.ended.get(h.name);
        const r = reloadReceived.get(h.name);
        if (s === undefined || e === undefined) continue;
        if (r !== undefined) {
          files.push(r - s);
          reloads.push(e - r);
        }
        const v = verifiedAt.get(h.name);
        if (v !== undefined) verifies.push(v - e);
      }
      // Per batch (by delivery start order): wall time from its first delivery to its last verification.
      const order = hosts
        .filter((h) => destination.started.has(h.name))
        .sort((a, b) => destination.started.get(a.name)! - destination.started.get(b.name)!);
      const batches: Host[][] = [];
      if (options.canary > 0) batches.push(order.slice(0, options.canary));
      for (let i = options.canary; i < order.length; i += options.batchSize)
        batches.push(order.slice(i, i + options.batchSize));

      console.log('');
      console.log(
        `result: ${result.status}${result.reason ? ` (${result.reason})` : ''}; convergence ${result.convergence}%; ` +
          `${serving}/${hosts.length} hosts serve the new certificate (fresh handshakes after the run); ` +
          `state current = new: ${state?.current?.fingerprintSha256 === result.newFingerprint}`,
      );
      console.log(`end to end: ${fmt(total)} (goal ≤ 10 s)`);
      console.log(`  start + plan + issue       ${fmt(issued - t0)}`);
      console.log(
        `  batches (deliver + verify) ${fmt(lastVerified - issued)} over ${batches.length} batches`,
      );
      for (const [i, batch] of batches.entries()) {
        const s = Math.min(...batch.map((h) => destination.started.get(h.name)!));
        const deliveredAll = Math.max(...batch.map((h) => destination.ended.get(h.name)!));
        const verifiedAll = Math.max(...batch.map((h) => verifiedAt.get(h.name) ?? deliveredAll));
        console.log(
          `    batch ${String(i + 1).padStart(2)} (${String(batch.length).padStart(3)} hosts): ` +
            `delivered ${fmt(deliveredAll - s)}, verified ${fmt(verifiedAll - deliveredAll)} later`,
        );
      }
      console.log(
        `  promote + finish           ${fmt(total - (lastVerified - t0))} (promoted ${fmt(promoted - lastVerified)} after the last verification)`,
      );
      console.log(
        `  per host (median / max): files ${median(files)} / ${Math.max(0, ...files)} ms, ` +
          `reload ${median(reloads)} / ${Math.max(0, ...reloads)} ms, ` +
          `verified ${median(verifies)} / ${Math.max(0, ...verifies)} ms after its delivery`,
      );
      console.log(
        `  (files: delivery start → the host's reload request arrives, incl. spawning the reload command;`,
      );
      console.log(
        `   reload: request → delivery returns; verified: delivery returns → a fresh handshake sees the new leaf)`,
      );
      console.log(
        `  state store operations: ${[...store.counts]
          .sort()
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
      const [endLoad1] = loadavg();
      console.log(`load average at end ${endLoad1!.toFixed(2)}`);
      if (result.status !== 'succeeded' || serving !== hosts.length) process.exitCode = 1;

      totals.push(total);
    }
    // The baseline, same run, after the engine's rounds (it replaces the engine's links with plain
    // files): the same work in the same batches with no engine: issue, write each host's files, run
    // its reload command, fresh handshakes until it serves the new leaf.
    console.log('');
    for (let round = 1; round <= options.rounds; round++) {
      const bare = await bareRollout(hosts, options, issuer, caPem, reloadCommand, round);
      bares.push(bare);
      console.log(
        `baseline round ${round} (no engine: issue, write files, reload, handshake, same batches): ${fmt(bare)}`,
      );
    }
    console.log('');
    console.log(
      `summary over ${options.rounds} rounds: end to end median ${fmt(median(totals))} (${totals.map(fmt).join(', ')}; goal ≤ 10 s); ` +
        `baseline median ${fmt(median(bares))}; engine / baseline ${(median(totals) / median(bares)).toFixed(2)}x`,
    );
    if (options.workflow) await countTransitions(options);
  } finally {
    killChildren();
    rmSync(root, { recursive: true, force: true });
  }
}

/** The same rollout with no engine (no state, no lock, no records): the floor the engine adds to. */
async function bareRollout(
  hosts: readonly Host[],
  options: Options,
  issuer: LocalCaIssuer,
  caPem: string,
  reloadCommand: (h: Host) => string[],
  round: number,
): Promise<number> {
  const started = Date.now();
  const bundle = await issuer.issue(
    {
      name: CERT,
      version: `bare-${round}`,
      commonName: 'localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      keySpec: 'EC_P256',
      usage: 'server',
      validityDays: 30,
      idempotencyKey: `${CERT}-bare-${round}-${started}`,
    },
    new Date(),
  );
  const key = bundle.privateKey.reveal();
  const prober = new NodeTlsProber({ defaultTimeoutMs: 3000 });
  const batches: Host[][] = [];
  if (options.canary > 0) batches.push(hosts.slice(0, options.canary));
  for (let i = options.canary; i < hosts.length; i += options.batchSize)
    batches.push(hosts.slice(i, i + options.batchSize));
  const write = async (path: string, text: string, mode: number) => {
    await writeFile(`${path}.tmp`, text, { mode });
    await rename(`${path}.tmp`, path);
  };
  for (const batch of batches) {
    await Promise.all(
      batch.map(async (h) => {
        await write(join(h.dir, 'key.pem'), key, 0o600);
        await write(join(h.dir, 'cert.pem'), bundle.certificatePem, 0o644);
        await write(join(h.dir, 'chain.pem'), bundle.chainPem, 0o644);
        await write(join(h.dir, 'fullchain.pem'), bundle.certificatePem + bundle.chainPem, 0o644);
        const reload = await runReloadCommand(reloadCommand(h), { timeoutMs: 10_000 });
        if (!reload.ok) throw new Error(`baseline: reload of ${h.name} failed: ${reload.error}`);
        for (let attempt = 0; ; attempt++) {
          const [r] = await prober.probe({
            host: '127.0.0.1',
            port: h.port,
            servername: 'localhost',
            caPem: [caPem],
          });
          if (r?.ok && r.chain[0]?.facts.fingerprintSha256 === bundle.facts.fingerprintSha256) break;
          if (attempt > 30) throw new Error(`baseline: ${h.name} does not serve the new certificate`);
          await sleep(options.verifyIntervalMs);
        }
      }),
    );
  }
  await prober.close();
  return Date.now() - started;
}

// ---------------------------------------------------------------------------------------------
// The deployed driver: the synthesized state machine over a fake fleet of the same size
// ---------------------------------------------------------------------------------------------

async function countTransitions(options: Options): Promise<void> {
  const started = Date.now();
  // aws-local-stepfunctions uses Promise.withResolvers (Node 22); this machine's node may be 20.
  const P = Promise as unknown as { withResolvers?: () => unknown };
  P.withResolvers ??= () => {
    let resolve!: (value: unknown) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise((a, b) => ((resolve = a), (reject = b)));
    return { promise, resolve, reject };
  };
  const { StateMachine } = await import('aws-local-stepfunctions');
  const { App } = await import('aws-cdk-lib');
  const { CertRotorStack } = await import('../lib/certrotor-stack');
  const { parseConfigText } = await import('../lambda/adapters/local/config-file');
  const { FakeFleet, MemoryBundleStore } = await import('../test/fakes/fake-fleet');
  const { CountingIssuer, minimalFacts } = await import('../test/fakes/fake-issuer');
  const { MemoryStateStore } = await import('../test/fakes/memory-state-store');
  const { buildCa, buildCertificate } = await import('../test/builders/certificates');
  const { parseRotationStep, runRotationStep } = await import('../lambda/use-cases/rotation/step-router');

  const configFile = resolve('config', 'certrotor.example.yaml');
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CertRotorStack(app, 'CertRotor', {
    configuration: parseConfigText(readFileSync(configFile, 'utf8'), configFile),
    configurationName: configFile,
  });
  const template = app.synth().getStackByName(stack.stackName).template as {
    Resources: Record<string, { Type: string; Properties: { DefinitionString: unknown } }>;
  };
  const machineResource = Object.values(template.Resources).find(
    (r) =>
      r.Type === 'AWS::StepFunctions::StateMachine' &&
      JSON.stringify(r.Properties.DefinitionString).includes('WaitBeforeReprobe'),
  )!;
  const [, parts] = (machineResource.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })[
    'Fn::Join'
  ];
  const definition = JSON.parse(
    parts
      .map((part) => {
        if (typeof part === 'string') return part;
        const ref = (part as { Ref?: string }).Ref;
        if (ref === 'AWS::Partition') return 'aws';
        if (ref === 'AWS::Region') return 'us-east-1';
        if (ref === 'AWS::AccountId') return '123456789012';
        return 'arn:aws:lambda:us-east-1:123456789012:function:certrotor-rotation-step';
      })
      .join(''),
  ) as { States: Record<string, { Type: string; ItemProcessor?: { States: never } }> };
  const taskStates = (
    states: Record<string, { Type: string; ItemProcessor?: { States: never } }>,
  ): string[] =>
    Object.entries(states).flatMap(([name, s]) => [
      ...(s.Type === 'Task' ? [name] : []),
      ...(s.ItemProcessor ? taskStates(s.ItemProcessor.States) : []),
    ]);

  const START = Date.parse('2026-06-01T00:00:00Z');
  let now = START;
  const ca = await buildCa({ now: new Date(START) });
  const old = await buildCertificate({
    issuer: ca,
    now: new Date(START),
    daysLeft: 20,
    dnsNames: ['api.internal'],
  });
  const oldFacts = minimalFacts(old.certificatePem);
  const hostNames = Array.from({ length: options.hosts }, (_, i) => `host-${i + 1}`);
  const fleet = new FakeFleet(
    'fleet',
    hostNames,
    { fingerprint: oldFacts.fingerprintSha256, notAfter: oldFacts.notAfter },
    () => new Date(now),
  );
  const state = new MemoryStateStore();
  await updateCertificateState(state, 'api', new Date(START), () => ({
    name: 'api',
    current: {
      version: 'v0',
      fingerprintSha256: oldFacts.fingerprintSha256,
      notAfter: oldFacts.notAfter,
      notBefore: oldFacts.notBefore,
      bundle: { name: 'api', version: 'v0', location: 'memory:api#v0' },
    },
    failedAttempts: 0,
  }));
  const deps = {
    issuers: new Map([['test-ca', new CountingIssuer(ca)]]),
    destinations: new Map([['fleet', fleet]]),
    bundles: new MemoryBundleStore(),
    state,
    prober: fleet,
    clock: () => new Date((now += 100)),
    sleep: async (ms: number) => {
      now += ms;
    },
  };
  const spec: RotationSpec = {
    name: 'api',
    commonName: 'api.internal',
    dnsNames: ['api.internal'],
    keySpec: 'EC_P256',
    usage: 'server',
    validityDays: 90,
    issuer: 'test-ca',
    destinations: ['fleet'],
    verify: hostNames.map((h) => ({ environment: 'prod', host: h, port: 443, target: h })),
    environments: ['prod'],
    rollout: { canary: options.canary, batchSize: options.batchSize, failureTolerance: 0 },
    verifyPolicy: { ...DEFAULT_VERIFY, timeoutMs: 1000 },
    verifyTimeoutMs: 3000,
    verifyIntervalMs: options.verifyIntervalMs,
  };
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  const version = nextVersionId('api', (await readCertificateState(state, 'api', new Date(START)))?.value);
  let stepError: string | undefined;
  const step = (input: unknown) =>
    runRotationStep(deps as never, spec, parseRotationStep(input)).catch((error: unknown) => {
      stepError ??= `${JSON.stringify(input).slice(0, 200)}: ${error instanceof Error ? error.message : String(error)}`;
      throw error;
    });
  const run = machine.run({ name: 'api', version, trigger: 'manual' } as never, {
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(taskStates(definition.States).map((t) => [t, step])),
      waitTimeOverrides: { WaitBeforeReprobe: 0 },
    } as never,
    context: { Execution: { Name: `api-${version}` } } as never,
  });
  const counts = new Map<string, number>();
  let largest = 0;
  let events = 0;
  const logging = (async () => {
    for await (const event of run.eventLogs) {
      events++;
      if (process.env.BENCH_DEBUG) console.log(JSON.stringify(event).slice(0, 600));
      counts.set(event.type, (counts.get(event.type) ?? 0) + 1);
      const e = event as { input?: unknown; output?: unknown; state?: { input?: unknown; output?: unknown } };
      for (const payload of [e.input, e.output, e.state?.input, e.state?.output]) {
        if (payload !== undefined) largest = Math.max(largest, Buffer.byteLength(JSON.stringify(payload)));
      }
    }
  })();
  let status = 'SUCCEEDED';
  try {
    await run.result;
  } catch (error) {
    status = (error as Error).message;
  }
  await logging;
  const entered = counts.get('StateEntered') ?? 0;
  const served = [...fleet.hosts.values()].filter(
    (h) => h.serving?.fingerprint !== oldFacts.fingerprintSha256,
  ).length;
  console.log('');
  console.log(
    `deployed driver (synthesized state machine, aws-local-stepfunctions, ${options.hosts} fake targets, same rollout): ${status}, ` +
      `${served}/${options.hosts} targets on the new version${stepError ? `; first failed step ${stepError}` : ''}`,
  );
  console.log(
    `  ${entered} state transitions (StateEntered events), ${events} history events ` +
      `(${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}); largest state payload ${(largest / 1024).toFixed(1)} KB (limit 256 KB); ` +
      `counted in ${fmt(Date.now() - started)}`,
  );
}

if (process.argv.includes('--hosts-child')) {
  hostsChild();
} else {
  const options = parseArgs(process.argv.slice(2));
  const deadline = setTimeout(() => {
    console.error(`bench-rotation: gave up after ${options.deadline} s`);
    killChildren();
    process.exit(1);
  }, options.deadline * 1000);
  deadline.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killChildren();
      process.exit(130);
    });
  }
  main(options)
    .catch((error: unknown) => {
      console.error(`bench-rotation: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    })
    .finally(() => {
      killChildren();
      setTimeout(() => process.exit(), 100).unref();
    });
}
