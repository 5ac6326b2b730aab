/**
 * A pass-through proxy in front of moto (what a binary's AWS endpoint points at): every call goes to
 * moto, and once moto has applied a Route 53 ChangeResourceRecordSets, the zone's TXT values for that
 * name are copied to challtestsrv (the resolver Pebble asks) before the answer goes back, so Pebble
 * sees exactly what the adapter wrote into Route 53. `afterChange` runs after moto applied a change
 * and before its answer goes back (a test kills the caller there).
 */
import { type Server, createServer } from 'node:http';
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { awsClientConfig } from './moto';
import type { Pebble } from './pebble';

export interface Route53Mirror {
  readonly url: string;
  /** `UPSERT <name>.` / `DELETE <name>.`, in order. */
  readonly actions: string[];
  readonly server: Server;
  close(): Promise<void>;
}

export async function startRoute53Mirror(
  motoUrl: string,
  zoneId: string,
  pebble: Pebble,
  options: { afterChange?: (action: string, name: string) => Promise<void> } = {},
): Promise<Route53Mirror> {
  const actions: string[] = [];
  const route53 = createAwsClient(Route53Client, { ...awsClientConfig(motoUrl), maxAttempts: 1 });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const target = new URL(req.url ?? '/', motoUrl);
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)),
        ) as Record<string, string>;
        const answer = await fetch(target, {
          method: req.method ?? 'GET',
          headers,
          ...(body.length > 0 ? { body } : {}),
        });
        const text = Buffer.from(await answer.arrayBuffer());
        if (req.method === 'POST' && /\/rrset\/?$/.test(target.pathname) && answer.ok) {
          const xml = body.toString();
          const action = /<Action>(\w+)<\/Action>/.exec(xml)?.[1] ?? '';
          const name = /<Name>([^<]+)<\/Name>/.exec(xml)?.[1] ?? '';
          actions.push(`${action} ${name}`);
          const sets = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
          const values = (sets.ResourceRecordSets ?? [])
            .filter((r) => r.Type === 'TXT' && r.Name === name)
            .flatMap((r) => (r.ResourceRecords ?? []).map((v) => v.Value!.replace(/^"|"$/g, '')));
          const host = name.replace(/\.$/, '');
          await pebble.dns.clearTxt(host);
          for (const v of values) await pebble.dns.setTxt(host, v);
          await options.afterChange?.(action, name);
        }
        const passed: Record<string, string> = {};
        answer.headers.forEach((value, key) => {
          if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(key))
            passed[key] = value;
        });
        res.writeHead(answer.status, passed);
        res.end(text);
      })().catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    actions,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
