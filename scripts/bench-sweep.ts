/**
 * `npm run bench:sweep`: a sweep over many endpoints with network latency. N TLS endpoints on
 * loopback (10,000 by default) whose servers hold every connection 100 ms before the handshake starts
 * (so the ServerHello comes ≥ 100 ms after the ClientHello, like a far-away host), probed by
 * certrotor's prober with results streamed (`probeEach`: each result is counted and dropped), and by
 * Prometheus blackbox_exporter (tcp + TLS) at the same concurrency in the same run.
 *
 *   node dist/bench-sweep.js [--endpoints 10000] [--steps 2500,5000,10000] [--concurrency 500]
 *                            [--delay-ms 100] [--servers 4] [--workers N] [--no-blackbox]
 *
 * Each sweep (each size, each tool) runs in a fresh process, so its peak memory (RSS high-water,
 * VmHWM) is its own: for certrotor, the probing process with its worker threads; for
 * blackbox_exporter, its own process (the HTTP client asking it is not counted).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { exportPrivateKey, generateKeyPair, mintCertificate } from '../lambda/adapters/crypto/mint';
import { DEFAULT_PROBE_WORKERS, NodeTlsProber, probeEach } from '../lambda/adapters/net/tls-prober';
import type { ProbeRequest } from '../lambda/domain/ports';
import { blackboxProbe, ensureBlackbox, startBlackbox } from './bench-blackbox';

interface Options {
  endpoints: number;
  steps: number[];
  concurrency: number;
  delayMs: number;
  servers: number;
  workers: number;
  blackbox: boolean;
  deadline: number;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = {
    endpoints: 10_000,
    steps: [],
    concurrency: 500,
    delayMs: 100,
    servers: 4,
    workers: DEFAULT_PROBE_WORKERS,
    blackbox: true,
    deadline: 900,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--no-blackbox') {
      options.blackbox = false;
      continue;
    }
    const text = argv[++i] ?? '';
    if (arg === '--steps') {
      options.steps = text.split(',').map(Number);
      if (options.steps.some((n) => !Number.isInteger(n) || n < 1))
        throw new Error(`bench-sweep: bad argument ${arg} ${text}`);
      continue;
    }
    const key = arg.replace(/^--/, '').replace(/-(\w)/g, (_, c: string) => c.toUpperCase()) as keyof Options;
    const value = Number(text);
    if (!(key in options) || key === 'blackbox' || key === 'steps' || !Number.isInteger(value) || value < 0)
      throw new Error(`bench-sweep: bad argument ${arg} ${text}`);
    (options[key] as number) = value;
  }
  if (options.steps.length === 0)
    options.steps = [Math.round(options.endpoints / 4), Math.round(options.endpoints / 2), options.endpoints];
  options.steps = [...new Set(options.steps.map((n) => Math.min(n, options.endpoints)))].sort(
    (a, b) => a - b,
  );
  return options;
}

/** Peak resident set size (VmHWM) of a process, in bytes. */
function peakRss(pid: number | 'self'): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

function cpuSecondsOf(pid: number | 'self'): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

// ---------------------------------------------------------------------------------------------
// Child: endpoints that wait before the handshake
// ---------------------------------------------------------------------------------------------

interface ServeMessage {
  readonly cert: string;
  readonly key: string;
  readonly count: number;
  readonly delayMs: number;
}

