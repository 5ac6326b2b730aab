/**
 * The AWS API emulator (moto server) for the AWS adapter suites.
 *
 * Jest's global setup starts one moto server per Jest worker (each on a free loopback port) and
 * publishes their endpoints in environment variables; a suite calls `useMoto()` and builds its SDK
 * clients with `awsClientConfig(motoEndpoint())`. One server per worker because `/moto-api/reset`
 * wipes the whole server: suites running at the same time in two workers must not reset each other.
 *
 *   const moto = useMoto(); // resets this worker's emulator before the suite
 *   const client = new SecretsManagerClient(moto.clientConfig());
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { createServer, isIP } from 'node:net';
import { join } from 'node:path';

/** The endpoint of the emulator the current suite uses (set per worker by `useMoto`/global setup). */
export const MOTO_ENDPOINT_ENV = 'CERTROTOR_TEST_AWS_ENDPOINT';
/** Comma-separated endpoints, one per Jest worker, in worker order. */
export const MOTO_ENDPOINTS_ENV = 'CERTROTOR_TEST_AWS_ENDPOINTS';
/** moto's default account id: the account every ARN created in the emulator belongs to. */
export const MOTO_ACCOUNT_ID = '123456789012';
export const MOTO_REGION = 'us-east-1';

export const FAKE_CREDENTIALS = Object.freeze({
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'certrotor-test-fake-secret-access-key',
});

const ROOT = join(__dirname, '..', '..');
export const MOTO_SERVER_BIN = join(ROOT, '.venv', 'bin', 'moto_server');
const MISSING_VENV = 'run scripts/ensure-test-deps.sh (needs python3 with venv)';

export interface RunningMoto {
  readonly endpoint: string;
  readonly pid: number;
  /** Milliseconds from spawn until the server answered. */
  readonly startupMs: number;
  stop(): Promise<void>;
}

