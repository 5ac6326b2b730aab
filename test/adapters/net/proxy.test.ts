import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { bypassesProxy, proxyFor } from '../../../lambda/adapters/net/proxy';
import { SlackWebhookNotifier } from '../../../lambda/adapters/net/slack-webhook';
import { buildCertificate } from '../../builders/certificates';
import { startFakeSlackServer } from '../../support/fake-slack-server';
import { startForwardProxy } from '../../support/forward-proxy';

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

function listen(server: net.Server): Promise<number> {
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        (server as http.Server).closeAllConnections?.();
        server.close(() => resolve());
      }),
  );
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

async function startProxy(options: { refuse?: boolean } = {}) {
  const proxy = await startForwardProxy(options);
  closers.push(() => proxy.close());
  return proxy;
}

/** A webhook over HTTPS on loopback with its own CA-less self-signed certificate. */
async function startHttpsWebhook() {
  const served = await buildCertificate({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const bodies: string[] = [];
  const server = https.createServer(
    { cert: served.certificatePem, key: served.privateKey.reveal() },
    (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    },
  );
  const port = await listen(server);
  return { url: `https://127.0.0.1:${port}/services/T/B/secret-token`, ca: served.certificatePem, bodies };
}

const message = { text: 'certificate api expires in 3 days', blocks: [] };

describe('HTTPS_PROXY and NO_PROXY', () => {
  it('choose the proxy for the scheme, lower case first, and honour NO_PROXY entries', () => {
    const env = {
      HTTPS_PROXY: 'http://upper:3128',
      https_proxy: 'proxy.corp:8080',
      NO_PROXY: 'internal.example, .corp.example,10.0.0.5,api.local:8443',
    };

    expect(proxyFor(new URL('https://hooks.slack.com/x'), env)?.href).toBe('http://proxy.corp:8080/');
    expect(proxyFor(new URL('http://hooks.slack.com/x'), env)).toBeUndefined();
    for (const direct of [
      'https://internal.example/',
      'https://a.b.corp.example/',
      'https://corp.example/',
      'https://10.0.0.5/',
      'https://api.local:8443/',
    ])
      expect(bypassesProxy(new URL(direct), env)).toBe(true);
    for (const proxied of ['https://notinternal.example/', 'https://api.local/', 'https://10.0.0.50/'])
      expect(bypassesProxy(new URL(proxied), env)).toBe(false);
    expect(bypassesProxy(new URL('https://anything/'), { no_proxy: '*' })).toBe(true);
    expect(proxyFor(new URL('https://x/'), {})).toBeUndefined();
  });

  it('send a Slack message over HTTPS through one CONNECT tunnel, the URL never shown to the proxy', async () => {
    const proxy = await startProxy();
    const webhook = await startHttpsWebhook();
    const notifier = new SlackWebhookNotifier({
      webhookUrl: webhook.url,
      env: { HTTPS_PROXY: proxy.url },
      ca: [webhook.ca],
      minIntervalMs: 0,
    });

    const outcome = await notifier.send(message);

    expect(outcome).toMatchObject({ ok: true, status: 200 });
    expect(proxy.tunnels).toEqual([new URL(webhook.url).host]);
    expect(proxy.forwarded).toEqual([]);
    expect(JSON.parse(webhook.bodies[0]!)).toMatchObject({ text: message.text });
  });

  it('go direct for a host in NO_PROXY', async () => {
    const proxy = await startProxy();
    const webhook = await startHttpsWebhook();
    const notifier = new SlackWebhookNotifier({
      webhookUrl: webhook.url,
      env: { HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' },
      ca: [webhook.ca],
      minIntervalMs: 0,
    });

    const outcome = await notifier.send(message);

    expect(outcome).toMatchObject({ ok: true, status: 200 });
    expect(proxy.tunnels).toEqual([]);
  });

  it('send plain-HTTP webhooks to the proxy with the absolute URL', async () => {
    const proxy = await startProxy();
    const slack = await startFakeSlackServer();
    closers.push(() => slack.close());
    const notifier = new SlackWebhookNotifier({
      webhookUrl: slack.url,
      env: { http_proxy: proxy.url },
      minIntervalMs: 0,
    });

    const outcome = await notifier.send(message);

    expect(outcome).toMatchObject({ ok: true, status: 200 });
    expect(proxy.forwarded).toEqual([slack.url]);
    expect(slack.delivered()).toHaveLength(1);
  });

  it('report a proxy that refuses the tunnel by its origin only, without credentials or the webhook URL', async () => {
    const proxy = await startProxy({ refuse: true });
    const webhook = await startHttpsWebhook();
    const withCredentials = proxy.url.replace('http://', 'http://user:pa55word@');
    const notifier = new SlackWebhookNotifier({
      webhookUrl: webhook.url,
      env: { HTTPS_PROXY: withCredentials },
      ca: [webhook.ca],
      minIntervalMs: 0,
      maxAttempts: 1,
    });

    const outcome = await notifier.send(message);

    expect(outcome.ok).toBe(false);
    const text = JSON.stringify(outcome);
    expect(text).toContain(`proxy ${proxy.url}: CONNECT 127.0.0.1:`);
    expect(text).toContain('refused with HTTP 403');
    expect(text).not.toContain('pa55word');
    expect(text).not.toContain('secret-token');
  });
});
