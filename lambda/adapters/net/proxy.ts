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

function proxyAuthorization(proxy: URL): string | undefined {
  return proxy.username
    ? `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`
    : undefined;
}

/**
 * Opens a TCP tunnel to `host:port` through `proxy` with HTTP CONNECT; `callback` gets the raw
 * socket, or an error naming the proxy (without its credentials).
 */
export function openTunnel(
  proxy: URL,
  host: string,
  port: number,
  timeoutMs: number | undefined,
  callback: (error: Error | null, socket?: Duplex) => void,
): void {
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const auth = proxyAuthorization(proxy);
  const request = http.request({
    host: proxy.hostname.replace(/^\[|\]$/g, ''),
    port: defaultPort(proxy),
    method: 'CONNECT',
    path: authority,
    headers: { host: authority, ...(auth ? { 'proxy-authorization': auth } : {}) },
    agent: false,
    ...(timeoutMs !== undefined ? { timeout: timeoutMs } : {}),
  });
  let settled = false;
  const fail = (error: Error) => {
    if (settled) return;
    settled = true;
    callback(new Error(`proxy ${proxyLabel(proxy)}: ${error.message}`, { cause: error }));
  };
  request.once('timeout', () => request.destroy(new Error('no answer to CONNECT in time')));
  request.once('error', fail);
  request.once('connect', (response, socket) => {
    if (response.statusCode !== 200) {
      socket.destroy();
      fail(new Error(`CONNECT ${authority} refused with HTTP ${response.statusCode ?? 0}`));
      return;
    }
    settled = true;
    callback(null, socket);
  });
  request.end();
}

function tlsOverTunnel(socket: Duplex, options: tls.ConnectionOptions, host: string): tls.TLSSocket {
  const servername = options.servername ?? (/^[\d.]+$|:/.test(host) ? undefined : host);
  return tls.connect({ ...options, socket, ...(servername ? { servername } : {}) });
}

type ConnectionCallback = (error: Error | null, socket: Duplex) => void;

/**
 * The connection for one request of an agent: direct when no proxy applies to the target (the
 * agent's own `createConnection`), otherwise a CONNECT tunnel, with TLS on top for https.
 */
function connectVia(
  proxy: URL | undefined,
  options: https.RequestOptions,
  secure: boolean,
  direct: () => Duplex | null | undefined,
  callback: ConnectionCallback | undefined,
  onTunnel: () => void,
): Duplex | null | undefined {
  if (!proxy) return direct();
  const host = options.host ?? 'localhost';
  const port = Number(options.port ?? (secure ? 443 : 80));
  openTunnel(proxy, host, port, options.timeout, (error, socket) => {
    if (error || !socket) return callback?.(error, undefined as unknown as Duplex);
    onTunnel();
    callback?.(null, secure ? tlsOverTunnel(socket, options as tls.ConnectionOptions, host) : socket);
  });
  return undefined;
}

function targetUrl(scheme: 'http' | 'https', options: http.ClientRequestArgs): URL {
  const host = options.host ?? 'localhost';
  const port = options.port ?? (scheme === 'https' ? 443 : 80);
  return new URL(`${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`);
}

/**
 * An HTTPS agent that picks the route per connection from the environment, for clients that
 * resolve their own host names (the AWS SDK) as much as for one URL (a webhook): each connection's
 * host is checked against `NO_PROXY`, and the rest go through a CONNECT tunnel to `HTTPS_PROXY`,
 * then TLS to the target (certificate and host name verified as for a direct connection).
 */
export class EnvProxyHttpsAgent extends https.Agent {
  /** Tunnels opened, for tests and diagnostics. */
  tunnels = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    options: https.AgentOptions = {},
  ) {
    super(options);
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: ConnectionCallback,
  ): Duplex | null | undefined {
    const proxy = proxyFor(targetUrl('https', options), this.env);
    return connectVia(
      proxy,
      options,
      true,
      () => super.createConnection(options, callback),
      callback,
      () => {
        this.tunnels++;
      },
    );
  }
}

/**
 * The plain-HTTP counterpart of {@link EnvProxyHttpsAgent}, for SDK clients pointed at an `http://`
 * endpoint: tunnelled with CONNECT through `HTTP_PROXY` too, since the SDK cannot send the
 * absolute-form request a forward proxy expects.
 */
export class EnvProxyHttpAgent extends http.Agent {
  tunnels = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    options: http.AgentOptions = {},
  ) {
    super(options);
  }

  override createConnection(
    options: http.ClientRequestArgs,
    callback?: ConnectionCallback,
  ): Duplex | null | undefined {
    const proxy = proxyFor(targetUrl('http', options), this.env);
    return connectVia(
      proxy,
      options,
      false,
      () => super.createConnection(options, callback),
      callback,
      () => {
        this.tunnels++;
      },
    );
  }
}

/** Whether the environment names any proxy at all (then clients get the env-routing agents). */
export function hasProxyEnvironment(env: NodeJS.ProcessEnv): boolean {
  return envValue(env, 'https_proxy') !== undefined || envValue(env, 'http_proxy') !== undefined;
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
  if (url.protocol === 'https:')
    return { proxy, agent: new EnvProxyHttpsAgent(env, { keepAlive: false, ...tlsOptions }) };
  const auth = proxyAuthorization(proxy);
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
