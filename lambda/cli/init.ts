/**
 * `certrotor init`: writes a small, commented configuration for the user's case that validates and
 * runs as written. On a terminal without --template it asks (node:readline); otherwise it takes
 * flags: `--template local|aws|upstream`, `--dir`, `--force`, and the template's few settings.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { parseDocument } from 'yaml';
import { checkConfig } from '../config/configuration';
import { InvalidInputError } from '../domain/errors';
import { DEFAULT_CONFIG_FILE } from './config-option';
import type { CliContext } from './context';
import { parseEndpoint } from './inspect';

export const TEMPLATES = ['local', 'aws', 'upstream'] as const;
export type Template = (typeof TEMPLATES)[number];

export interface InitAnswers {
  readonly template: Template;
  /** host:port to watch (local: the service using the certificate; upstream: the vendor's API). */
  readonly endpoint: string;
  /** AWS region (aws template). */
  readonly region: string;
  /** Name of the certificate, the environment and the upstream. */
  readonly name: string;
}

const DEFAULTS: Record<Template, Omit<InitAnswers, 'template'>> = {
  local: { endpoint: '127.0.0.1:8443', region: 'eu-west-1', name: 'app' },
  aws: { endpoint: 'app.example.com:443', region: 'eu-west-1', name: 'app' },
  upstream: { endpoint: 'api.vendor.example:443', region: 'eu-west-1', name: 'vendor' },
};

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The configuration text for `answers`: commented YAML the user can grow from. */
export function renderTemplate(answers: InitAnswers): string {
  const endpoint = parseEndpoint(answers.endpoint);
  if (!endpoint) throw new InvalidInputError(`--endpoint ${answers.endpoint}: expected host:port`);
  if (!NAME.test(answers.name))
    throw new InvalidInputError(
      `--name ${answers.name}: expected lower-case letters, digits and dashes (at most 63)`,
    );
  const { host, port } = endpoint;
  const n = answers.name;
  const header = [
    '# yaml-language-server: $schema=https://certrotor.dev/schemas/config.schema.json',
    `# Written by \`certrotor init --template ${answers.template}\`. Check it with \`certrotor config validate\`,`,
    '# then run one cycle with `certrotor run`. Every section is in docs/configuration.md; relative',
    "# paths are relative to this file's directory. Durations are text: 90d, 12h, 30m.",
    '',
    'version: 1',
  ];
  switch (answers.template) {
    case 'local':
      return [
        ...header,
        'backend: local # state, keys and events live in local.stateDirectory',
        '',
        'environments:',
        '  - name: local',
        '',
        '# A certificate authority of our own, created on first use in the state directory.',
        'issuers:',
        '  - name: local-ca',
        '    kind: local-ca',
        '',
        '# Where new certificates are written (cert.pem, chain.pem, fullchain.pem, key.pem).',
        'destinations:',
        `  - name: ${n}-files`,
        '    kind: files',
        '    environment: local',
        `    directory: tls/${n}`,
        '    # reloadCommand: [/usr/sbin/nginx, -s, reload] # run after each delivery',
        '',
        '# The certificate certrotor issues, renews and delivers.',
        'certificates:',
        `  - name: ${n}`,
        `    commonName: ${n}.localhost`,
        `    dnsNames: [${n}.localhost, localhost]`,
        '    issuer: local-ca',
        `    destinations: [${n}-files]`,
        '    validity: 30d',
        '    renewal:',
        '      renewBefore: 10d # renewed by `certrotor run` once this close to expiry',
        '',
        '# A TLS endpoint to watch: each scan makes a fresh handshake and reports what it serves.',
        'endpoints:',
        `  - name: ${n}`,
        '    environment: local',
        `    host: ${host.includes(':') ? `'${host}'` : host}`,
        `    port: ${port}`,
        '',
        'local:',
        '  stateDirectory: .certrotor',
        '',
      ].join('\n');
    case 'aws':
      return [
        ...header,
        'backend: aws # the CLI reads and writes the deployed state table (credentials as for the AWS CLI)',
        '',
        'environments:',
        '  - name: prod',
        '    aws:',
        `      regions: [${answers.region}]`,
        '',
        '# Inventory: every certificate in ACM, and secrets tagged certrotor:certificate.',
        'sources:',
        '  - name: acm',
        '    kind: acm',
        '    environment: prod',
        `    region: ${answers.region}`,
        '  - name: tagged-secrets',
        '    kind: secrets-manager',
        '    environment: prod',
        `    region: ${answers.region}`,
        '',
        '# A public endpoint to watch with a fresh handshake on every scan.',
        'endpoints:',
        `  - name: ${n}`,
        '    environment: prod',
        `    host: ${host}`,
        `    port: ${port}`,
        '',
        'notifications:',
        '  channels:',
        '    - name: alerts',
        '      kind: slack',
        '      webhook:',
        '        env: SLACK_WEBHOOK_URL # the URL itself is never written here',
        '',
        'aws:',
        `  region: ${answers.region}`,
        '  # tableName: certrotor-state # the deployed stack prints it',
        '',
      ].join('\n');
    case 'upstream':
      return [
        ...header,
        'backend: local',
        '',
        'environments:',
        '  - name: prod',
        '',
        '# A vendor service we connect to: its certificate rotates on its schedule. Record an',
        '# announced rotation with `certrotor upstream announce`, follow it with `certrotor upstream status`.',
        'upstreams:',
        `  - name: ${n}`,
        `    description: ${n} API`,
        '    endpoints:',
        `      - host: ${host}`,
        `        port: ${port}`,
        '        environment: prod',
        '    # trust:',
        '    #   caBundleFile: vendor-ca.pem # what our consumers trust for it (default: the system store)',
        '    # consumers: { hosts: [...], fleets: [...] } # who must be ready before a cutover',
        '',
        'local:',
        '  stateDirectory: .certrotor',
        '',
      ].join('\n');
  }
}