function serveChild(): void {
  process.once('message', async (message: ServeMessage) => {
    // One TLS server (not listening) takes the connections of every port once they have waited.
    const server = tls.createServer({ cert: message.cert, key: message.key }, (socket) => {
      socket.on('error', () => undefined);
      socket.resume();
    });
    server.on('tlsClientError', () => undefined);
    const ports: number[] = [];
    for (let i = 0; i < message.count; i++) {
      const listener = net.createServer({ pauseOnConnect: true }, (socket) => {
        socket.on('error', () => undefined);
        setTimeout(() => {
          if (!socket.destroyed) server.emit('connection', socket);
        }, message.delayMs);
      });
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(0, '127.0.0.1', 511, () => resolve());
      });
      ports.push((listener.address() as net.AddressInfo).port);
    }
    process.send!({ ports });
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// Child: one sweep (certrotor or the blackbox_exporter driver)
// ---------------------------------------------------------------------------------------------

interface SweepMessage {
  readonly tool: 'certrotor' | 'blackbox';
  readonly ports: readonly number[];
  readonly caPem: string;
  readonly caFile: string;
  readonly dir: string;
  readonly concurrency: number;
  readonly workers: number;
}

interface SweepReport {
  readonly probes: number;
  readonly failures: number;
  readonly firstFailure?: string;
  readonly seconds: number;
  readonly peakRss: number;
  readonly cpuSeconds: number;
}

function sweepChild(): void {
  process.once('message', async (message: SweepMessage) => {
    let report: SweepReport;
    if (message.tool === 'certrotor') {
      const prober = new NodeTlsProber({ workers: message.workers });
      const anchors = [message.caPem];
      const ports = message.ports;
      function* requests(): Generator<ProbeRequest> {
        for (const port of ports) yield { host: '127.0.0.1', port, servername: 'localhost', caPem: anchors };
      }
      let failures = 0;
      let firstFailure: string | undefined;
      const cpu0 = process.cpuUsage();
      const started = process.hrtime.bigint();
      const probes = await probeEach(
        prober,
        requests(),
        (results) => {
          for (const r of results) {
            if (!r.ok || !r.authorized || !r.hostnameMatches || r.chain.length === 0) {
              failures++;
              firstFailure ??= r.error ?? r.authorizationError ?? 'not authorized';
            }
          }
        },
        { concurrency: message.concurrency },
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      await prober.close();
      if (process.env.BENCH_MEMORY) console.error(JSON.stringify(process.memoryUsage()));
      report = {
        probes,
        failures,
        ...(firstFailure ? { firstFailure } : {}),
        seconds,
        peakRss: peakRss('self'),
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
      };
    } else {
      const blackbox = await startBlackbox(message.dir, message.caFile);
      try {
        const once = blackboxProbe(blackbox);
        const cpuStart = cpuSecondsOf(blackbox.pid);
        const cpu0 = process.cpuUsage();
        let next = 0;
        let failures = 0;
        const started = process.hrtime.bigint();
        await Promise.all(
          Array.from({ length: Math.min(message.concurrency, message.ports.length) }, async () => {
            while (next < message.ports.length) if (!(await once(message.ports[next++]!))) failures++;
          }),
        );
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const cpu = process.cpuUsage(cpu0);
        report = {
          probes: message.ports.length,
          failures,
          seconds,
          peakRss: peakRss(blackbox.pid),
          // blackbox_exporter's own CPU, plus this process asking it over HTTP.
          cpuSeconds: cpuSecondsOf(blackbox.pid) - cpuStart + (cpu.user + cpu.system) / 1e6,
        };
      } finally {
        blackbox.agent.destroy();
        blackbox.child.kill('SIGKILL');
      }
    }
    process.send!(report, () => process.exit(0));
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

function forkChild(flag: string): ChildProcess {
  // BENCH_CPU_PROF=<dir>: a CPU profile of each sweep process (node --cpu-prof), for finding hot spots.
  const profile = flag === '--sweep-child' && process.env.BENCH_CPU_PROF;
  const child = fork(process.argv[1]!, [flag], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    ...(profile ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${profile}`] } : {}),
  });
  children.push(child);
  return child;
}

async function startEndpoints(options: Options, cert: string, key: string): Promise<number[]> {
  const per = Math.ceil(options.endpoints / options.servers);
  const batches = await Promise.all(
    Array.from({ length: options.servers }, (_, index) => {
      const count = Math.min(per, options.endpoints - index * per);
      if (count <= 0) return Promise.resolve<number[]>([]);
      const child = forkChild('--serve-child');
      return new Promise<number[]>((resolve, reject) => {
        child.once('message', (reply: { ports: number[] }) => resolve(reply.ports));
        child.once('exit', (code) => reject(new Error(`endpoint server exited (${code}) before listening`)));
        child.send({ cert, key, count, delayMs: options.delayMs } satisfies ServeMessage);
      });
    }),
  );
  // Interleaved, so that any prefix spreads over every server process.
  const ports: number[] = [];
  for (let i = 0; i < per; i++) for (const b of batches) if (i < b.length) ports.push(b[i]!);
  return ports;
}

function sweep(message: SweepMessage): Promise<SweepReport> {
  const child = forkChild('--sweep-child');
  return new Promise<SweepReport>((resolve, reject) => {
    child.once('message', (report: SweepReport) => resolve(report));
    child.once('exit', (code) =>
      reject(new Error(`${message.tool} sweep exited (${code}) without a report`)),
    );
    child.send(message);
  });
}

const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;

async function main(options: Options): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'certrotor-bench-sweep-'));
  try {
    const now = new Date();
    const caKeys = await generateKeyPair('EC_P256');
    const caPem = await mintCertificate({
      subject: 'CN=certrotor bench CA',
      notBefore: new Date(now.getTime() - 3_600_000),
      notAfter: new Date(now.getTime() + 30 * 86_400_000),
      subjectKeys: caKeys.keys,
      isCA: true,
    });
    const leafKeys = await generateKeyPair('EC_P256');
    const leafPem = await mintCertificate({
      subject: 'CN=localhost',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      notBefore: new Date(now.getTime() - 3_600_000),
      notAfter: new Date(now.getTime() + 7 * 86_400_000),
      subjectKeys: leafKeys.keys,
      issuer: { certificatePem: caPem, keys: caKeys.keys },
    });
    const key = (await exportPrivateKey(leafKeys)).reveal();
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, caPem);

    const ports = await startEndpoints(options, leafPem + caPem, key);
    const [load1, load5] = loadavg();
    console.log(
      `bench:sweep — ${ports.length} TLS endpoints on 127.0.0.1 in ${options.servers} server processes, each ` +
        `holding a connection ${options.delayMs} ms before the handshake; concurrency ${options.concurrency}; ` +
        `certrotor workers: ${options.workers}`,
    );
    console.log(
      `Node ${process.version}, ${availableParallelism()} CPUs, load average at start ${load1!.toFixed(2)} (1 min) ${load5!.toFixed(2)} (5 min)`,
    );
    let blackboxOk = false;
    if (options.blackbox) {
      const missing = ensureBlackbox();
      if (missing) console.log(`blackbox_exporter: skipped (${missing})`);
      else blackboxOk = true;
    }
    const floor = (n: number) => ((n / options.concurrency) * options.delayMs) / 1000;
    const rows: { tool: string; n: number; r: SweepReport }[] = [];
    for (const n of options.steps) {
      const slice = ports.slice(0, n);
      const base = {
        ports: slice,
        caPem,
        caFile,
        dir,
        concurrency: options.concurrency,
        workers: options.workers,
      };
      const tools: SweepMessage['tool'][] = blackboxOk ? ['certrotor', 'blackbox'] : ['certrotor'];
      for (const tool of tools) {
        const r = await sweep({ ...base, tool });
        rows.push({ tool, n, r });
        const failed =
          r.failures > 0 ? `, ${r.failures} FAILED (${r.firstFailure ?? 'probe_success 0'})` : '';
        console.log(
          `${(tool === 'certrotor' ? 'certrotor (streamed)' : 'blackbox_exporter').padEnd(21)} ${String(n).padStart(6)} endpoints: ` +
            `${r.seconds.toFixed(2).padStart(6)} s  ${(r.probes / r.seconds).toFixed(0).padStart(5)} probes/s  ` +
            `peak RSS ${mb(r.peakRss).padStart(6)}  ${r.cpuSeconds.toFixed(1)} CPU-s${failed}`,
        );
      }
    }
    const [endLoad1] = loadavg();
    console.log('');
    const largest = options.steps.at(-1)!;
    const ours = rows.find((x) => x.tool === 'certrotor' && x.n === largest)!.r;
    const theirs = rows.find((x) => x.tool === 'blackbox' && x.n === largest)?.r;
    console.log(
      `summary at ${largest} endpoints (latency floor ${floor(largest).toFixed(1)} s at this concurrency; load average at end ${endLoad1!.toFixed(2)}):`,
    );
    console.log(
      `  certrotor ${ours.seconds.toFixed(2)} s (goal ≤ 15 s), peak RSS ${mb(ours.peakRss)} (goal ≤ 300 MB)` +
        (theirs
          ? `; blackbox_exporter ${theirs.seconds.toFixed(2)} s, ${mb(theirs.peakRss)}: ` +
            `${(theirs.seconds / ours.seconds).toFixed(2)}x its speed, ${(ours.peakRss / theirs.peakRss).toFixed(2)}x its memory`
          : ''),
    );
    const mine = rows.filter((x) => x.tool === 'certrotor');
    console.log(
      `  certrotor peak RSS by size: ${mine.map((x) => `${x.n}: ${mb(x.r.peakRss)}`).join(', ')} ` +
        `(${mb(mine.at(-1)!.r.peakRss - mine[0]!.r.peakRss)} more for ${mine.at(-1)!.n - mine[0]!.n} more endpoints)`,
    );
    if (rows.some((x) => x.r.failures > 0)) {
      console.log('  some probes failed: the figures above are not trustworthy');
      process.exitCode = 1;
    }
  } finally {
    killChildren();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--serve-child')) {
  serveChild();
} else if (process.argv.includes('--sweep-child')) {
  sweepChild();
} else {
  const options = parseArgs(process.argv.slice(2));
  const deadline = setTimeout(() => {
    console.error(`bench-sweep: gave up after ${options.deadline} s`);
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
      console.error(`bench-sweep: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    })
    .finally(() => {
      killChildren();
      setTimeout(() => process.exit(), 100).unref();
    });
}
