/**
 * `certrotor report`: the fleet as one self-contained HTML page (no network needed to view it), from
 * the recorded state; `--serve` serves it live on loopback, rebuilt from the state on every load.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseDuration, DAY_MS } from '../domain/duration';
import { InvalidInputError, describeError } from '../domain/errors';
import { type FleetReport, buildFleetReport } from '../use-cases/fleet-report';
import { fleetReportSettings } from '../wiring/upstreams';
import { withConfigOption } from './config-option';
import type { CliContext } from './context';
import type { Runtime } from './local-runtime';
import { renderReportHtml } from '../adapters/report/fleet-report-html';
import { type BackendOptions, runtimeFor, withBackendOptions } from './runtime-option';

interface ReportOptions extends BackendOptions {
  readonly out?: string;
  readonly serve?: boolean;
  readonly port?: string;
  readonly horizon: string;
}

export const DEFAULT_REPORT_FILE = 'certrotor-report.html';

/** The report as of `now` from the runtime's state and configuration. */
export function buildReport(runtime: Runtime, now: Date, horizonDays?: number): Promise<FleetReport> {
  return fleetReportSettings(runtime.config, runtime.destinations).then((settings) =>
    buildFleetReport({ state: runtime.state }, settings, now, horizonDays),
  );
}

export interface ReportServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Serves the report on 127.0.0.1 (a free port unless `port` is given): `/` is the page, rebuilt from
 * the state on every request; anything else is 404. Loopback only: the report names every host.
 */
export async function serveReport(render: () => Promise<string>, port = 0): Promise<ReportServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path !== '/' && path !== '/index.html') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    render().then(
      (html) => {
        response
          .writeHead(200, {
            'content-type': 'text/html; charset=utf-8',
            'cache-control': 'no-store',
            'x-content-type-options': 'nosniff',
          })
          .end(request.method === 'HEAD' ? undefined : html);
      },
      (error: unknown) => {
        response
          .writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
          .end(`certrotor report: ${describeError(error)}\n`);
      },
    );
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/`,
    server,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

export function registerReportCommand(program: Command, ctx: CliContext): void {
  withBackendOptions(
    withConfigOption(
      program
        .command('report')
        .description(
          'Write the fleet report: one HTML file (expiry calendar, fleet table, upstream windows, hosts, rotations).',
        )
        .option('--out <file>', `where to write it ("-" for stdout; default ./${DEFAULT_REPORT_FILE})`)
        .option('--serve', 'serve it live on http://127.0.0.1 (rebuilt on every load) until interrupted')
        .option('--port <port>', 'port for --serve (default: a free one)')
        .option('--horizon <duration>', 'how far ahead the calendar and timeline look', '120d'),
    ),
  ).action(async (options: ReportOptions) => {
    const horizonMs = parseDuration(options.horizon, '--horizon');
    const horizonDays = Math.max(1, Math.round(horizonMs / DAY_MS));
    const port = options.port === undefined ? 0 : Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new InvalidInputError(`--port ${options.port}: must be 0-65535`);
    if (options.serve && options.out !== undefined)
      throw new InvalidInputError('--serve and --out: choose one (the served page is the same report)');
    const runtime = await runtimeFor(ctx, { ...options, json: true });
    const render = async () => renderReportHtml(await buildReport(runtime, ctx.clock(), horizonDays));
    if (options.serve) {
      const served = await serveReport(render, port);
      ctx.out(`serving the fleet report on ${served.url} (Ctrl-C to stop)`);
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void served.close().then(done);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      return;
    }
    const html = await render();
    if (options.out === '-') {
      (ctx.data ?? ctx.out)(html.replace(/\n$/, ''));
      return;
    }
    const file = resolve(ctx.cwd, options.out ?? DEFAULT_REPORT_FILE);
    await writeFile(file, html);
    ctx.out(
      `wrote ${relative(ctx.cwd, file) || file} (${Math.ceil(html.length / 1024)} KiB; open it in a browser)`,
    );
  });
}
