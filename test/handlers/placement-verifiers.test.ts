/**
 * The rotation's function probing another network placement's targets through that placement's
 * rotation-step function: the real Lambda SDK client invokes a real HTTP server speaking Lambda's
 * Invoke API on loopback, which runs the real `probe` step (real TLS prober) against a real TLS server.
 */
import { X509Certificate } from 'node:crypto';
import { type IncomingMessage, type Server as HttpServer, createServer as createHttpServer } from 'node:http';
import { type Server as TlsServer, createServer as createTlsServer } from 'node:tls';
import { AwsClientPool } from '../../lambda/adapters/aws/clients';
import { configuredProber } from '../../lambda/adapters/net/tls-prober';
import type { ProbeRequest, TlsProber } from '../../lambda/domain/ports';
import type { AwsClients } from '../../lambda/handlers/support/runtime';
import { parseVerifiers, remotePlacements } from '../../lambda/adapters/aws/placement-verifiers';
import { placementProber } from '../../lambda/use-cases/rotation/placement-prober';
import type { RotationDeps, RotationSpec } from '../../lambda/use-cases/rotation/spec';
import { parseRotationStep, runRotationStep } from '../../lambda/use-cases/rotation/step-router';
import { type BuiltCertificate, buildCa, buildCertificate } from '../builders/certificates';
import { FAKE_CREDENTIALS } from '../support/moto';

let tls: TlsServer;
let tlsPort: number;
let lambdaApi: HttpServer;
let endpoint: string;
let served: BuiltCertificate;
let caPem: string;
const invoked: { functionName: string; payload: Record<string, unknown> }[] = [];
let failNext: string | undefined;

const body = (request: IncomingMessage) =>
  new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });

beforeAll(async () => {
  const ca = await buildCa();
  caPem = ca.certificatePem;
  served = await buildCertificate({ dnsNames: ['api.us.test'], daysLeft: 60, issuer: ca });
  tls = createTlsServer({ cert: served.certificatePem + served.chainPem, key: served.privateKey.reveal() });
  tls.on('secureConnection', (socket) => socket.end());
  tls.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
  tlsPort = (tls.address() as { port: number }).port;

  // Lambda's Invoke API: POST /2015-03-31/functions/<name>/invocations, the result as the body.
  const remoteProber = configuredProber({ timeout: 2000 } as never, { clock: () => new Date() });
  lambdaApi = createHttpServer((request, response) => {
    void (async () => {
      const functionName = decodeURIComponent(
        /\/functions\/([^/]+)\/invocations/.exec(request.url ?? '')?.[1] ?? '',
      );
      const payload = JSON.parse(await body(request)) as Record<string, unknown>;
      invoked.push({ functionName, payload });
      if (failNext !== undefined) {
        const errorMessage = failNext;
        failNext = undefined;
        response.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
        response.end(JSON.stringify({ errorType: 'Error', errorMessage }));
        return;
      }
      const result = await runRotationStep(
        { prober: remoteProber } as unknown as RotationDeps,
        {} as RotationSpec,
        parseRotationStep(payload),
      );
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(result));
    })();
  });
  await new Promise<void>((resolve) => lambdaApi.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(lambdaApi.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => tls?.close(resolve));
  await new Promise((resolve) => lambdaApi?.close(resolve));
});

function prober(local: TlsProber): TlsProber {
  const clients = new AwsClientPool({
    region: 'us-east-1',
    endpoint,
    credentials: { ...FAKE_CREDENTIALS },
    maxAttempts: 1,
  } as never) as unknown as AwsClients;
  const spec = {
    verify: [
      { environment: 'prod-us', host: '127.0.0.1', port: tlsPort, servername: 'api.us.test', target: 'us-1' },
    ],
  };
  const entries = parseVerifiers(
    JSON.stringify([{ name: 'Us', environments: ['prod-us'], functionName: 'certrotor-rotation-step-us' }]),
  );
  return placementProber(
    local,
    spec,
    remotePlacements(entries, clients, { name: 'api', version: 'v2', execution: 'api-v2' }),
    () => new Date(),
  );
}

const unreachable: TlsProber = {
  probe: () => Promise.reject(new Error('the rotation placement cannot reach prod-us')),
};

describe("probing another placement's targets through its rotation-step function", () => {
  it('makes a fresh handshake from that placement and returns what the target served', async () => {
    // Prepare
    const request: ProbeRequest = {
      host: '127.0.0.1',
      port: tlsPort,
      servername: 'api.us.test',
      caPem: [caPem],
    };

    // Act
    const results = await prober(unreachable).probe(request);

    // Assess
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ ok: true, authorized: true, hostnameMatches: true });
    expect(results[0]!.chain[0]!.facts.fingerprintSha256).toBe(
      new X509Certificate(served.certificatePem).fingerprint256,
    );
    expect(invoked.at(-1)).toEqual({
      functionName: 'certrotor-rotation-step-us',
      payload: { action: 'probe', name: 'api', version: 'v2', execution: 'api-v2', request },
    });
  });

  it('probes locally what no other placement reaches', async () => {
    const calls = invoked.length;
    const local: TlsProber = { probe: async () => [] };
    await expect(prober(local).probe({ host: '127.0.0.1', port: 1 })).resolves.toEqual([]);
    expect(invoked).toHaveLength(calls);
  });

  it("turns the other function's failure into a failed check naming the placement, without throwing", async () => {
    failNext = 'Task timed out after 300.00 seconds';
    const results = await prober(unreachable).probe({
      host: '127.0.0.1',
      port: tlsPort,
      servername: 'api.us.test',
    });
    expect(results).toEqual([
      expect.objectContaining({
        ok: false,
        error:
          'probing from network placement Us failed: certrotor-rotation-step-us: Task timed out after 300.00 seconds',
      }),
    ]);
  });

  it('refuses a verifier list that is not one, in one line naming the variable', () => {
    expect(() => parseVerifiers('[{"name":"Us"}]')).toThrow(
      'CERTROTOR_VERIFIERS: must be a list of { name, environments, functionName }',
    );
    expect(() => parseVerifiers('{')).toThrow('CERTROTOR_VERIFIERS: not JSON');
  });
});
