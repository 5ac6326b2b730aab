/**
 * An ACME issuer's `trustFile` in the deployed service: the path names a file on the synthesizing
 * machine, so the configuration each function carries holds the file's contents instead, and the
 * rotation-step Lambda's certificate spec verifies the endpoints against those roots (which is also
 * what the renewal guard checks a new chain against), exactly as the CLI's does from the file.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { validateConfig } from '../../lambda/config/configuration';
import { certificateSpec } from '../../lambda/config/views/certificates';
import { workflowSpec } from '../../lambda/handlers/support/runtime';
import { issuerTrust } from '../../lambda/wiring/trust';
import { CertRotorStack } from '../../lib/certrotor-stack';
import { buildCertificate } from '../builders/certificates';
import type { RawConfig } from '../builders/config';
import { useTempDirs } from '../support/temp-dir';
import { exampleConfiguration } from './support/stack';

const temp = useTempDirs();

function withAcmeTrust(trustFile: string): RawConfig {
  const configuration = exampleConfiguration() as RawConfig;
  configuration.issuers.push({
    name: 'public',
    kind: 'acme',
    directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory',
    challenge: { type: 'dns-01', route53: { hostedZoneId: 'Z0123456789ABC' } },
    trustFile,
  });
  configuration.certificates[0]!.issuer = 'public';
  return configuration;
}

function synthesize(configuration: RawConfig): { app: App; stack: CertRotorStack } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CertRotorStack(app, 'CertRotor', { configuration, configurationName: 'acme.yaml' });
  return { app, stack };
}

describe("an ACME issuer's trustFile in the deployed service", () => {
  it("carries the file's roots to the functions, whose rotation verifies the endpoints against them as the CLI does", async () => {
    const dir = await temp.make('bundled-trust');
    const root = (await buildCertificate({ commonName: 'Consumers Root', isCA: true, daysLeft: 300 }))
      .certificatePem;
    const trustFile = join(dir, 'consumers-trust.pem');
    writeFileSync(trustFile, root);
    const configuration = withAcmeTrust(trustFile);
    const name = configuration.certificates[0]!.name as string;

    const { app, stack } = synthesize(configuration);

    // What every function bundle carries (lib/constructs/job-functions.ts writeBundledConfig).
    const bundled = readdirSync(join(app.outdir, '.certrotor'))
      .filter((f) => /^config-.*\.json$/.test(f))
      .map((f) => readFileSync(join(app.outdir, '.certrotor', f), 'utf8'));
    expect(bundled).toHaveLength(1);
    expect(bundled[0]).not.toContain(trustFile);
    const deployed = validateConfig(JSON.parse(bundled[0]!) as unknown, 'bundled.json', { backend: 'aws' });
    expect(stack.certrotor.config.issuers.find((i) => i.name === 'public')).toMatchObject({
      trustFile: root,
    });
    const inLambda = workflowSpec(deployed, name);
    expect(inLambda.verify.length).toBeGreaterThan(0);
    for (const endpoint of inLambda.verify) expect(endpoint.caPem).toEqual([root]);
    // The CLI reads the same roots from the file itself.
    const cli = validateConfig(configuration, 'acme.yaml', { backend: 'aws' });
    expect(certificateSpec(cli, name, { trustFor: issuerTrust(cli) }).verify.map((v) => v.caPem)).toEqual(
      inLambda.verify.map((v) => v.caPem),
    );
  });

  it('refuses to synthesize when the trustFile cannot be read, naming the issuer and the file', async () => {
    const missing = join(await temp.make('bundled-trust-missing'), 'nowhere.pem');

    expect(() => synthesize(withAcmeTrust(missing))).toThrow(
      new RegExp(`issuers\\.public\\.trustFile: cannot read ${missing.replace(/[.]/g, '\\.')}`),
    );
  });
});
