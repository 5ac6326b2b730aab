/**
 * A tiny TLS host for the demonstration and the end-to-end tests: serves `fullchain.pem` + `key.pem`
 * from a directory on a loopback port and reloads them on SIGHUP, the way nginx does. Existing
 * connections keep the certificate they negotiated, which is exactly how long-lived connections hide
 * an expired certificate.
 *
 * Usage: node dist/demo-host.js <dir> <port> [--host 127.0.0.1]
 * Prints `listening <port>` once ready and `reloaded <fingerprint>` after each reload.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';

function loadContext(dir: string): { context: tls.SecureContext; fingerprint: string } {
  const cert = readFileSync(join(dir, 'fullchain.pem'), 'utf8');
  const key = readFileSync(join(dir, 'key.pem'), 'utf8');
  return {
    context: tls.createSecureContext({ cert, key }),
    fingerprint: new X509Certificate(cert).fingerprint256,
  };
}

function main(): void {
  const [dir, portText] = process.argv.slice(2);
  const hostIndex = process.argv.indexOf('--host');
  const host = hostIndex > 0 ? process.argv[hostIndex + 1]! : '127.0.0.1';
  if (!dir || !portText) {
    process.stderr.write('usage: demo-host <dir> <port> [--host 127.0.0.1]\n');
    process.exit(2);
  }
  let current = loadContext(dir);
  const server = tls.createServer({ SNICallback: (_name, cb) => cb(null, current.context) }, (socket) => {
    // Keep the connection open and answer pings: a long-lived client connection.
    socket.on('data', (data) => socket.write(data));
    socket.on('error', () => undefined);
  });
  // Sessions are not resumable: every probe must see the certificate served now.
  server.on('error', (error) => {
    process.stderr.write(`demo-host ${dir}: ${error.message}\n`);
    process.exit(1);
  });
  server.listen(Number(portText), host, () => {
    const address = server.address();
    process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : portText}\n`);
  });
  process.on('SIGHUP', () => {
    try {
      current = loadContext(dir);
      process.stdout.write(`reloaded ${current.fingerprint}\n`);
    } catch (error) {
      process.stderr.write(`reload failed: ${(error as Error).message}\n`);
    }
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

main();
