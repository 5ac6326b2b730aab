import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfigFile, parseConfigText } from '../../../lambda/adapters/local/config-file';
import { ConfigurationError, InvalidInputError } from '../../../lambda/domain/errors';
import { buildConfig } from '../../builders/config';
import { useTempDirs } from '../../support/temp-dir';

const temp = useTempDirs();

async function writeConfig(name: string, text: string): Promise<string> {
  const dir = await temp.make('config');
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('loadConfigFile', () => {
  it('loads YAML and resolves relative paths against the file’s directory', async () => {
    // Prepare
    const path = await writeConfig(
      'certrotor.yaml',
      stringify(
        buildConfig(
          (c) => (c.local = { stateDirectory: 'state', events: { jsonlFile: 'out/events.jsonl' } }),
        ),
      ),
    );
    const dir = join(path, '..');

    // Act
    const config = await loadConfigFile(path);

    // Assess
    expect(config.local.stateDirectory).toBe(join(dir, 'state'));
    expect(config.local.events.jsonlFile).toBe(join(dir, 'out/events.jsonl'));
    expect(config.destinations[0]).toMatchObject({ kind: 'files', directory: join(dir, 'tls/web') });
  });

  it('loads JSON', async () => {
    // Prepare
    const path = await writeConfig('certrotor.json', JSON.stringify(buildConfig(), null, 2));

    // Act
    const config = await loadConfigFile(path);

    // Assess
    expect(config.certificates.map((c) => c.name)).toEqual(['api', 'vendor-client']);
  });

  it('keeps absolute paths as they are', async () => {
    // Prepare
    const path = await writeConfig(
      'c.yaml',
      stringify(buildConfig((c) => (c.local = { stateDirectory: '/var/lib/certrotor' }))),
    );

    // Act
    const config = await loadConfigFile(path);

    // Assess
    expect(config.local.stateDirectory).toBe('/var/lib/certrotor');
  });

  it('names a missing file in one line', async () => {
    // Act
    const error = await rejectionOf(loadConfigFile('/nonexistent/certrotor.yaml'));

    // Assess
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toBe(
      '/nonexistent/certrotor.yaml: cannot read the configuration file: no such file',
    );
  });

  it('names a directory given instead of a file', async () => {
    // Prepare
    const dir = await temp.make('dir');
    await mkdir(join(dir, 'certrotor.yaml'));

    // Act
    const error = await rejectionOf(loadConfigFile(join(dir, 'certrotor.yaml')));

    // Assess
    expect(error.message).toMatch(
      /certrotor\.yaml: cannot read the configuration file: is a directory, not a file$/,
    );
  });

  it('gives the line and column of a YAML syntax error in one line', async () => {
    // Prepare
    const path = await writeConfig(
      'bad.yaml',
      'version: 1\nenvironments:\n  - name: prod\n    bad: [unclosed\n',
    );

    // Act
    const error = await rejectionOf(loadConfigFile(path));

    // Assess
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toMatch(
      new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: not valid YAML or JSON: `),
    );
    expect(error.message).not.toContain('\n');
  });

  it('rejects a key given twice instead of keeping the last one', async () => {
    // Prepare
    const path = await writeConfig('dup.yaml', 'version: 1\nversion: 1\nenvironments: [{ name: prod }]\n');

    // Act
    const error = await rejectionOf(loadConfigFile(path));

    // Assess
    expect(error.message).toMatch(/dup\.yaml:2:1: not valid YAML or JSON: Map keys must be unique/);
  });

  it('says an empty file is empty', async () => {
    // Prepare
    const path = await writeConfig('empty.yaml', '\n# nothing here\n');

    // Act
    const error = await rejectionOf(loadConfigFile(path));

    // Assess
    expect(error.message).toBe(`${path}: the configuration file is empty`);
  });

  it('reports every validation problem with the file name', async () => {
    // Prepare
    const path = await writeConfig(
      'certrotor.yaml',
      stringify(
        buildConfig((c) => {
          c.certificates[0].issuer = 'nope';
          c.upstreams[0].endpoints[0].port = 0;
        }),
      ),
    );

    // Act
    const error = await rejectionOf(loadConfigFile(path));

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).source).toBe(path);
    // Each problem names where it is in the file (path:line:column), then its configuration path.
    expect((error as ConfigurationError).problems).toEqual([
      expect.stringMatching(
        /^\S+certrotor\.yaml:\d+:\d+: certificates\[0\]\.issuer: issuer "nope" is not defined \(defined: local, vendor\)$/,
      ),
      expect.stringMatching(
        /^\S+certrotor\.yaml:\d+:\d+: upstreams\[0\]\.endpoints\[0\]\.port: must be 1-65535$/,
      ),
    ]);
  });
});

describe('parseConfigText', () => {
  it('parses YAML anchors but refuses an alias bomb', () => {
    // Prepare
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from({ length: 12 }, (_, i) => {
        const prev = i === 0 ? 'a' : `l${i - 1}`;
        return `l${i}: &l${i} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`;
      }),
    ].join('\n');

    // Act
    const act = () => parseConfigText(bomb, 'bomb.yaml');

    // Assess
    expect(act).toThrow(/bomb\.yaml: /);
  });
});

describe('command paths in a files destination', () => {
  it('resolves a relative program path against the configuration file and leaves PATH lookups alone', async () => {
    // Prepare
    const config = (reloadCommand: string | string[]) =>
      stringify(
        buildConfig((c) => {
          c.destinations[0].reloadCommand = reloadCommand;
        }),
      );
    const list = await writeConfig('list.yaml', config(['./bin/reload.sh', '--graceful']));
    const shell = await writeConfig('shell.yaml', config('scripts/reload.sh && echo done'));
    const bare = await writeConfig('bare.yaml', config(['nginx', '-s', 'reload']));

    // Act
    const reloadOf = async (path: string) => {
      const d = (await loadConfigFile(path)).destinations[0]!;
      return d.kind === 'files' ? d.reloadCommand : undefined;
    };

    // Assess
    expect(await reloadOf(list)).toEqual([join(list, '..', 'bin', 'reload.sh'), '--graceful']);
    expect(await reloadOf(shell)).toBe(`${join(shell, '..', 'scripts', 'reload.sh')} && echo done`);
    expect(await reloadOf(bare)).toEqual(['nginx', '-s', 'reload']);
  });
});
