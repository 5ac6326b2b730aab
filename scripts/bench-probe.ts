/**
 * `npm run bench:probe`: how fast certrotor's fresh-handshake probe is, next to the raw Node TLS
 * handshake rate and Prometheus blackbox_exporter (tcp prober with TLS), all measured in one run
 * against the same N loopback endpoints at the same concurrency.
 *
 *   node dist/bench-probe.js [--endpoints 2000] [--concurrency 50] [--seconds 5] [--rounds 2]
 *                            [--servers 2] [--workers N[,N...]] [--no-blackbox]
 *
 * Measured, each round, in this order: a bare Node handshake (no certificate read), the raw baseline
 * (a fresh handshake that reads the served chain's DER the one non-leaking way Node offers: the work
 * any Node prober must do), certrotor's NodeTlsProber on one thread, certrotor with worker threads
 * (each count given to --workers, e.g. `--workers 2,3,4,6`, with the main thread's share of the
 * process's CPU and its event-loop utilisation), and blackbox_exporter. The target (≥ 80%) is against the raw baseline; figures per client
 * CPU-second are printed too, since wall-clock rates on a shared machine move with its load.
 *
 * Endpoints are TLS listeners on 127.0.0.1 spread over a few child processes (so the probing process
 * has its core to itself). Everything is bounded: each measurement stops after --seconds (whole passes
 * over the endpoints, at most --max-passes), the run aborts after --deadline seconds, and every child
 * process (servers, blackbox_exporter) is killed on the way out.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants as cryptoConstants } from 'node:crypto';
import * as net from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tls from 'node:tls';
import { exportPrivateKey, generateKeyPair, mintCertificate } from '../lambda/adapters/crypto/mint';
import {
  DEFAULT_PROBE_WORKERS,
  HANDSHAKE_CHOICES,
  NodeTlsProber,
  probeMany,
} from '../lambda/adapters/net/tls-prober';
import type { ProbeRequest } from '../lambda/domain/ports';
import { type Blackbox, blackboxProbe, ensureBlackbox, startBlackbox } from './bench-blackbox';

interface Options {
  endpoints: number;
  concurrency: number;
  seconds: number;
  rounds: number;
  servers: number;
  maxPasses: number;
  deadline: number;
  workers: number[];
  blackbox: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = {
    endpoints: 2000,
    concurrency: 50,
    seconds: 5,
    rounds: 2,
    servers: 2,
    maxPasses: 20,
    deadline: 600,
    workers: [DEFAULT_PROBE_WORKERS],
    blackbox: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--no-blackbox') {
      options.blackbox = false;
      continue;
    }
    if (arg === '--workers') {
      const counts = (argv[++i] ?? '').split(',').map(Number);
      if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 0)) {
        throw new Error(`bench-probe: bad argument ${arg} ${argv[i] ?? ''}`);
      }
      options.workers = counts;
      continue;
    }
    const key = arg.replace(/^--/, '').replace(/-(\w)/g, (_, c: string) => c.toUpperCase()) as keyof Options;
    const value = Number(argv[++i]);
    if (!(key in options) || key === 'blackbox' || !Number.isFinite(value) || value <= 0) {
      throw new Error(`bench-probe: bad argument ${arg} ${argv[i] ?? ''}`);
    }
    (options[key] as number) = value;
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// Child: TLS endpoints
// ---------------------------------------------------------------------------------------------

interface ServeMessage {
  readonly cert: string;
  readonly key: string;
  readonly count: number;
}

function serveChild(): void {
  process.once('message', async (message: ServeMessage) => {
    const ports: number[] = [];
    const options = { cert: message.cert, key: message.key };
    for (let i = 0; i < message.count; i++) {
      const server = tls.createServer(options, (socket) => {
        socket.on('error', () => undefined);
        socket.resume();
      });
      server.on('tlsClientError', () => undefined);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', 1024, () => resolve());
      });
      ports.push((server.address() as net.AddressInfo).port);
    }
    process.send!({ ports });
  });
  // The parent going away for any reason ends the child.
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

async function startEndpoints(options: Options, cert: string, key: string): Promise<number[]> {
  const perServer = Math.ceil(options.endpoints / options.servers);
  const batches = await Promise.all(
    Array.from({ length: options.servers }, (_, index) => {
      const count = Math.min(perServer, options.endpoints - index * perServer);
      if (count <= 0) return Promise.resolve<number[]>([]);
      const child = fork(process.argv[1]!, ['--serve-child'], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      if (child.pid !== undefined) serverPids.push(child.pid);
      return new Promise<number[]>((resolve, reject) => {
        child.once('message', (reply: { ports: number[] }) => resolve(reply.ports));
        child.once('exit', (code) => reject(new Error(`endpoint server exited (${code}) before listening`)));
        child.send({ cert, key, count } satisfies ServeMessage);
      });
    }),
  );
  return batches.flat();
}

interface Measurement {
  readonly probes: number;
  readonly failures: number;
  readonly seconds: number;
  readonly rate: number;
  /** Client-side CPU seconds (this process, plus blackbox_exporter's for it): robust on a busy machine. */
  readonly cpuSeconds: number;
  /** CPU seconds the endpoint server processes spent answering these probes. */
  readonly serverCpuSeconds: number;
  /** certrotor: CPU seconds of this process's main thread, and its event-loop utilisation (0..1). */
  readonly mainCpuSeconds?: number;
  readonly mainElu?: number;
}

