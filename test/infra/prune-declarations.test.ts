/**
 * What `npm pack` ships as declarations (scripts/prune-declarations.mjs, run by build:lib after tsc):
 * only those the public entry reaches, and none that imports a package the consumer does not have.
 * Run as the command on declaration trees written to a temporary directory.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const script = join(__dirname, '..', '..', 'scripts', 'prune-declarations.mjs');

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await temp.make('declarations');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function prune(dir: string) {
  const result = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
  return { status: result.status, stderr: result.stderr };
}

const declarations = (dir: string) =>
  readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.d.ts'))
    .sort();

describe('the published declarations', () => {
  it('keep what the public entry reaches (imports, re-exports, import() types) and drop the rest', async () => {
    const dir = await tree({
      'index.js': '',
      'lib/index.d.ts': "export { A } from './a';\nexport type { B } from './constructs/b';\n",
      'lib/a.d.ts': "import { Stack } from 'aws-cdk-lib';\nexport declare class A extends Stack {}\n",
      'lib/constructs/b.d.ts':
        "import type { Construct } from 'constructs';\nexport type B = import('./c').C | Construct;\n",
      'lib/constructs/c.d.ts': "export type C = import('aws-cdk-lib/aws-sns').ITopic;\n",
      'lib/internal.d.ts': "import * as z from 'zod';\nexport declare const schema: z.ZodType;\n",
      'lambda/config/schema/document.d.ts': "import * as z from 'zod';\nexport declare const d: z.ZodType;\n",
    });

    expect(prune(dir)).toEqual({ status: 0, stderr: '' });
    expect(declarations(dir)).toEqual(
      ['lib/a.d.ts', 'lib/constructs/b.d.ts', 'lib/constructs/c.d.ts', 'lib/index.d.ts'].map((f) =>
        join(...f.split('/')),
      ),
    );
    expect(readdirSync(dir).sort()).toEqual(['index.js', 'lib']);
  });

  it('fail the build naming each reached declaration that imports a package other than the peer dependencies', async () => {
    const dir = await tree({
      'lib/index.d.ts': "export * from './certrotor';\n",
      'lib/certrotor.d.ts':
        "import type { CertrotorConfig } from '../lambda/config/configuration';\nexport interface P { c: CertrotorConfig }\n",
      'lambda/config/configuration.d.ts':
        "import * as z from 'zod';\nexport type CertrotorConfig = z.output<z.ZodObject>;\n",
    });

    const result = prune(dir);

    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'published declarations:',
      `  ${join('lambda', 'config', 'configuration.d.ts')} imports zod, which is not a peer dependency (keep it off the public surface: @internal)`,
    ]);
    // Nothing deleted on failure.
    expect(declarations(dir)).toHaveLength(3);
  });
});
