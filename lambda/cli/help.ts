/**
 * One style of help for every command: a description as one sentence, examples, and the exit codes.
 * Applied to the whole program once every command is registered, so the commands' own modules only
 * declare their options.
 */
import type { Command } from 'commander';

/** The exit codes every command uses (runCli maps commander's usage errors to 2). */
export const EXIT_CODES_HELP = [
  'Exit codes:',
  '  0  success: nothing failed',
  '  1  something failed or needs attention (each failure is named on stderr or in the summary),',
  '     or the input was wrong (one line on stderr names the input and the problem)',
  '  2  usage error: unknown command or option, missing argument',
].join('\n');

/** Examples per command path (`upstream announce`). Every command has at least one. */
const EXAMPLES: Record<string, readonly string[]> = {
  '': [
    'certrotor init --template local      # write ./certrotor.yaml for a local CA, files and one endpoint',
    'certrotor config validate',
    'certrotor run                        # one cycle: scan, rotate what is due, watch upstreams',
    'certrotor status',
    'certrotor report --out report.html',
  ],
  init: [
    'certrotor init                       # on a terminal: asks which template and where',
    'certrotor init --template local --dir ./certs',
    'certrotor init --template aws --force',
  ],
  completion: [
    'source <(certrotor completion bash)  # bash; add it to ~/.bashrc',
    'certrotor completion zsh > "${fpath[1]}/_certrotor"',
    'certrotor completion fish > ~/.config/fish/completions/certrotor.fish',
  ],
  report: [
    'certrotor report --out fleet.html',
    'certrotor report --serve             # live on http://127.0.0.1:<port>/ until Ctrl-C',
  ],
  inspect: [
    'certrotor inspect cert.pem',
    'certrotor inspect example.com:443 --timeout 5s',
    'certrotor inspect 127.0.0.1:8443 --servername api.internal --ca-file ca.pem --json',
  ],
  config: ['certrotor config validate --config ./certrotor.yaml'],
  'config validate': ['certrotor config validate', 'certrotor config validate --config prod.yaml --json'],
  scan: ['certrotor scan', 'certrotor scan --json | jq ".findings[] | .message"'],
  status: ['certrotor status', 'certrotor status --backend aws --region eu-west-1'],
  plan: ['certrotor plan', 'certrotor plan --horizon 60d --json'],
  rotate: ['certrotor rotate internal-api --dry-run', 'certrotor rotate internal-api'],
  run: ['certrotor run --dry-run', 'certrotor run                        # from cron or a systemd timer'],
  repair: ['certrotor repair internal-api'],
  silence: ['certrotor silence --scope environment=staging --until 4h --reason "INC-42: planned outage"'],
  demo: ['certrotor demo', 'certrotor demo --dir /tmp/certrotor-demo'],
  hosts: ['certrotor hosts', 'certrotor hosts --json'],
  agent: ['certrotor agent --host prod-worker-1', 'certrotor agent --host prod-worker-1 --once'],
  upstream: ['certrotor upstream status', 'certrotor upstream watch'],
  'upstream announce': [
    'certrotor upstream announce payments --window-start 2026-11-01T00:00:00Z --cutover 2026-11-15T00:00:00Z --new-ca new-ca.pem',
  ],
  'upstream import-client-cert': [
    'certrotor upstream import-client-cert payments --cert client.pem --key client.key',
  ],
  'upstream watch': ['certrotor upstream watch', 'certrotor upstream watch --json'],
  'upstream status': ['certrotor upstream status', 'certrotor upstream status payments --json'],
};

/** What a command does beyond its one-line description, where the line cannot say it all. */
const DETAILS: Record<string, string> = {
  run: [
    'One scheduled cycle, the same as the deployed service runs:',
    '  1. scan: probe every endpoint, read every source, record observations, report new findings',
    '  2. rotate every managed certificate whose renewal policy says it is due (make-before-break,',
    '     canary first, every host verified on a fresh TLS connection, rollback on failure)',
    '  3. watch upstreams: assess announced vendor rotations, deliver new material, report readiness',
    '  4. send Slack messages (channels whose webhook variable is set) and any digest that is due',
    'Safe to run often: a rotation already in progress elsewhere is not started twice.',
  ].join('\n'),
};

/** `upstream announce` for a command; '' for the program itself. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Sentence case with a final period: the descriptions were written in two styles. */
export function sentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return trimmed;
  const first = trimmed[0]!.toUpperCase() + trimmed.slice(1);
  return /[.!?)]$/.test(first) ? first : `${first}.`;
}

/** Every command in the tree, the program first. */
export function allCommands(program: Command): Command[] {
  return [program, ...program.commands.flatMap((c) => allCommands(c))];
}

/** Adds examples, details and the exit codes to the help of every command of `program`. */
export function applyHelpStyle(program: Command): void {
  for (const command of allCommands(program)) {
    const path = commandPath(command);
    command.description(sentence(command.description()));
    const sections: string[] = [];
    const details = DETAILS[path];
    if (details) sections.push(details);
    const examples = EXAMPLES[path] ?? [`certrotor ${path} --help`];
    sections.push(['Examples:', ...examples.map((e) => `  $ ${e}`)].join('\n'));
    sections.push(EXIT_CODES_HELP);
    command.addHelpText('after', `\n${sections.join('\n\n')}`);
  }
}