/** The endpoint server processes' pids, for their CPU time. */
const serverPids: number[] = [];

function serversCpuNow(): number {
  return serverPids.reduce((sum, pid) => sum + processCpu(pid), 0);
}

/** CPU seconds used so far by this process and, when given, another process (from /proc). */
function cpuNow(otherPid?: number): number {
  const own = process.cpuUsage();
  return (own.user + own.system) / 1e6 + (otherPid !== undefined ? processCpu(otherPid) : 0);
}

/** CPU seconds of this process's main thread so far (from /proc), 0 when it cannot be read. */
function mainThreadCpu(): number {
  return processCpu(process.pid, `/proc/${process.pid}/task/${process.pid}/stat`);
}

/** CPU seconds of another process so far (from /proc), 0 when it cannot be read. */
function processCpu(pid: number, statFile = `/proc/${pid}/stat`): number {
  try {
    const fields = readFileSync(statFile, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ ticks
  } catch {
    return 0;
  }
}

/** Runs whole passes over `ports` with `concurrency` in flight until `seconds` have passed. */
async function measure(
  ports: readonly number[],
  options: Options,
  once: (port: number) => Promise<boolean>,
  otherPid?: number,
): Promise<Measurement> {
  const cpuStart = cpuNow(otherPid);
  const serverCpuStart = serversCpuNow();
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  let probes = 0;
  let failures = 0;
  for (let pass = 0; pass < options.maxPasses && (pass === 0 || elapsed() < options.seconds); pass++) {
    let next = 0;
    const worker = async () => {
      while (next < ports.length) {
        const port = ports[next++]!;
        const ok = await once(port);
        probes++;
        if (!ok) failures++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, ports.length) }, worker));
  }
  const seconds = elapsed();
  return {
    probes,
    failures,
    seconds,
    rate: probes / seconds,
    cpuSeconds: cpuNow(otherPid) - cpuStart,
    serverCpuSeconds: serversCpuNow() - serverCpuStart,
  };
}

/**
 * A Node client handshake on a shared secure context, closed the way the prober closes. With
 * `readChain`, it also reads the served chain's DER and fingerprints as the prober does (the detailed
 * peer certificate: getPeerX509Certificate() leaks the intermediates), which is the equivalent work.
 */
function rawHandshake(
  secureContext: tls.SecureContext,
  readChain: boolean,
): (port: number) => Promise<boolean> {
  return (port) =>
    new Promise<boolean>((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', secureContext });
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 5000);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        let ok = socket.authorized;
        if (readChain) {
          let certs = 0;
          const seen = new Set<object>();
          for (
            let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
            c?.raw && !seen.has(c);
            c = c.issuerCertificate
          ) {
            seen.add(c);
            if (c.fingerprint256.length > 0) certs++;
          }
          ok &&= certs > 0;
        }
        socket.end();
        resolve(ok);
      });
      socket.on('error', () => {
        clearTimeout(timer);
        socket.destroy();
        resolve(false);
      });
    });
}

