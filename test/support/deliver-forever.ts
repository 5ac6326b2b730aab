/**
 * Child process for the kill-mid-delivery test: delivers the given versions to one host directory
 * in a loop until it is killed, through the `files` destination or the agent's installer (argv[4]
 * `files` | `agent`). Prints `started` once it runs.
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
  const installer = new FileInstaller({ certificate: 'kill-test', directory: dir });
  const files = new FileDestination({ name: 'web', hosts: { 'web-1': { dir } } });
  process.stdout.write('started\n');
  for (let i = Math.floor(Math.random() * bundles.length); ; i++) {
    const bundle = bundles[i % bundles.length]!;
    const outcome =
      i % 5 === 4
        ? await (mode === 'agent' ? installer.restorePrevious() : files.rollback('web-1'))
        : await (mode === 'agent' ? installer.install(bundle) : files.deliver('web-1', bundle));
    if (!outcome.ok && !/no previous version/.test(outcome.error ?? '')) {
      process.stderr.write(`delivery failed: ${outcome.error}\n`);
      process.exit(2);
    }
  }
}

void main();
