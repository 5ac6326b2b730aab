import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateConfig } from '../../lambda/config/configuration';
import { upstreamSpecs } from '../../lambda/wiring/upstreams';
import { buildCa } from '../builders/certificates';
import { buildConfig } from '../builders/config';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();

describe('upstream specs for the CLI and the upstream-watch Lambda', () => {
  it('reads each trust bundle, and an unreadable one is a failure naming the setting while the others resolve', async () => {
    // Prepare
    const dir = await temp.make('upstreams');
    const bundle = join(dir, 'vendor-ca.pem');
    const ca = await buildCa();
    await writeFile(bundle, ca.certificatePem);
    const config = validateConfig(
      buildConfig((c) => {
        c.upstreams[0].trust = { caBundleFile: bundle };
        c.upstreams.push({
          name: 'billing',
          endpoints: [{ host: 'billing.example.net' }],
          trust: { caBundleFile: join(dir, 'missing.pem') },
        });
      }),
      'test',
    );

    // Act
    const { specs, failures } = await upstreamSpecs(config, new Map());

    // Assess
    expect(specs.map((s) => s.name)).toEqual(['payments']);
    expect(failures).toEqual([
      {
        what: 'upstream billing',
        error: expect.stringMatching(/^upstreams\.billing\.trust\.caBundleFile: .*ENOENT/),
      },
    ]);
  });
});
