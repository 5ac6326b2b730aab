/**
 * The atomic file set under real kills: a child process delivers (and rolls back) versions to one
 * host directory in a loop, through the `files` destination and through the agent's installer, and
 * is killed with SIGKILL at random points, many times. After every kill the configured paths must
 * resolve to one complete set whose key matches its certificate, and `previous` must be a whole,
 * matching set too. Every 25th round starts over on a host holding plain files, so kills also land
 * in the middle of a migration.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSet, type FileSet } from '../../../lambda/adapters/local/atomic-file-set';
import { FileDestination, INSTALLED_FILES } from '../../../lambda/adapters/local/file-destination';
import type { CertificateBundle } from '../../../lambda/domain/ports';
import { buildBundleVersions } from '../../builders/bundles';
import { buildCa } from '../../builders/certificates';
import { bundleForChildProcess } from '../../support/bundle-module';
import { useTempDirs } from '../../support/temp-dir';

jest.setTimeout(300_000);

const temp = useTempDirs();
const KILLS = 200;
/** The whole run stops starting rounds after this long, whatever the machine's speed. */
const BUDGET_MS = 150_000;

let versions: CertificateBundle[];
let script: string;
let versionsFile: string;

beforeAll(async () => {
  versions = await buildBundleVersions(3, { issuer: await buildCa() });
  const work = await temp.make('kill-driver');
  script = bundleForChildProcess(join(__dirname, '../../support/deliver-forever.ts'), work);
  versionsFile = join(work, 'versions.json');
  await writeFile(
    versionsFile,
    JSON.stringify(
      versions.map((v) => ({
        version: v.version,
        certificatePem: v.certificatePem,
        chainPem: v.chainPem,
        keyPem: v.privateKey.reveal(),
      })),
    ),
    { mode: 0o600 },
  );
});

/** Why `set` is not one whole version we delivered (undefined when it is). */
function tornReason(set: FileSet): string | undefined {
  const version = versions.find((v) => v.certificatePem === set.certificate);
  if (!version) return 'the certificate is none of the delivered versions';
  if (set.key !== version.privateKey.reveal()) return 'the key is not the key of the certificate';
  if (!new X509Certificate(set.certificate).checkPrivateKey(createPrivateKey(set.key)))
    return 'the key does not match the certificate';
  if (set.chain !== version.chainPem) return 'the chain is not the chain of the certificate';
  if (set.fullchain !== version.certificatePem + version.chainPem)
    return 'the full chain is not cert + chain';
  return undefined;
}

async function plainHost(): Promise<string> {
  const dir = join(await temp.make('killed-host'), 'tls');
  const v = versions[Math.floor(Math.random() * versions.length)]!;
  await mkdir(dir);
  await writeFile(join(dir, 'cert.pem'), v.certificatePem);
  await writeFile(join(dir, 'chain.pem'), v.chainPem);
  await writeFile(join(dir, 'fullchain.pem'), v.certificatePem + v.chainPem);
  await writeFile(join(dir, 'key.pem'), v.privateKey.reveal(), { mode: 0o600 });
  return dir;
}

/** Starts the driver, waits for it to run, lets it work a random while, kills it with SIGKILL. */
function deliverAndKill(dir: string, mode: 'files' | 'agent'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, versionsFile, dir, mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stdout.once('data', () => {
      setTimeout(() => child.kill('SIGKILL'), Math.random() * 300);
    });
    child.on('error', reject);
    // Resolves with the number of operations the driver completed before it was killed.
    child.on('close', (_code, signal) =>
      signal === 'SIGKILL'
        ? resolve(stdout.split('.').length - 1)
        : reject(new Error(`driver exited on its own: ${stderr}`)),
    );
  });
}

it('keeps a complete, matching key and certificate set on the host however often delivery is killed', async () => {
  const started = Date.now();
  let kills = 0;
  let wholeSets = 0;
  let operations = 0;
  const torn: string[] = [];
  let dir = await plainHost();
  for (let round = 0; round < KILLS && Date.now() - started < BUDGET_MS; round++) {
    if (round > 0 && round % 25 === 0) dir = await plainHost();
    operations += await deliverAndKill(dir, round % 2 === 0 ? 'files' : 'agent');
    kills++;
    const current = await readSet(dir, INSTALLED_FILES);
    const previous = await readSet(join(dir, 'previous'), INSTALLED_FILES);
    const problem = current ? tornReason(current) : 'the configured paths hold no certificate';
    const previousProblem = previous ? tornReason(previous) : undefined;
    if (problem) torn.push(`round ${round}: current: ${problem}`);
    if (previousProblem) torn.push(`round ${round}: previous: ${previousProblem}`);
    if (!problem) wholeSets++;
  }

  // The host still works afterwards: the next delivery and a rollback succeed.
  const destination = new FileDestination({ name: 'web', hosts: { 'web-1': { dir } } });
  const delivered = await destination.deliver('web-1', versions[0]!);

  process.stdout.write(
    `kill-mid-delivery: ${kills} SIGKILLs, ${operations} operations completed between them, ${torn.length} torn sets\n`,
  );
  expect(torn).toEqual([]);
  expect(kills).toBeGreaterThan(0);
  expect(wholeSets).toBe(kills);
  expect(delivered.ok).toBe(true);
});

it('restores on rollback exactly the set that was current before the last delivery', async () => {
  const dir = join(await temp.make('rollback'), 'tls');
  const destination = new FileDestination({ name: 'web', hosts: { 'web-1': { dir } } });
  await destination.deliver('web-1', versions[0]!);
  await destination.deliver('web-1', versions[1]!);
  const before = await readSet(dir, INSTALLED_FILES);
  await destination.deliver('web-1', versions[2]!);

  const outcome = await destination.rollback('web-1');
  const after = await readSet(dir, INSTALLED_FILES);
  const again = await destination.rollback('web-1');

  expect(outcome).toMatchObject({ ok: true, fingerprintSha256: versions[1]!.facts.fingerprintSha256 });
  expect(after).toEqual(before);
  expect(again.ok).toBe(true);
  expect(await readSet(dir, INSTALLED_FILES)).toEqual(before);
});
