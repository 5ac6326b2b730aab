/**
 * The Route 53 DNS-01 adapter against moto's Route 53: UPSERT of the TXT record, GetChange until
 * INSYNC, DELETE afterwards; and a DNS-01 issuance from Pebble where the records Pebble's resolver
 * (challtestsrv) answers with are copied from what the adapter wrote into moto.
 */
import {
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { join } from 'node:path';
import { createAwsClient } from '../../../lambda/adapters/aws/clients';
import { Route53Dns } from '../../../lambda/adapters/aws/route53-dns';
import { FileStateStore } from '../../../lambda/adapters/local/file-state-store';
import { Dns01Solver, type DnsTxtPort } from '../../../lambda/adapters/net/acme/challenges';
import { AcmeIssuer } from '../../../lambda/adapters/net/acme/issuer';
import { LocalAcmeJournal } from '../../../lambda/adapters/net/acme/journal';
import { useMoto } from '../../support/moto';
import { type Pebble, startPebble } from '../../support/pebble';
import { createTempDirs } from '../../support/temp-dir';

jest.setTimeout(60_000);

const moto = useMoto();
const temp = createTempDirs();
let route53: Route53Client;
let zoneId: string;
let pebble: Pebble | undefined;

beforeAll(async () => {
  route53 = createAwsClient(Route53Client, { ...moto.clientConfig(), maxAttempts: 1 });
  const zone = await route53.send(
    new CreateHostedZoneCommand({ Name: 'example.test', CallerReference: `certrotor-${Date.now()}` }),
  );
  zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');
});

afterEach(async () => {
  await pebble?.stop();
  pebble = undefined;
  await temp.cleanup();
});

async function txtRecords(name: string): Promise<string[]> {
  const sets = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return (sets.ResourceRecordSets ?? [])
    .filter((s) => s.Type === 'TXT' && s.Name === `${name}.`)
    .flatMap((s) => (s.ResourceRecords ?? []).map((r) => r.Value!.replace(/^"|"$/g, '')));
}

describe('Route 53 DNS-01 adapter', () => {
  it('upserts the TXT record, waits for INSYNC and deletes it again', async () => {
    const dns = new Route53Dns({
      client: route53,
      hostedZoneId: `/hostedzone/${zoneId}`,
      pollIntervalMs: 10,
    });
    await dns.setTxt('_acme-challenge.api.example.test', 'token-value-1');
    await dns.setTxt('_acme-challenge.api.example.test', 'token-value-2');
    expect((await txtRecords('_acme-challenge.api.example.test')).sort()).toEqual([
      'token-value-1',
      'token-value-2',
    ]);
    await dns.clearTxt('_acme-challenge.api.example.test', 'token-value-1');
    expect(await txtRecords('_acme-challenge.api.example.test')).toEqual(['token-value-2']);
    await dns.clearTxt('_acme-challenge.api.example.test', 'token-value-2');
    expect(await txtRecords('_acme-challenge.api.example.test')).toEqual([]);
  });

  it('answers Pebble’s DNS-01 challenge with the record it wrote to Route 53, and removes it afterwards', async () => {
    const dir = await temp.make('acme-route53');
    pebble = await startPebble(dir);
    const server = pebble;
    const route53Dns = new Route53Dns({ client: route53, hostedZoneId: zoneId, pollIntervalMs: 10 });
    // Pebble asks challtestsrv; the test copies what the adapter wrote into moto's zone over to it.
    const mirrored: DnsTxtPort = {
      async setTxt(name, value) {
        await route53Dns.setTxt(name, value);
        for (const v of await txtRecords(name)) await server.dns.setTxt(name, v);
      },
      async clearTxt(name, value) {
        await route53Dns.clearTxt(name, value);
        await server.dns.clearTxt(name);
      },
    };
    const journal = new LocalAcmeJournal(
      join(dir, 'acme'),
      new FileStateStore({ directory: join(dir, 'state') }),
      () => new Date(),
    );
    const issuer = new AcmeIssuer({
      name: 'pebble',
      directoryUrl: server.directoryUrl,
      caPem: server.caPem,
      solver: new Dns01Solver(mirrored),
      journal,
      keys: journal,
      pollIntervalMs: 50,
    });
    const bundle = await issuer.issue(
      {
        name: 'r53',
        version: 'v1',
        commonName: 'r53.example.test',
        dnsNames: ['r53.example.test'],
        keySpec: 'EC_P256',
        usage: 'server',
        validityDays: 90,
        idempotencyKey: 'r53-v1',
      },
      new Date(),
    );
    expect(bundle.facts.subjectAltNames).toEqual([{ type: 'DNS', value: 'r53.example.test' }]);
    expect(await txtRecords('_acme-challenge.r53.example.test')).toEqual([]);
  });
});
