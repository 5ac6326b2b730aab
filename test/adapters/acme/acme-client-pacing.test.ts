/**
 * The ACME client honours the CA's pacing: a `rateLimited` answer with a short Retry-After is waited
 * out and retried; a long one fails with the time to retry; a `badNonce` is retried with the fresh
 * nonce the answer carries. A small ACME server on loopback answers (an error path Pebble's knobs do
 * not produce for newOrder).
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { AcmeClient, AcmeError } from '../../../lambda/adapters/net/acme/client';

let server: Server;
let base: string;
let answers: { status: number; body: unknown; headers?: Record<string, string> }[] = [];
const seenNonces: string[] = [];
let nonce = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const fresh = { 'replay-nonce': `n${++nonce}` };
      if (req.url === '/dir') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            newNonce: `${base}/nonce`,
            newAccount: `${base}/acct`,
            newOrder: `${base}/order`,
          }),
        );
        return;
      }
      if (req.url === '/nonce') return res.writeHead(200, fresh).end();
      const jws = JSON.parse(body) as { protected: string };
      seenNonces.push(
        (JSON.parse(Buffer.from(jws.protected, 'base64url').toString()) as { nonce: string }).nonce,
      );
      if (req.url === '/acct') return res.writeHead(201, { ...fresh, location: `${base}/acct/1` }).end('{}');
      const next = answers.shift() ?? { status: 500, body: {} };
      res.writeHead(next.status, { ...fresh, ...(next.headers ?? {}), 'content-type': 'application/json' });
      res.end(JSON.stringify(next.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(() => new Promise((r) => server.close(r)));

const order = { status: 'pending', identifiers: [], authorizations: [], finalize: 'x' };
const rateLimited = (retryAfter: string) => ({
  status: 429,
  headers: { 'retry-after': retryAfter },
  body: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders' },
});

async function client(waits: number[]): Promise<AcmeClient> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const c = new AcmeClient({
    directoryUrl: `${base}/dir`,
    accountKey: privateKey,
    maxRetryAfterMs: 5_000,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  await c.account({});
  return c;
}

describe('ACME client pacing', () => {
  it('waits out a short rateLimited Retry-After, then places the order', async () => {
    const waits: number[] = [];
    answers = [rateLimited('2'), { status: 201, headers: { location: `${base}/order/1` }, body: order }];
    const placed = await (
      await client(waits)
    ).newOrder({ identifiers: [{ type: 'dns', value: 'a.example' }] });
    expect(placed.url).toBe(`${base}/order/1`);
    expect(waits).toEqual([2000]);
  });

  it('fails with the time to retry when the CA asks for a longer pause than it waits in process', async () => {
    const waits: number[] = [];
    answers = [rateLimited('3600')];
    const error = await (
      await client(waits)
    )
      .newOrder({ identifiers: [{ type: 'dns', value: 'a.example' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeError);
    expect((error as Error).message).toBe(
      `acme:newOrder ${base}/order: 429 urn:ietf:params:acme:error:rateLimited: too many new orders (retry after 3600s)`,
    );
    expect(waits).toEqual([]);
  });

  it('retries a badNonce answer with the nonce that answer carried', async () => {
    answers = [
      { status: 400, body: { type: 'urn:ietf:params:acme:error:badNonce', detail: 'stale' } },
      { status: 201, headers: { location: `${base}/order/2` }, body: order },
    ];
    const c = await client([]);
    seenNonces.length = 0;
    const before = nonce;
    await c.newOrder({ identifiers: [{ type: 'dns', value: 'a.example' }] });
    // The retry used the nonce of the badNonce answer (the one issued right after the first request).
    expect(seenNonces).toHaveLength(2);
    expect(seenNonces[1]).toBe(`n${before + 1}`);
  });

  it('polls an order at the pace its Retry-After asks for', async () => {
    const waits: number[] = [];
    answers = [
      { status: 200, headers: { 'retry-after': '3' }, body: { ...order, status: 'processing' } },
      { status: 200, headers: { 'retry-after': '1' }, body: { ...order, status: 'processing' } },
      { status: 200, body: { ...order, status: 'valid', certificate: `${base}/cert/1` } },
    ];
    const done = await (
      await client(waits)
    ).waitForOrder(`${base}/order/1`, (o) => o.status !== 'processing');
    expect(done.status).toBe('valid');
    expect(waits).toEqual([3000, 1000]);
  });
});