function certrotorProbe(
  prober: NodeTlsProber,
  caPem: string,
  options: Options,
): (ports: readonly number[]) => Promise<Measurement> {
  const anchors = [caPem]; // loaded once, as a scan loads its configuration once
  return async (ports) => {
    const cpuStart = cpuNow();
    const mainCpuStart = mainThreadCpu();
    const eluStart = performance.eventLoopUtilization();
    const serverCpuStart = serversCpuNow();
    const requests: ProbeRequest[] = ports.map((port) => ({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      caPem: anchors,
    }));
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
    let probes = 0;
    let failures = 0;
    for (let pass = 0; pass < options.maxPasses && (pass === 0 || elapsed() < options.seconds); pass++) {
      const results = await probeMany(prober, requests, { concurrency: options.concurrency });
      for (const perAddress of results) {
        for (const result of perAddress) {
          probes++;
          if (!result.ok || !result.authorized || result.chain.length === 0) failures++;
        }
      }
    }
    const seconds = elapsed();
    return {
      probes,
      failures,
      seconds,
      rate: probes / seconds,
      cpuSeconds: cpuNow() - cpuStart,
      serverCpuSeconds: serversCpuNow() - serverCpuStart,
      mainCpuSeconds: mainThreadCpu() - mainCpuStart,
      mainElu: performance.eventLoopUtilization(eluStart).utilization,
    };
  };
}

// ---------------------------------------------------------------------------------------------

function format(m: Measurement): string {
  const failures = m.failures > 0 ? `, ${m.failures} failed` : '';
  const perCpu = m.cpuSeconds > 0 ? (m.probes / m.cpuSeconds).toFixed(0) : '?';
  const server = m.probes > 0 ? ((m.serverCpuSeconds / m.probes) * 1e6).toFixed(0) : '?';
  const main =
    m.mainCpuSeconds !== undefined && m.cpuSeconds > 0
      ? `, main thread ${((m.mainCpuSeconds / m.cpuSeconds) * 100).toFixed(0)}% of CPU, ELU ${(m.mainElu ?? 0).toFixed(2)}`
      : '';
  return `${m.rate.toFixed(0).padStart(6)} probes/s ${perCpu.padStart(6)} probes/CPU-s ${server.padStart(5)} µs server CPU/probe  (${m.probes} probes in ${m.seconds.toFixed(1)} s${failures}${main})`;
}