/** The SDK v3 client configuration for the emulator: loopback endpoint, fixed region, fake credentials. */
export interface EmulatorClientConfig {
  readonly region: string;
  readonly endpoint: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Throws unless `endpoint` is an http(s) URL on a loopback address: tests never talk to anything else. */
export function assertLoopbackEndpoint(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (error) {
    throw new Error(`AWS endpoint ${JSON.stringify(endpoint)} is not a URL`, { cause: error });
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const loopback =
    host === 'localhost' ||
    host === '::1' ||
    (isIP(host) === 4 && host.startsWith('127.')) ||
    /^::ffff:127\./i.test(host);
  if (!loopback || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new Error(
      `AWS endpoint ${endpoint} is not on loopback: tests only talk to the emulator on 127.0.0.1`,
    );
  }
  return url;
}

export function awsClientConfig(endpoint: string = motoEndpoint()): EmulatorClientConfig {
  assertLoopbackEndpoint(endpoint);
  return { region: MOTO_REGION, endpoint, credentials: { ...FAKE_CREDENTIALS } };
}

/** The emulator endpoint for this Jest worker. */
export function motoEndpoint(): string {
  const all = (process.env[MOTO_ENDPOINTS_ENV] ?? '').split(',').filter((e) => e.length > 0);
  let endpoint: string | undefined;
  if (all.length > 0) {
    const worker = Number.parseInt(process.env.JEST_WORKER_ID ?? '1', 10);
    endpoint = all[((Number.isFinite(worker) && worker > 0 ? worker : 1) - 1) % all.length];
  } else {
    endpoint = process.env[MOTO_ENDPOINT_ENV];
  }
  if (endpoint === undefined || endpoint === '') {
    throw new Error(
      `the AWS emulator is not running: ${MOTO_ENDPOINT_ENV} is unset (jest's global setup, test/support/global-setup.ts, starts it)`,
    );
  }
  assertLoopbackEndpoint(endpoint);
  return endpoint;
}

/** Wipes every resource in the emulator (all services, all accounts and regions). */
export async function resetMoto(endpoint: string = motoEndpoint()): Promise<void> {
  assertLoopbackEndpoint(endpoint);
  const response = await fetch(new URL('/moto-api/reset', endpoint), { method: 'POST' });
  if (!response.ok) {
    throw new Error(`POST ${endpoint}/moto-api/reset answered ${response.status}`);
  }
}

export interface MotoContext {
  readonly endpoint: string;
  clientConfig(): EmulatorClientConfig;
  reset(): Promise<void>;
}

/**
 * For a suite: resets this worker's emulator in `beforeAll`, so each suite starts with no resources.
 * Also points the SDK's `AWS_ENDPOINT_URL` at it, so a client built without an explicit endpoint
 * still cannot reach AWS.
 */
export function useMoto(): MotoContext {
  beforeAll(async () => {
    process.env.AWS_ENDPOINT_URL = motoEndpoint();
    await resetMoto();
  });
  return {
    get endpoint() {
      return motoEndpoint();
    },
    clientConfig: () => awsClientConfig(motoEndpoint()),
    reset: () => resetMoto(),
  };
}

/** Fake credentials and no instance metadata, so nothing in the test process can reach real AWS. */
export function isolateFromRealAws(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_ACCESS_KEY_ID = FAKE_CREDENTIALS.accessKeyId;
  env.AWS_SECRET_ACCESS_KEY = FAKE_CREDENTIALS.secretAccessKey;
  env.AWS_REGION = MOTO_REGION;
  env.AWS_DEFAULT_REGION = MOTO_REGION;
  env.AWS_EC2_METADATA_DISABLED = 'true';
  // No profile or shared file may supply real credentials or a real endpoint.
  delete env.AWS_SESSION_TOKEN;
  delete env.AWS_PROFILE;
  delete env.AWS_DEFAULT_PROFILE;
  env.AWS_CONFIG_FILE = join(ROOT, '.cache', 'no-aws-config');
  env.AWS_SHARED_CREDENTIALS_FILE = join(ROOT, '.cache', 'no-aws-credentials');
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface StartMotoOptions {
  /** Give up after this long. @default 30000 */
  readonly timeoutMs?: number;
  /** Where the server's request log goes; removed by a clean `stop()`. @default .cache/moto/server-<port>.log */
  readonly logFile?: string;
  /** A Python script run with the venv's python instead of moto_server (it adds what moto lacks). */
  readonly launcher?: string;
}

/** Starts `.venv/bin/moto_server` on a free loopback port and waits until it answers. */
export async function startMoto(options: StartMotoOptions = {}): Promise<RunningMoto> {
  if (!existsSync(MOTO_SERVER_BIN)) {
    throw new Error(`${MOTO_SERVER_BIN} is missing: ${MISSING_VENV}`);
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  let lastError = '';
  // A port found free can be taken before moto binds it; try a few.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freeLoopbackPort();
    const endpoint = `http://127.0.0.1:${port}`;
    const logDir = join(ROOT, '.cache', 'moto');
    mkdirSync(logDir, { recursive: true });
    const logFile = options.logFile ?? join(logDir, `server-${port}.log`);
    // A file, not a pipe: moto logs every request and a full pipe would stall it.
    const log = openSync(logFile, 'w');
    const started = Date.now();
    const serverArgs = ['-H', '127.0.0.1', '-p', String(port)];
    const [command, args] = options.launcher
      ? [join(ROOT, '.venv', 'bin', 'python'), [options.launcher, ...serverArgs]]
      : [MOTO_SERVER_BIN, serverArgs];
    const child = spawn(command, args, {
      stdio: ['ignore', log, log],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    closeSync(log);
    const killOnExit = (): void => {
      if (!exited(child)) child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);

    const ready = await waitUntilAnswering(endpoint, child, started + timeoutMs);
    if (ready === 'ready') {
      const startupMs = Date.now() - started;
      return {
        endpoint,
        pid: child.pid ?? -1,
        startupMs,
        stop: async () => {
          process.removeListener('exit', killOnExit);
          await stopChild(child);
          rmSync(logFile, { force: true });
        },
      };
    }
    process.removeListener('exit', killOnExit);
    await stopChild(child);
    lastError =
      ready === 'exited' ? `moto_server exited with ${child.exitCode ?? child.signalCode}` : 'timed out';
    if (ready === 'timeout') break;
    lastError += ` (log: ${logFile})`;
  }
  throw new Error(`could not start the AWS emulator (${MOTO_SERVER_BIN}): ${lastError}`);
}

async function waitUntilAnswering(
  endpoint: string,
  child: ChildProcess,
  deadline: number,
): Promise<'ready' | 'exited' | 'timeout'> {
  while (Date.now() < deadline) {
    if (exited(child)) return 'exited';
    try {
      const response = await fetch(new URL('/moto-api/', endpoint), { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.ok) return 'ready';
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return 'timeout';
}

export { MISSING_VENV as MOTO_MISSING_MESSAGE };
