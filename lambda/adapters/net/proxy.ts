/**
 * Outbound HTTP(S) through the environment's proxy, as corporate networks require: `HTTPS_PROXY` /
 * `HTTP_PROXY` (either case; the lower-case one wins, as curl does) and `NO_PROXY` (comma or space
 * separated host names, `.suffix` or `suffix` for a domain and its subdomains, `host:port`, IP
 * addresses, `*` for everything). HTTPS goes through an HTTP CONNECT tunnel, so the proxy sees only
 * the host and port, never the URL or the body (a Slack webhook URL is a credential).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name.toLowerCase()] ?? env[name.toUpperCase()];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function defaultPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** Whether `NO_PROXY` exempts `url`. */
export function bypassesProxy(url: URL, env: NodeJS.ProcessEnv): boolean {
  const list = envValue(env, 'no_proxy');
  if (list === undefined) return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = defaultPort(url);
  for (const raw of list.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const match = /^(.*?)(?::(\d+))?$/.exec(entry.replace(/^\[(.*)\](:\d+)?$/, '$1$2'))!;
    const name = match[1]!.replace(/^\*?\./, '');
    if (match[2] !== undefined && Number(match[2]) !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** The proxy to use for `url`, or undefined for a direct connection. */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv): URL | undefined {
  if (bypassesProxy(url, env)) return undefined;
  const value = url.protocol === 'https:' ? envValue(env, 'https_proxy') : envValue(env, 'http_proxy');
  if (value === undefined) return undefined;
  try {
    const proxy = new URL(value.includes('://') ? value : `http://${value}`);
    if (proxy.protocol !== 'http:') return undefined; // a TLS connection to the proxy itself is not supported
    return proxy;
  } catch {
    return undefined;
  }
}

/** The proxy's origin without credentials, for messages. */
export function proxyLabel(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

/**
 * An HTTPS agent whose every connection is a CONNECT tunnel through `proxy`, then TLS to the target
 * (certificate and host name verified as for a direct connection).
 */
export class ProxyTunnelAgent extends https.Agent {
  /** Tunnels opened, for tests and diagnostics. */
  tunnels = 0;

  constructor(
    readonly proxy: URL,
    options: https.AgentOptions = {},
  ) {
    super({ keepAlive: false, ...options });
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (error: Error | null, socket: Duplex) => void,
  ): Duplex | null | undefined {
    const host = options.host ?? 'localhost';
    const port = Number(options.port ?? 443);
    const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const auth = this.proxy.username
      ? `Basic ${Buffer.from(`${decodeURIComponent(this.proxy.username)}:${decodeURIComponent(this.proxy.password)}`).toString('base64')}`
      : undefined;
    const request = http.request({
      host: this.proxy.hostname.replace(/^\[|\]$/g, ''),
      port: defaultPort(this.proxy),
      method: 'CONNECT',
      path: authority,
      headers: { host: authority, ...(auth ? { 'proxy-authorization': auth } : {}) },
      agent: false,
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    });
    const fail = (error: Error) =>
      callback?.(
        new Error(`proxy ${proxyLabel(this.proxy)}: ${error.message}`, { cause: error }),
        undefined as unknown as Duplex,
      );
    request.once('timeout', () => request.destroy(new Error('no answer to CONNECT in time')));
    request.once('error', fail);
    request.once('connect', (response, socket) => {
      if (response.statusCode !== 200) {
        socket.destroy();
        fail(new Error(`CONNECT ${authority} refused with HTTP ${response.statusCode ?? 0}`));
        return;
      }
      this.tunnels++;
      const given = (options as tls.ConnectionOptions).servername;
      const servername = given ?? (/^[\d.]+$|:/.test(host) ? undefined : host);
      const secure = tls.connect({
        ...(options as tls.ConnectionOptions),
        socket,
        ...(servername ? { servername } : {}),
      });
      callback?.(null, secure);
    });
    request.end();
    return undefined;
  }
}

/**
 * How to send a request to `url` given the environment: `agent` for HTTPS through a tunnel, or
 * `viaProxy` for plain HTTP (the request goes to the proxy with the absolute URL as its path).
 * Undefined for a direct connection.
 */
export function proxyRouteFor(
  url: URL,
  env: NodeJS.ProcessEnv,
  tlsOptions: https.AgentOptions = {},
):
  { readonly proxy: URL; readonly agent?: https.Agent; readonly viaProxy?: http.RequestOptions } | undefined {
  const proxy = proxyFor(url, env);
  if (!proxy) return undefined;
  if (url.protocol === 'https:') return { proxy, agent: new ProxyTunnelAgent(proxy, tlsOptions) };
  const auth = proxy.username
    ? `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`
    : undefined;
  return {
    proxy,
    viaProxy: {
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: defaultPort(proxy),
      path: url.href,
      headers: { host: url.host, ...(auth ? { 'proxy-authorization': auth } : {}) },
    },
  };
}