async function main(options: Options): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'certrotor-bench-'));
  try {
    // One CA and one ECDSA P-256 leaf for every endpoint, as most modern fleets serve.
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
      `bench:probe — ${ports.length} TLS endpoints on 127.0.0.1 in ${options.servers} server processes, ` +
        `concurrency ${options.concurrency}, ≥${options.seconds} s per measurement, ${options.rounds} rounds`,
    );
    console.log(
      `Node ${process.version}, ${availableParallelism()} CPUs, load average at start ${load1!.toFixed(2)} (1 min) ` +
        `${load5!.toFixed(2)} (5 min); certrotor workers: ${options.workers.join(', ')}`,
    );

    let blackbox: Blackbox | undefined;
    if (options.blackbox) {
      const missing = ensureBlackbox();
      if (missing) console.log(`blackbox_exporter: skipped (${missing})`);
      else {
        blackbox = await startBlackbox(dir, caFile);
        children.push(blackbox.child);
      }
    }

    // The same key exchange groups and suites as the prober offers, so the raw rows measure the
    // handshake it does.
    const secureContext = tls.createSecureContext({
      ca: caPem,
      secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
      ...HANDSHAKE_CHOICES,
    });
    const bare = rawHandshake(secureContext, false);
    const raw = rawHandshake(secureContext, true);
    const single = new NodeTlsProber({ workers: 0 });
    const pools = options.workers
      .filter((n) => n > 1)
      .map((n) => ({ n, prober: new NodeTlsProber({ workers: n }) }));
    const certrotorSingle = certrotorProbe(single, caPem, options);
    const certrotorPools = pools.map(({ n, prober }) => ({ n, run: certrotorProbe(prober, caPem, options) }));
    // Warm up every path (JIT, worker threads, connection pools) on a slice of the endpoints.
    const warm = ports.slice(0, Math.min(200, ports.length));
    const once = { ...options, seconds: 0, maxPasses: 1 };
    await measure(warm, once, bare);
    await measure(warm, once, raw);
    await certrotorSingle(warm).catch(() => undefined);
    for (const { run } of certrotorPools) await run(warm).catch(() => undefined);
    if (blackbox) await measure(warm, once, blackboxProbe(blackbox));

    // 'bare' | 'raw' | 'single' | 'multi<N>' | 'blackbox'
    const kinds = ['bare', 'raw', 'single', ...certrotorPools.map(({ n }) => `multi${n}`), 'blackbox'];
    const labels: Record<string, string> = {
      bare: 'bare Node TLS handshake      ',
      raw: 'raw Node handshake + chain   ',
      single: 'certrotor, 1 thread          ',
      blackbox: 'blackbox_exporter tcp+tls    ',
    };
    for (const { n } of certrotorPools) labels[`multi${n}`] = `certrotor, ${n} worker threads`.padEnd(29);
    const results: Record<string, Measurement[]> = Object.fromEntries(kinds.map((k) => [k, []]));
    const record = (round: number, kind: string, m: Measurement) => {
      results[kind]!.push(m);
      console.log(`round ${round}  ${labels[kind]} ${format(m)}`);
    };
    for (let round = 1; round <= options.rounds; round++) {
      record(round, 'bare', await measure(ports, options, bare));
      record(round, 'raw', await measure(ports, options, raw));
      record(round, 'single', await certrotorSingle(ports));
      for (const { n, run } of certrotorPools) record(round, `multi${n}`, await run(ports));
      if (blackbox)
        record(round, 'blackbox', await measure(ports, options, blackboxProbe(blackbox), blackbox.pid));
    }
    await Promise.all([single.close(), ...pools.map(({ prober }) => prober.close())]);

    const sum = (ms: Measurement[], pick: (m: Measurement) => number) => ms.reduce((s, m) => s + pick(m), 0);
    const of = (kind: string) => results[kind] ?? [];
    const rate = (kind: string) => sum(of(kind), (m) => m.probes) / sum(of(kind), (m) => m.seconds);
    const perCpu = (kind: string) => sum(of(kind), (m) => m.probes) / sum(of(kind), (m) => m.cpuSeconds);
    const serverMicros = (kind: string) =>
      (sum(of(kind), (m) => m.serverCpuSeconds) / sum(of(kind), (m) => m.probes)) * 1e6;
    const mainShare = (kind: string) =>
      sum(of(kind), (m) => m.mainCpuSeconds ?? 0) / sum(of(kind), (m) => m.cpuSeconds);
    const [endLoad1] = loadavg();
    console.log('');
    console.log(
      `summary (${ports.length} endpoints, concurrency ${options.concurrency}, all rounds pooled; ` +
        `load average at end ${endLoad1!.toFixed(2)})`,
    );
    const rawRate = rate('raw');
    const rawPerCpu = perCpu('raw');
    for (const kind of kinds) {
      if (of(kind).length === 0) continue;
      const certrotor = kind === 'single' || kind.startsWith('multi');
      const versus = certrotor
        ? `  ${((rate(kind) / rawRate) * 100).toFixed(0)}% of raw (target ≥ 80%), ` +
          `${((perCpu(kind) / rawPerCpu) * 100).toFixed(0)}% per CPU-s` +
          (of('blackbox').length > 0
            ? `, ${(rate(kind) / rate('blackbox')).toFixed(2)}x blackbox_exporter` +
              ` (${(perCpu(kind) / perCpu('blackbox')).toFixed(2)}x per CPU-s)`
            : '') +
          (kind.startsWith('multi') ? `; main thread ${(mainShare(kind) * 100).toFixed(0)}% of CPU` : '')
        : '';
      console.log(
        `  ${labels[kind]} ${rate(kind).toFixed(0).padStart(6)} probes/s ${perCpu(kind).toFixed(0).padStart(6)} probes/CPU-s` +
          ` ${serverMicros(kind).toFixed(0).padStart(5)} µs server CPU/probe${versus}`,
      );
    }
    console.log(
      '  (CPU-s: this process, all threads; for blackbox_exporter, its process plus this one asking it over HTTP;',
    );
    console.log('   server CPU: the endpoint server processes, per probe answered)');
    blackbox?.agent.destroy();
    const failed = Object.values(results)
      .flat()
      .reduce((s, m) => s + m.failures, 0);
    if (failed > 0) {
      console.log(`  ${failed} probes failed: the figures above are not trustworthy`);
      process.exitCode = 1;
    }
  } finally {
    killChildren();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--serve-child')) {
  serveChild();
} else {
  const options = parseArgs(process.argv.slice(2));
  const deadline = setTimeout(() => {
    console.error(`bench-probe: gave up after ${options.deadline} s`);
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
      console.error(`bench-probe: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    })
    .finally(() => {
      killChildren();
      // Keep-alive sockets and unref'd close timers must not hold the process open.
      setTimeout(() => process.exit(), 100).unref();
    });
}
