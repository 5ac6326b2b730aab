/**
 * Child process for the kill-mid-delivery test: delivers the given versions to one host directory
 * in a loop until it is killed, through the `files` destination or the agent's installer (argv[4]
 * `files` | `agent`), with rollbacks and deliveries whose reload fails (switched back) in between.
 * Prints `started` once it runs, then a `.` after each operation.
 *
 *   node deliver-forever.cjs <versions.json> <host dir> <files|agent>
 */
import { readFileSync } from 'node:fs';
import { FileInstaller } from '../../lambda/adapters/local/agent-host';
import { FileDestination } from '../../lambda/adapters/local/file-destination';
import { factsFromPem } from '../../lambda/adapters/local/pem-facts';
import type { CertificateBundle } from '../../lambda/domain/ports';
import { SecretKey } from '../../lambda/domain/secret';

interface StoredVersion {
  readonly version: string;
  readonly certificatePem: string;
  readonly chainPem: string;
  readonly keyPem: string;
}

async function main(): Promise<void> {
  const [file, dir, mode] = process.argv.slice(2) as [string, string, string];
  const stored = JSON.parse(readFileSync(file, 'utf8')) as StoredVersion[];
  const bundles: CertificateBundle[] = stored.map((v) => ({
    name: 'kill-test',
    version: v.version,
    certificatePem: v.certificatePem,
    chainPem: v.chainPem,
    privateKey: new SecretKey(v.keyPem),
    facts: factsFromPem(v.certificatePem),
  }));
  const installer = new FileInstaller({ certificate: 'kill-test', directory: dir, reload: ['true'] });
  const files = new FileDestination({ name: 'web', hosts: { 'web-1': { dir } }, reload: ['true'] });
  // A server that refuses the new files: the delivery is switched back to the set it replaced.
  const refusing = new FileDestination({ name: 'web', hosts: { 'web-1': { dir } }, reload: ['false'] });
  process.stdout.write('started\n');
  for (let i = Math.floor(Math.random() * bundles.length); ; i++) {
    const bundle = bundles[i % bundles.length]!;
    const step = i % 7;
    const outcome =
      step === 4
        ? await (mode === 'agent' ? installer.restorePrevious() : files.rollback('web-1'))
        : step === 6
          ? await refusing.deliver('web-1', bundle)
          : await (mode === 'agent' ? installer.install(bundle) : files.deliver('web-1', bundle));
    const expected =
      outcome.ok ||
      /no previous version/.test(outcome.error ?? '') ||
      (step === 6 && /exited 1/.test(outcome.error ?? ''));
    if (!expected) {
      process.stderr.write(`delivery failed: ${outcome.error}\n`);
      process.exit(2);
    }
    process.stdout.write('.');
  }
}

void main();
