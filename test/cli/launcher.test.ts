import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { useTempDirs } from '../support/temp-dir';

const run = promisify(execFile);
const temp = useTempDirs();
const LAUNCHER = join(__dirname, '../../bin/certrotor.js');

/**
 * A checkout in miniature: the real launcher, a bundle that says which build it is, one source file,
 * and a build script that writes a new bundle (standing in for esbuild).
 */
async function checkout(): Promise<string> {
  const root = await temp.make('launcher');
  await mkdir(join(root, 'bin'));
  await mkdir(join(root, 'dist'));
  await mkdir(join(root, 'lambda'));
  await mkdir(join(root, 'scripts'));
  await mkdir(join(root, 'node_modules', 'esbuild'), { recursive: true });
  await copyFile(LAUNCHER, join(root, 'bin', 'certrotor.js'));
  await writeFile(join(root, 'lambda', 'a.ts'), 'export const a = 1;\n');
  await writeFile(join(root, 'dist', 'certrotor.js'), "console.log('old build');\n");
  await writeFile(
    join(root, 'scripts', 'build-cli.mjs'),
    "import { writeFileSync } from 'node:fs';\nwriteFileSync('dist/certrotor.js', \"console.log('new build');\\n\");\n",
  );
  return root;
}

async function age(path: string, secondsAgo: number): Promise<void> {
  const at = new Date(Date.now() - secondsAgo * 1000);
  await utimes(path, at, at);
}

describe('the certrotor launcher', () => {
  it('runs the bundle as it is when it is newer than the sources', async () => {
    const root = await checkout();
    await age(join(root, 'lambda', 'a.ts'), 60);

    const result = await run(process.execPath, [join(root, 'bin', 'certrotor.js')], {
      env: { PATH: process.env.PATH },
    });

    expect(result.stdout).toBe('old build\n');
    expect(result.stderr).toBe('');
  });

  it('rebuilds a bundle older than the sources first, saying so on stderr', async () => {
    const root = await checkout();
    await age(join(root, 'dist', 'certrotor.js'), 60);

    const result = await run(process.execPath, [join(root, 'bin', 'certrotor.js')], {
      env: { PATH: process.env.PATH },
    });

    expect(result.stderr).toBe(
      'certrotor: the sources changed since the last build; rebuilding dist/ first\n',
    );
    expect(result.stdout).toBe('new build\n');
    expect(await readFile(join(root, 'dist', 'certrotor.js'), 'utf8')).toContain('new build');
  });

  it('only hints at the rebuild with CERTROTOR_NO_REBUILD=1', async () => {
    const root = await checkout();
    await age(join(root, 'dist', 'certrotor.js'), 60);

    const result = await run(process.execPath, [join(root, 'bin', 'certrotor.js')], {
      env: { PATH: process.env.PATH, CERTROTOR_NO_REBUILD: '1' },
    });

    expect(result.stdout).toBe('old build\n');
    expect(result.stderr).toBe(
      `certrotor: the sources changed since ${join(root, 'dist', 'certrotor.js')} was built; this runs the old build (rebuild: npm run build in ${root})\n`,
    );
  });
});
