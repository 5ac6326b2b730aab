/**
 * A fleet of demo TLS host processes serving a certificate from a local CA that certrotor does not
 * manage yet (what an operator installed by hand): the starting point of the CLI rotation suites.
 * The CA predates everything it signs, including an adoption run an hour "ago".
 */
import { writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalCaIssuer } from '../../lambda/adapters/local/local-ca-issuer';
import { type ServerProcess, startDemoHost } from './fleet-hosts';

const HOUR = 3_600_000;

export interface HandInstalledHost {
  readonly name: string;
  readonly dir: string;
  readonly port: number;
  readonly server: ServerProcess;
}

/** Issues one certificate for `servername` (and 127.0.0.1) and starts a host serving it per name. */
export async function startHandInstalledFleet(
  root: string,
  certificate: string,
  servername: string,
  hostNames: readonly string[],
): Promise<{ caPem: string; hosts: HandInstalledHost[] }> {
  const ca = new LocalCaIssuer({
    directory: join(root, 'ca'),
    clock: () => new Date(Date.now() - 24 * HOUR),
  });
  const caPem = (await ca.caCertificate()).pem;
  const installed = await ca.issue(
    {
      name: certificate,
      version: 'hand-installed',
      commonName: servername,
      dnsNames: [servername],
      ipAddresses: ['127.0.0.1'],
      keySpec: 'EC_P256',
      usage: 'server',
      validityDays: 30,
      idempotencyKey: 'hand-installed',
    },
    new Date(Date.now() - 2 * HOUR),
  );
  const hosts: HandInstalledHost[] = [];
  for (const name of hostNames) {
    const dir = join(root, 'hosts', name);
    await mkdir(dir, { recursive: true });
    writeFileSync(join(dir, 'key.pem'), installed.privateKey.reveal(), { mode: 0o600 });
    writeFileSync(join(dir, 'cert.pem'), installed.certificatePem);
    writeFileSync(join(dir, 'chain.pem'), installed.chainPem);
    writeFileSync(join(dir, 'fullchain.pem'), installed.certificatePem + installed.chainPem);
    const server = await startDemoHost(dir);
    hosts.push({ name, dir, port: server.port, server });
  }
  return { caPem, hosts };
}
