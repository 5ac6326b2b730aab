import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { formatTable, truncate } from '../../lambda/cli/table';
import { useTempDirs } from '../support/temp-dir';

const header = ['ENVIRONMENT', 'WHERE', 'CERTIFICATE', 'STATE'];
const rows = [
  ['prod', 'api-1.prod.example.internal:443 (10.0.0.12)', 'internal-api', 'seen 2026-03-01T12:00:00.000Z'],
  ['staging', 'web.staging:8443', 'web', 'unreachable: connection refused after 3 attempts'],
];

describe('text tables', () => {
  it('print every cell whole without a width (a pipe, or --wide)', () => {
    const lines = formatTable(header, rows);

    expect(lines[1]).toContain('api-1.prod.example.internal:443 (10.0.0.12)');
    expect(lines[2]).toContain('unreachable: connection refused after 3 attempts');
    expect(Math.max(...lines.map((l) => l.length))).toBeGreaterThan(100);
  });

  it('fit a terminal by cutting the widest shrinkable columns, marked with …', () => {
    const lines = formatTable(header, rows, { maxWidth: 80, shrink: [1] });

    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines[1]).toBe(
      `prod${' '.repeat(9)}api-1.prod.example.inter…  internal-api  seen 2026-03-01T12:00:00.…`,
    );
    expect(lines[2]).toContain('unreachable: connection');
    expect(lines[2]).toMatch(/…$/);
  });

  it('never cut a column below ten characters or its header, even if the line stays too long', () => {
    const lines = formatTable(header, rows, { maxWidth: 20, shrink: [1] });

    expect(lines[1]!.split(/\s{2,}/)[1]).toBe('api-1.pro…');
    expect(truncate('abc', 3)).toBe('abc');
  });
});

describe('certrotor status on a terminal', () => {
  const temp = useTempDirs();

  async function status(cwd: string, columns: number | undefined, ...flags: string[]): Promise<string[]> {
    const out: string[] = [];
    const ctx: CliContext = {
      out: (text) => out.push(text),
      err: () => undefined,
      env: {},
      cwd,
      clock: () => new Date('2026-03-01T12:00:00Z'),
      exitCode: 0,
      ...(columns !== undefined ? { columns, stdoutIsTTY: true } : {}),
    };
    await runCli(['status', '--no-color', ...flags], ctx);
    return out;
  }

  it('fits the terminal width, and prints whole cells with --wide or into a pipe', async () => {
    const cwd = await temp.make('status-width');
    await runCli(
      ['init', '--template', 'local', '--endpoint', 'a-rather-long-host-name.staging.example.internal:8443'],
      {
        out: () => undefined,
        err: () => undefined,
        env: {},
        cwd,
        clock: () => new Date('2026-03-01T12:00:00Z'),
        exitCode: 0,
      },
    );

    const narrow = await status(cwd, 80);
    const wide = await status(cwd, 80, '--wide');
    const piped = await status(cwd, undefined);

    for (const line of narrow) expect(line.length).toBeLessThanOrEqual(80);
    expect(narrow.join('\n')).toContain('…');
    expect(wide).toEqual(piped);
    expect(Math.max(...wide.map((l) => l.length))).toBeGreaterThan(80);
  });
});
