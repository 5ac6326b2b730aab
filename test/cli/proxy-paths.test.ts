/**
 * Behind a corporate proxy, through the built `certrotor` binary (dist/certrotor.js): every HTTP call
 * the CLI and the agent make goes through `HTTPS_PROXY`, and `NO_PROXY` sends a host direct.
 *
 * The targets have names that resolve nowhere (`*.test`); only the loopback forward proxy maps them
 * to 127.0.0.1. So a call that went around the proxy fails, and one that went through it is
 * recorded as a CONNECT tunnel. The AWS API is moto behind a loopback TLS front with its own CA
 * (given to the binary with NODE_EXTRA_CA_CERTS, as a proxy-inspected network would), so the SDK
 * takes the HTTPS path it takes against real AWS: CONNECT, then TLS to the endpoint's name.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createAwsClient } from '../../lambda/adapters/aws/clients';
import { createStateTable } from '../../lambda/adapters/aws/dynamodb-state-store';
import { buildCa, buildCertificate } from '../builders/certificates';
import { type ForwardProxy, startForwardProxy } from '../support/forward-proxy';
import { FAKE_CREDENTIALS, MOTO_REGION, useMoto } from '../support/moto';
import { useTempDirs } from '../support/temp-dir';

jest.setTimeout(60_000);

const CLI = resolve(__dirname, '..', '..', 'dist', 'certrotor.js');
const AWS_NAME = 'aws.emulator.test';
const FEED_NAME = 'status.vendor.test';
const TABLE = 'certrotor-proxy-paths';

const moto = useMoto();
const temp = useTempDirs();
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function certrotor(dir: string, env: Record<string, string>, ...argv: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...argv, '--config', join(dir, 'certrotor.json')], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
        AWS_REGION: MOTO_REGION,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
        AWS_MAX_ATTEMPTS: '1',
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

function listen(server: http.Server): Promise<number> {
  closers.push(
    () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  );
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () => done((server.address() as AddressInfo).port)),
  );
}

let dir: string;
let proxy: ForwardProxy;
let awsUrl: string;
let feedUrl: string;
const feedRequests: string[] = [];

beforeAll(async () => {
  dir = await temp.make('proxy-paths');
  const ca = await buildCa({ commonName: 'Inspecting proxy test CA' });
  const served = await buildCertificate({ issuer: ca, dnsNames: [AWS_NAME, FEED_NAME] });
  writeFileSync(join(dir, 'proxy-ca.pem'), ca.certificatePem);
  const tls = { cert: served.certificatePem + served.chainPem, key: served.privateKey.reveal() };

  // The AWS API over TLS: every request relayed to moto as it came.
  const motoUrl = new URL(moto.endpoint);
  const awsFront = https.createServer(tls, (request, response) => {
    const relay = http.request(
      {
        host: motoUrl.hostname,
        port: motoUrl.port,
        path: request.url,
        method: request.method,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    relay.on('error', () => response.writeHead(502).end());
    request.pipe(relay);
  });
  awsUrl = `https://${AWS_NAME}:${await listen(awsFront)}`;

  // A vendor's status page with one announced client-CA rotation.
  const feed = https.createServer(tls, (request, response) => {
    feedRequests.push(`${request.method} ${request.url}`);
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        scheduled_maintenances: [
          {
            id: 'mtls-2027',
            name: 'Client certificate CA rotation',
            status: 'scheduled',
            scheduled_for: new Date(Date.now() + 20 * 86_400_000).toISOString(),
            scheduled_until: new Date(Date.now() + 21 * 86_400_000).toISOString(),
            incident_updates: [{ body: 'We will rotate the TLS client certificate CA.' }],
            components: [{ name: 'API' }],
          },
        ],
      }),
    );
  });
  feedUrl = `https://${FEED_NAME}:${await listen(feed)}/api/v2/scheduled-maintenances.json`;

  // Only the test's names lead anywhere: nothing can leave the machine through this proxy.
  proxy = await startForwardProxy({
    resolve: (host) => (host.endsWith('.test') ? '127.0.0.1' : 'unresolvable.invalid'),
  });
  closers.push(() => proxy.close());

  const upstream = await buildCertificate({
    issuer: ca,
    dnsNames: ['api.vendor.test'],
    ipAddresses: ['127.0.0.1'],
  });
  const vendor = https.createServer(
    { cert: upstream.certificatePem + upstream.chainPem, key: upstream.privateKey.reveal() },
    (_request, response) => response.end('ok'),
  );
  const vendorPort = await listen(vendor);

  await createStateTable(createAwsClient(DynamoDBClient, { ...moto.clientConfig(), maxAttempts: 1 }), TABLE);
  writeFileSync(
    join(dir, 'certrotor.json'),
    JSON.stringify({
      version: 1,
      backend: 'aws',
      environments: [{ name: 'prod' }],
      hosts: [{ name: 'app-1', environment: 'prod', agent: {} }],
      issuers: [
        {
          name: 'pca',
          kind: 'acm-pca',
          certificateAuthorityArn: `arn:aws:acm-pca:${MOTO_REGION}:123456789012:certificate-authority/12345678-1234-1234-1234-123456789012`,
        },
      ],
      destinations: [
        {
          name: 'app-agents',
          kind: 'agent',
          directory: join(dir, 'tls'),
          hosts: ['app-1'],
          healthCheck: { handshake: false },
        },
      ],
      certificates: [
        {
          name: 'api',
          dnsNames: ['api.internal'],
          issuer: 'pca',
          validity: '30d',
          destinations: ['app-agents'],
        },
      ],
      upstreams: [
        {
          name: 'vendor',
          endpoints: [
            { host: '127.0.0.1', port: vendorPort, servername: 'api.vendor.test', environment: 'prod' },
          ],
          trust: { caBundleFile: 'proxy-ca.pem' },
          feeds: [{ kind: 'statuspage-json', url: feedUrl }],
        },
      ],
      aws: { tableName: TABLE, region: MOTO_REGION },
    }),
  );
});

const viaProxy = () => ({
  HTTPS_PROXY: proxy.url,
  NODE_EXTRA_CA_CERTS: join(dir, 'proxy-ca.pem'),
  AWS_ENDPOINT_URL: awsUrl,
});
const awsAuthority = () => new URL(awsUrl).host;

describe('certrotor behind an HTTPS_PROXY', () => {
  it('reaches the AWS API with --backend aws through a CONNECT tunnel to the endpoint', async () => {
    const before = proxy.tunnels.length;

    const run = await certrotor(
      dir,
      viaProxy(),
      'status',
      '--json',
      '--backend',
      'aws',
      '--endpoint-url',
      awsUrl,
      '--region',
      MOTO_REGION,
    );

    expect(run.stderr).not.toMatch(/ENOTFOUND|EAI_AGAIN|store-unavailable/);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      schema: 'certrotor.status/1',
      rows: [{ certificate: 'api' }],
    });
    expect(proxy.tunnels.slice(before)).toContain(awsAuthority());
  });

  it('lets the host agent with backend aws read its state through the proxy', async () => {
    const before = proxy.tunnels.length;

    const run = await certrotor(dir, viaProxy(), 'agent', '--host', 'app-1', '--once');

    // Nothing is desired yet: the agent read the table (through the tunnel) and found no version.
    expect(run.stdout).not.toContain('store-unavailable');
    expect(run.stdout).toMatch(/^app-1 {2}api {2}/);
    expect(proxy.tunnels.slice(before)).toContain(awsAuthority());
  });

  it('sends a host in NO_PROXY direct, so the name that only the proxy knows does not resolve', async () => {
    const before = proxy.tunnels.length;

    const run = await certrotor(
      dir,
      { ...viaProxy(), NO_PROXY: `.${AWS_NAME.split('.').slice(1).join('.')}` },
      'agent',
      '--host',
      'app-1',
      '--once',
    );

    expect(run.code).toBe(1);
    expect(run.stdout).toContain('store-unavailable');
    expect(run.stdout).toMatch(/ENOTFOUND|EAI_AGAIN/);
    expect(proxy.tunnels.slice(before)).toEqual([]);
  });

  it('fetches upstream feeds through the proxy and reads the announcement', async () => {
    const before = proxy.tunnels.length;
    feedRequests.length = 0;

    const run = await certrotor(dir, viaProxy(), 'upstream', 'watch', '--json');

    expect(run.stderr).not.toMatch(/fetch feed/);
    expect(feedRequests).toEqual(['GET /api/v2/scheduled-maintenances.json']);
    expect(proxy.tunnels.slice(before)).toContain(new URL(feedUrl).host);
    expect(run.stdout).toContain('Client certificate CA rotation');
  });
});
