/**
 * `npm run bench:inventory [-- --certificates N]`: seeds N certificates (default 10,000) into an AWS
 * API emulator it starts itself (.venv/bin/moto_server on loopback, fake credentials), then, in the
 * same run, times
 *   - a bare SDK loop: `paginateListCertificates` over every key type and status, nothing else;
 *   - AcmSource.discover() cold (empty cache: one GetCertificate per certificate for its facts);
 *   - AcmSource.discover() warm (the steady state: unchanged certificates cost no call);
 * and prints certificates per second and API calls per 1,000 certificates for each.
 * Numbers are the emulator's, on this machine: compare rows, not absolute figures.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { ACMClient, ImportCertificateCommand, paginateListCertificates } from '@aws-sdk/client-acm';
import { ALL_CERTIFICATE_STATUSES, ALL_KEY_TYPES, AcmSource } from '../lambda/adapters/aws/acm';
import { createAwsClient } from '../lambda/adapters/aws/clients';
import { exportPrivateKey, generateKeyPair, mintCertificate } from '../lambda/adapters/crypto/mint';

const DAY = 86_400_000;

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function startEmulator(): Promise<{ endpoint: string; stop: () => void }> {
  // Run from the project root (npm scripts do); the bundle lives in dist/.
  const bin = resolve(process.cwd(), '.venv', 'bin', 'moto_server');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run scripts/ensure-test-deps.sh first`);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const stop = (): void => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  process.once('exit', stop);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      await response.arrayBuffer();
      if (response.ok) return { endpoint, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  stop();
  throw new Error(`moto_server did not answer on ${endpoint} within 30 s`);
}

/** Counts commands sent by `client`, by name. */
function countCalls(client: ACMClient): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'benchCallCounter' },
  );
  return counts;
}

async function seed(client: ACMClient, count: number): Promise<void> {
  const now = Date.now();
  const bodies = await Promise.all(
    (['EC_P256', 'EC_P384', 'EC_P256', 'EC_P384'] as const).map(async (spec, i) => {
      const pair = await generateKeyPair(spec);
      const certificatePem = await mintCertificate({
        subject: `CN=bench-${i}.internal`,
        dnsNames: [`bench-${i}.internal`],
        notBefore: new Date(now - DAY),
        notAfter: new Date(now + (30 + i) * DAY),
        subjectKeys: pair.keys,
      });
      return {
        certificate: Buffer.from(certificatePem),
        key: Buffer.from((await exportPrivateKey(pair)).reveal()),
      };
    }),
  );
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const body = bodies[next++ % bodies.length]!;
      await client.send(
        new ImportCertificateCommand({ Certificate: body.certificate, PrivateKey: body.key }),
      );
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

interface Row {
  readonly name: string;
  readonly certificates: number;
  readonly ms: number;
  readonly calls: number;
  readonly detail: string;
}

async function measure(name: string, counts: Map<string, number>, run: () => Promise<number>): Promise<Row> {
  counts.clear();
  const started = process.hrtime.bigint();
  const certificates = await run();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const calls = [...counts.values()].reduce((a, b) => a + b, 0);
  const detail = [...counts.entries()]
    .map(([command, n]) => `${command.replace(/Command$/, '')} ${n}`)
    .join(', ');
  return { name, certificates, ms, calls, detail };
}

async function main(): Promise<void> {
  const total = argument('certificates', 10_000);
  const emulator = await startEmulator();
  try {
    const client = createAwsClient(ACMClient, {
      region: 'us-east-1',
      endpoint: emulator.endpoint,
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'certrotor-bench-fake-secret' },
    });
    const counts = countCalls(client);

    const seedStarted = Date.now();
    await seed(client, total);
    console.log(
      `seeded ${total} certificates into ${emulator.endpoint} in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`,
    );

    const source = new AcmSource({ client, environment: 'bench', region: 'us-east-1' });
    const bareLoop = async (): Promise<number> => {
      let n = 0;
      const pages = paginateListCertificates(
        { client, pageSize: 1000 },
        { Includes: { keyTypes: [...ALL_KEY_TYPES] }, CertificateStatuses: [...ALL_CERTIFICATE_STATUSES] },
      );
      for await (const page of pages) n += page.CertificateSummaryList?.length ?? 0;
      return n;
    };
    const cold = await measure(
      'AcmSource.discover(), cold cache',
      counts,
      async () => (await source.discover()).length,
    );
    // Interleaved repeats, median reported: the emulator's own listing time dominates and varies.
    const bare: Row[] = [];
    const warm: Row[] = [];
    for (let i = 0; i < 3; i++) {
      bare.push(await measure('bare SDK paginator loop (list only)', counts, bareLoop));
      warm.push(
        await measure(
          'AcmSource.discover(), warm cache',
          counts,
          async () => (await source.discover()).length,
        ),
      );
    }
    const median = (runs: Row[]): Row => [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!;
    const rows = [median(bare), median(warm), cold];

    console.log('');
    console.log(
      [
        'run'.padEnd(38),
        'certificates'.padStart(12),
        'seconds'.padStart(9),
        'certs/s'.padStart(10),
        'calls/1k'.padStart(9),
        '  calls',
      ].join(' '),
    );
    for (const row of rows) {
      console.log(
        [
          row.name.padEnd(38),
          String(row.certificates).padStart(12),
          (row.ms / 1000).toFixed(2).padStart(9),
          Math.round(row.certificates / (row.ms / 1000))
            .toLocaleString('en-US')
            .padStart(10),
          ((row.calls * 1000) / Math.max(1, row.certificates)).toFixed(2).padStart(9),
          `  ${row.detail}`,
        ].join(' '),
      );
    }
    console.log('');
    console.log(
      `warm discover() took ${(rows[1]!.ms / rows[0]!.ms).toFixed(2)}x the bare loop's time with the same ${rows[1]!.calls} call(s); ` +
        'moto answers ListCertificates in one page whatever MaxItems says, real ACM pages by 1,000 (10 calls for 10,000)',
    );
  } finally {
    emulator.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`bench:inventory: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
