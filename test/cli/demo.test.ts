import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../lambda/cli/program';
import type { CliContext } from '../../lambda/cli/context';

// The `npm start` demonstration, run in-process: real TLS host processes on loopback, a real cycle.
describe('the local demonstration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certrotor-demo-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a non-empty directory it did not create, in one line, and touches nothing in it', async () => {
    const target = join(dir, 'precious');
    mkdirSync(target);
    writeFileSync(join(target, 'notes.txt'), 'keep me');
    const err: string[] = [];
    const ctx: CliContext = {
      out: () => undefined,
      err: (t) => err.push(t),
      env: {},
      cwd: dir,
      clock: () => new Date(),
      exitCode: 0,
    };

    const code = await runCli(['demo', '--dir', target], ctx);

    expect(code).toBe(1);
    expect(err).toEqual([
      `demo: --dir ${target} is not empty and was not created by certrotor demo; choose a new or empty directory`,
    ]);
    expect(readdirSync(target)).toEqual(['notes.txt']);
    expect(readFileSync(join(target, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  it('catches the expired certificate behind a live connection, rotates every host and exits 0', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const ctx: CliContext = {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      env: {},
      cwd: dir,
      clock: () => new Date(),
      exitCode: 0,
    };

    const code = await runCli(['demo', '--dir', join(dir, 'demo')], ctx);

    const text = out.join('\n');
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(text).toMatch(/long-lived connection still works: sent "ping", got "ping"/);
    expect(text).toMatch(/CRITICAL expired\s+internal-api expired/);
    expect(text).toMatch(/rotation internal-api v[0-9a-f]+: SUCCEEDED/);
    expect(text.match(/verified\s+\S+-files\//g)).toHaveLength(3);
    // The agent-managed host got the new certificate through its own agent process, verified.
    expect(text).toMatch(/verified\s+prod-worker-1-agent\/prod-worker-1/);
    expect(text).toMatch(/prod-worker-1\s+prod\s+internal-api\s+(\S+)\s+\1\s+\1\s+\S+\s+ok/);
    // The announced vendor rotation: delivered to the API hosts, the worker named before the deadline.
    expect(text).toContain('delivered new material to prod-api-1, prod-api-2');
    expect(text).toContain('NOT READY prod-worker-1');
    expect(text).not.toMatch(/^\s*failures/m);
    expect(text).not.toContain('PRIVATE KEY');
    const events = readFileSync(join(dir, 'demo', 'events.jsonl'), 'utf8');
    expect(events).toContain('"detailType":"Rotation Succeeded"');
    expect(events).toContain('"detailType":"Upstream Rotation Announced"');
    expect(events).toContain('"detailType":"Consumers Not Ready"');
    expect(events).not.toContain('PRIVATE KEY');
  });

  it('reports nothing twice when the cycle runs again', async () => {
    const out: string[] = [];
    const ctx: CliContext = {
      out: (t) => out.push(t),
      err: () => undefined,
      env: {},
      cwd: dir,
      clock: () => new Date(),
      exitCode: 0,
    };

    await runCli(['demo', '--dir', join(dir, 'demo2')], ctx);

    const second = out.join('\n').split('== 4.')[1] ?? '';
    expect(second).not.toMatch(/expired\s+internal-api/);
  });
});