export interface InitOptions {
  readonly template?: string;
  readonly dir?: string;
  readonly force?: boolean;
  readonly endpoint?: string;
  readonly region?: string;
  readonly name?: string;
}

export function registerInitCommand(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description('Write a small configuration for your case (asks on a terminal; flags otherwise).')
    .option(
      '--template <local|aws|upstream>',
      'local CA + files + one endpoint; AWS inventory; a vendor upstream',
    )
    .option('--dir <dir>', `where to write ${DEFAULT_CONFIG_FILE} (default: the current directory)`)
    .option('--force', `overwrite an existing ${DEFAULT_CONFIG_FILE}`)
    .option('--endpoint <host:port>', 'the endpoint to watch (default depends on the template)')
    .option('--region <region>', 'AWS region (aws template)', undefined)
    .option('--name <name>', 'name of the certificate / upstream (default: app, or vendor)')
    .action(async (options: InitOptions) => {
      await initCommand(ctx, options);
    });
}

async function initCommand(ctx: CliContext, options: InitOptions): Promise<void> {
  const interactive = options.template === undefined && ctx.input?.isTTY === true;
  const answers: InitAnswers & { dir?: string } = interactive ? await ask(ctx, options) : fromFlags(options);
  const dir = resolve(ctx.cwd, (interactive ? answers.dir : options.dir) ?? '.');
  const file = join(dir, DEFAULT_CONFIG_FILE);
  if (existsSync(file) && !options.force)
    throw new InvalidInputError(`${file}: already exists; pass --force to overwrite it`);
  const text = renderTemplate(answers);
  // Never write a file that would not validate.
  const check = checkConfig(parseDocument(text).toJS());
  if (!check.ok)
    throw new InvalidInputError(
      `init: the ${answers.template} template does not validate: ${check.problems[0]}`,
    );
  await mkdir(dir, { recursive: true });
  await writeFile(file, text, { mode: 0o644 });
  const shown = relative(ctx.cwd, file) || file;
  const flag = shown === DEFAULT_CONFIG_FILE ? '' : ` --config ${shown}`;
  ctx.out(`wrote ${shown} (template ${answers.template})`);
  ctx.out('next:');
  ctx.out(`  certrotor config validate${flag}`);
  if (answers.template === 'aws')
    ctx.out(`  certrotor scan${flag}          # with AWS credentials for ${answers.region}`);
  else
    ctx.out(
      `  certrotor run${flag}          # one cycle: scan${answers.template === 'local' ? ', issue and deliver' : ''}`,
    );
  ctx.out(`  certrotor status${flag}`);
}

function template(value: string | undefined): Template {
  const chosen = value ?? 'local';
  if (!(TEMPLATES as readonly string[]).includes(chosen))
    throw new InvalidInputError(`--template ${chosen}: expected one of ${TEMPLATES.join(', ')}`);
  return chosen as Template;
}

function fromFlags(options: InitOptions): InitAnswers {
  const t = template(options.template);
  return {
    template: t,
    endpoint: options.endpoint ?? DEFAULTS[t].endpoint,
    region: options.region ?? DEFAULTS[t].region,
    name: options.name ?? DEFAULTS[t].name,
  };
}

/** Asks on the terminal, one question a line, the default in brackets (Enter keeps it). */
async function ask(ctx: CliContext, options: InitOptions): Promise<InitAnswers & { dir: string }> {
  const lines = createInterface({ input: ctx.input!, terminal: false });
  const pending: string[] = [];
  const waiting: ((line: string | undefined) => void)[] = [];
  let closed = false;
  lines.on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else pending.push(line);
  });
  lines.on('close', () => {
    closed = true;
    for (const next of waiting.splice(0)) next(undefined);
  });
  const question = async (text: string, fallback: string): Promise<string> => {
    (ctx.prompt ?? ctx.out)(`${text} [${fallback}]: `);
    const line =
      pending.length > 0
        ? pending.shift()
        : closed
          ? undefined
          : await new Promise<string | undefined>((r) => waiting.push(r));
    const answer = (line ?? '').trim();
    return answer === '' ? fallback : answer;
  };
  try {
    const t = template(await question('Template: local (CA + files + endpoint), aws, or upstream', 'local'));
    const d = DEFAULTS[t];
    const endpoint = await question(
      t === 'upstream' ? "The vendor's endpoint (host:port)" : 'An endpoint to watch (host:port)',
      options.endpoint ?? d.endpoint,
    );
    const region = t === 'aws' ? await question('AWS region', options.region ?? d.region) : d.region;
    const name = await question(
      t === 'upstream' ? 'Upstream name' : 'Certificate name',
      options.name ?? d.name,
    );
    const dir = await question(`Directory for ${DEFAULT_CONFIG_FILE}`, options.dir ?? '.');
    return { template: t, endpoint, region, name, dir };
  } finally {
    lines.close();
  }
}
