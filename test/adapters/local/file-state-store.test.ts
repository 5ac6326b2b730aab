import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { encodeName, FileStateStore } from '../../../lambda/adapters/local/file-state-store';
import { OperationError } from '../../../lambda/domain/errors';
import { describeStateStoreContract } from '../../contracts/state-store-contract';
import { bundleForChildProcess } from '../../support/bundle-module';
import { useTempDirs } from '../../support/temp-dir';

const temp = useTempDirs();
const now = new Date('2026-03-01T12:00:00.000Z');

describeStateStoreContract('file state store', async () => ({
  store: new FileStateStore({ directory: await temp.make('state') }),
}));

describe('file state store on disk', () => {
  it('keeps one JSON document per item under its collection, readable by a person', async () => {
    const directory = await temp.make('state');
    const store = new FileStateStore({ directory });

    await store.put('alerts', 'api.internal:30d', { sentAt: now.toISOString() }, now);

    const text = await readFile(join(directory, 'alerts', 'api.internal%3A30d.json'), 'utf8');
    expect(JSON.parse(text)).toEqual({
      id: 'api.internal:30d',
      revision: 1,
      updatedAt: now.toISOString(),
      value: { sentAt: now.toISOString() },
    });
  });

  it('creates its directories 0700 and its files 0600', async () => {
    const directory = join(await temp.make('state'), 'nested', 'store');
    const store = new FileStateStore({ directory });

    await store.put('certificates', 'api', { v: 1 }, now);

    expect((await stat(directory)).mode & 0o777).toBe(0o700);
    expect((await stat(join(directory, 'certificates'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(directory, 'certificates', 'api.json'))).mode & 0o777).toBe(0o600);
  });

  it('leaves no temporary or lock file behind after writes and deletes', async () => {
    const directory = await temp.make('state');
    const store = new FileStateStore({ directory });

    await store.put('locks', 'a', { n: 1 }, now);
    await store.put('locks', 'b', { n: 1 }, now);
    await store.put('locks', 'a', { n: 2 }, now);
    await store.delete('locks', 'b');

    expect(await readdir(join(directory, 'locks'))).toEqual(['a.json']);
  });

  it('ignores temporary files a crash left mid-write, whole or truncated, and keeps the last complete value', async () => {
    const directory = await temp.make('state');
    const store = new FileStateStore({ directory });
    await store.put('certificates', 'api', { current: 'v1' }, now);
    const collectionDir = join(directory, 'certificates');
    // What a crash between "write temp" and "rename" leaves: a whole temp and a torn one.
    await writeFile(
      join(collectionDir, '.api.json.4242.aaaaaa.tmp'),
      JSON.stringify({ id: 'api', revision: 2, updatedAt: now.toISOString(), value: { current: 'v2' } }),
    );
    await writeFile(join(collectionDir, '.api.json.4243.bbbbbb.tmp'), '{"id":"api","revision":3,"val');
    await writeFile(join(collectionDir, '.other.json.4244.cccccc.tmp'), '{"id":"oth');

    const read = await store.get('certificates', 'api', now);
    const listed = await store.list('certificates', now);
    const next = await store.put('certificates', 'api', { current: 'v2' }, now, { expectedRevision: 1 });

    expect(read?.value).toEqual({ current: 'v1' });
    expect(listed.map((i) => [i.id, i.revision])).toEqual([['api', 1]]);
    expect(next.revision).toBe(2);
  });

  it('names the file when a stored document was damaged from outside', async () => {
    const directory = await temp.make('state');
    const store = new FileStateStore({ directory });
    await mkdir(join(directory, 'hosts'), { recursive: true });
    await writeFile(join(directory, 'hosts', 'h1.json'), '{"id": "h1", "revi');

    const read = store.get('hosts', 'h1', now);

    await expect(read).rejects.toBeInstanceOf(OperationError);
    await expect(read).rejects.toThrow(join(directory, 'hosts', 'h1.json'));
  });

  it('takes over a lock file left by a process that no longer exists', async () => {
    const directory = await temp.make('state');
    const store = new FileStateStore({ directory, lock: { timeoutMs: 2000 } });
    await mkdir(join(directory, 'locks'), { recursive: true });
    const deadPid = await pidOfExitedProcess();
    await writeFile(
      join(directory, 'locks', 'rotation.lock'),
      JSON.stringify({ pid: deadPid, host: (await import('node:os')).hostname(), token: 'crashed' }),
    );

    const item = await store.put('locks', 'rotation', { owner: 'me' }, now, { ifAbsent: true });

    expect(item.revision).toBe(1);
    expect(await readdir(join(directory, 'locks'))).toEqual(['rotation.json']);
  });

  it('takes over a lock file older than the stale age whatever its owner says', async () => {
    const directory = await temp.make('state');
    const store = new FileStateStore({ directory, lock: { timeoutMs: 2000, staleMs: 60_000 } });
    await mkdir(join(directory, 'locks'), { recursive: true });
    const lockPath = join(directory, 'locks', 'rotation.lock');
    await writeFile(lockPath, JSON.stringify({ pid: process.pid, host: 'elsewhere', token: 'old' }));
    const longAgo = new Date(Date.now() - 10 * 60_000);
    await utimes(lockPath, longAgo, longAgo);

    const item = await store.put('locks', 'rotation', { owner: 'me' }, now);

    expect(item.revision).toBe(1);
  });

  it('waits for a live holder and then fails naming the lock and its holder', async () => {
    const directory = await temp.make('state');
    const store = new FileStateStore({ directory, lock: { timeoutMs: 100 } });
    await mkdir(join(directory, 'locks'), { recursive: true });
    const lockPath = join(directory, 'locks', 'rotation.lock');
    await writeFile(lockPath, JSON.stringify({ pid: process.pid, host: 'elsewhere', token: 'live' }));

    const write = store.put('locks', 'rotation', { owner: 'me' }, now);

    await expect(write).rejects.toThrow(
      `lock ${lockPath}: still held after 100 ms by process ${process.pid}`,
    );
    expect(await store.get('locks', 'rotation', now)).toBeUndefined();
  });

  it.each([
    ['keeps plain names', 'api-internal_1', 'api-internal_1'],
    ['keeps inner dots', 'api.internal', 'api.internal'],
    ['encodes a leading dot', '.hidden', '%2Ehidden'],
    ['encodes slashes and colons', 'prod/api:443', 'prod%2Fapi%3A443'],
    ['encodes a parent reference', '..', '%2E.'],
  ])('file names: %s', (_case, id, expected) => {
    expect(encodeName(id)).toBe(expected);
  });

  it('shortens very long ids to a bounded name that stays distinct', () => {
    const a = encodeName('é'.repeat(300));
    const b = encodeName('é'.repeat(299) + 'e');

    expect(a.length).toBeLessThanOrEqual(180);
    expect(a).not.toBe(b);
  });
});

describe('file state store shared by several processes', () => {
  it('lets exactly one process win each ifAbsent race and loses no unconditional write', async () => {
    const work = await temp.make('race');
    const directory = join(work, 'state');
    const bundle = bundleForChildProcess(
      resolve(__dirname, '../../../lambda/adapters/local/file-state-store.ts'),
      work,
    );
    const script = join(work, 'racer.cjs');
    await writeFile(script, RACER);
    const goFile = join(work, 'go');
    const processes = 4;
    const ids = 25;
    const increments = 15;

    const racers = Array.from({ length: processes }, (_, i) =>
      runRacer(script, [bundle, directory, String(ids), String(increments), `p${i}`, goFile]),
    );
    await Promise.all(racers.map((r) => r.ready));
    await writeFile(goFile, 'go');
    const results = await Promise.all(racers.map((r) => r.done));

    const winsPerId = new Map<number, number>();
    for (const { won } of results) for (const id of won) winsPerId.set(id, (winsPerId.get(id) ?? 0) + 1);
    expect([...winsPerId.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: ids }, (_, i) => i));
    expect([...winsPerId.values()].every((n) => n === 1)).toBe(true);
    const store = new FileStateStore({ directory });
    const counter = await store.get('counters', 'shared', now);
    expect(counter?.revision).toBe(processes * increments);
    for (let id = 0; id < ids; id++) {
      const lock = await store.get<{ owner: string }>('locks', `rotation-${id}`, now);
      const winner = results.find((r) => r.won.includes(id));
      expect(lock?.value.owner).toBe(winner?.owner);
    }
  });
});

