import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDirectory, settleFileMode, writeFileAtomic } from '../../../lambda/adapters/local/atomic-file';
import { useTempDirs } from '../../support/temp-dir';

const temp = useTempDirs();
/** The module object the adapter calls through (an `import * as` namespace would be a copy). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fsPromises: typeof import('node:fs/promises') = require('node:fs/promises');

interface Moment {
  readonly step: string;
  readonly mode: number;
  readonly gid: number;
}

/** Records the temporary file's mode and group when it is created and when data goes in. */
function watchTemporaryFiles(): Moment[] {
  const moments: Moment[] = [];
  const realOpen = fsPromises.open;
  jest.spyOn(fsPromises, 'open').mockImplementation(async (...args: Parameters<typeof realOpen>) => {
    const handle = await realOpen(...args);
    if (!String(args[0]).endsWith('.tmp')) return handle;
    const record = async (step: string) => {
      const s = await handle.stat();
      moments.push({ step, mode: s.mode & 0o777, gid: s.gid });
    };
    await record('created');
    const realWrite = handle.writeFile.bind(handle);
    handle.writeFile = (async (...writeArgs: Parameters<typeof realWrite>) => {
      await record('data written');
      return realWrite(...writeArgs);
    }) as typeof handle.writeFile;
    return handle;
  });
  return moments;
}

afterEach(() => jest.restoreAllMocks());

describe('atomic file writes', () => {
  const gid = process.getuid?.() === 0 ? 33 : process.getgid!();

  it.each(['0600', '0640', '0440', '0644'])(
    'creates the file for its owner only and writes data only once mode %s and group are final',
    async (octal) => {
      const mode = Number.parseInt(octal, 8);
      // Prepare
      const dir = await temp.make('atomic');
      const moments = watchTemporaryFiles();

      // Act
      await writeFileAtomic(join(dir, 'tls.key'), 'secret', { mode, gid });

      // Assess
      expect(moments[0]!.step).toBe('created');
      expect(moments[0]!.mode & ~0o600).toBe(0);
      expect(moments[1]).toEqual({ step: 'data written', mode, gid });
      const s = await stat(join(dir, 'tls.key'));
      expect([s.mode & 0o777, s.gid]).toEqual([mode, gid]);
      expect(await readdir(dir)).toEqual(['tls.key']);
    },
  );

  it('changes mode and group in place without ever granting more than both modes allow', async () => {
    // Prepare
    const dir = await temp.make('atomic');
    const path = join(dir, 'tls.key');
    await writeFile(path, 'secret');
    await chmod(path, 0o604);
    const modes: number[] = [];
    const realChmod = fsPromises.chmod;
    jest.spyOn(fsPromises, 'chmod').mockImplementation(async (p, mode) => {
      modes.push(Number(mode));
      return realChmod(p, mode);
    });

    // Act
    const changed = await settleFileMode(path, { mode: 0o640, gid });
    const again = await settleFileMode(path, { mode: 0o640, gid });

    // Assess
    expect(modes).toEqual([0o600, 0o640]);
    expect([changed, again]).toEqual([true, false]);
    expect(await readFile(path, 'utf8')).toBe('secret');
  });

  it('creates a missing directory with its mode and leaves an existing one alone', async () => {
    // Prepare
    const root = await temp.make('atomic');
    const existing = join(root, 'tls');
    await fsPromises.mkdir(existing);
    await chmod(existing, 0o710);

    // Act
    await ensureDirectory(existing, 0o755);
    await ensureDirectory(join(root, 'new', 'tls'), 0o755);

    // Assess
    expect((await stat(existing)).mode & 0o777).toBe(0o710);
    expect((await stat(join(root, 'new', 'tls'))).mode & 0o777).toBe(0o755);
  });
});
