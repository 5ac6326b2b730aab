/**
 * How an ACME challenge is answered. HTTP-01: a responder the CLI runs on a configured address
 * (node:http), or the token file written into a webroot a web server already serves. DNS-01: a TXT
 * record through a DNS port (Route 53 in lambda/adapters/aws/route53-dns.ts).
 */
import { createServer, type Server } from 'node:http';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OperationError } from '../../../domain/errors';
import { makeDirectory, writeFileAtomic } from '../../local/atomic-file';

export interface ChallengeSolver {
  /** `http-01` or `dns-01`. */
  readonly type: 'http-01' | 'dns-01';
  /** Makes the answer visible; `value` is the key authorization (HTTP-01) or its digest (DNS-01). */
  present(identifier: string, token: string, value: string): Promise<void>;
  /** Removes it again; never throws for something already gone. */
  cleanup(identifier: string, token: string, value: string): Promise<void>;
  /** Releases what the solver holds (a listening socket). */
  close?(): Promise<void>;
}

const WELL_KNOWN = '/.well-known/acme-challenge/';

/** HTTP-01 through a responder on `host:port`, listening only while challenges are outstanding. */
export class Http01Responder implements ChallengeSolver {
  readonly type = 'http-01' as const;
  private readonly answers = new Map<string, string>();
  private server: Server | undefined;

  constructor(private readonly listen: { readonly host: string; readonly port: number }) {}

  async present(_identifier: string, token: string, keyAuthorization: string): Promise<void> {
    this.answers.set(token, keyAuthorization);
    if (this.server) return;
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const answer = path.startsWith(WELL_KNOWN)
        ? this.answers.get(path.slice(WELL_KNOWN.length))
        : undefined;
      if (answer === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(answer);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) =>
        reject(
          new OperationError(
            'http-01 responder',
            `${this.listen.host}:${this.listen.port}`,
            `cannot listen: ${error.message}`,
          ),
        ),
      );
      server.listen(this.listen.port, this.listen.host, () => resolve());
    });
    this.server = server;
  }

  async cleanup(_identifier: string, token: string): Promise<void> {
    this.answers.delete(token);
    if (this.answers.size === 0) await this.close();
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** HTTP-01 by writing `<webroot>/.well-known/acme-challenge/<token>` for a web server to serve. */
export class Http01Webroot implements ChallengeSolver {
  readonly type = 'http-01' as const;

  constructor(private readonly webroot: string) {}

  async present(_identifier: string, token: string, keyAuthorization: string): Promise<void> {
    const dir = join(this.webroot, WELL_KNOWN);
    await makeDirectory(dir, 0o755);
    await writeFileAtomic(join(dir, token), keyAuthorization, { mode: 0o644 });
  }

  async cleanup(_identifier: string, token: string): Promise<void> {
    await rm(join(this.webroot, WELL_KNOWN, token), { force: true });
  }
}

/** Where DNS-01 answers are published: one TXT value per name, added and removed again. */
export interface DnsTxtPort {
  /** Adds the TXT value at `name` (fully qualified, no trailing dot) and waits until it is served. */
  setTxt(name: string, value: string): Promise<void>;
  clearTxt(name: string, value: string): Promise<void>;
}

export class Dns01Solver implements ChallengeSolver {
  readonly type = 'dns-01' as const;

  constructor(private readonly dns: DnsTxtPort) {}

  present(identifier: string, _token: string, txtValue: string): Promise<void> {
    return this.dns.setTxt(dns01Name(identifier), txtValue);
  }

  cleanup(identifier: string, _token: string, txtValue: string): Promise<void> {
    return this.dns.clearTxt(dns01Name(identifier), txtValue);
  }
}

/** `_acme-challenge.<name>`, a wildcard's `*.` removed (RFC 8555 §8.4). */
export function dns01Name(identifier: string): string {
  return `_acme-challenge.${identifier.replace(/^\*\./, '').replace(/\.$/, '')}`;
}