const RACER = `
const { existsSync } = require('node:fs');
const [bundle, directory, idCount, increments, owner, goFile] = process.argv.slice(2);
const { FileStateStore } = require(bundle);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  const store = new FileStateStore({ directory, lock: { timeoutMs: 30000 } });
  const now = new Date('2026-03-01T12:00:00.000Z');
  process.stdout.write('ready\\n');
  while (!existsSync(goFile)) await sleep(2);
  const won = [];
  for (let i = 0; i < Number(idCount); i++) {
    try {
      await store.put('locks', 'rotation-' + i, { owner }, now, { ifAbsent: true });
      won.push(i);
    } catch (error) {
      if (error.name !== 'ConditionFailedError') throw error;
    }
  }
  for (let i = 0; i < Number(increments); i++) await store.put('counters', 'shared', { owner, i }, now);
  process.stdout.write(JSON.stringify({ owner, won }) + '\\n');
})().catch((error) => {
  process.stderr.write(String(error && error.stack || error));
  process.exit(1);
});
`;

interface RacerResult {
  readonly owner: string;
  readonly won: number[];
}

function runRacer(script: string, args: string[]): { ready: Promise<void>; done: Promise<RacerResult> } {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let signalReady: () => void = () => undefined;
  const ready = new Promise<void>((resolveReady) => (signalReady = resolveReady));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.startsWith('ready\n')) signalReady();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<RacerResult>((resolveDone, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      signalReady();
      if (code !== 0) return reject(new Error(`racer exited ${code}: ${stderr}`));
      const last = stdout.trim().split('\n').pop() ?? '';
      resolveDone(JSON.parse(last) as RacerResult);
    });
  });
  return { ready, done };
}

function pidOfExitedProcess(): Promise<number> {
  return new Promise((resolvePid, reject) => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolvePid(child.pid ?? 999_999));
  });
}
