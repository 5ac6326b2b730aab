/**
 * `certrotor completion bash|zsh|fish`: a completion script generated from the commander program
 * itself, so every command and option the CLI has is completed and none that it does not.
 */
import type { Command, Option } from 'commander';
import { InvalidInputError } from '../domain/errors';
import type { CliContext } from './context';
import { allCommands, commandPath } from './help';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface Node {
  readonly path: string;
  readonly subcommands: readonly { name: string; description: string }[];
  readonly options: readonly { flags: string[]; description: string; takesValue: boolean }[];
}

function optionFlags(option: Option): string[] {
  return [option.short, option.long].filter((f): f is string => typeof f === 'string');
}

/** Every command path with its subcommands and options (help and version included). */
export function completionTree(program: Command): Node[] {
  return allCommands(program).map((command) => ({
    path: commandPath(command),
    subcommands: command.commands.map((c) => ({ name: c.name(), description: c.description() })),
    options: [
      ...command.options.map((o) => ({
        flags: optionFlags(o),
        description: o.description,
        takesValue: o.required || o.optional,
      })),
      { flags: ['-h', '--help'], description: 'show help', takesValue: false },
    ],
  }));
}

const shellWord = (s: string): string => s.replace(/[^A-Za-z0-9_.:/@-]/g, '');
const singleQuoted = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(tree: readonly Node[]): string {
  const cases = (pick: (n: Node) => string[]) =>
    tree
      .map((n) => `    ${singleQuoted(n.path)}) echo ${singleQuoted(pick(n).map(shellWord).join(' '))} ;;`)
      .join('\n');
  return `# certrotor completion for bash. Load it with:  source <(certrotor completion bash)
_certrotor_subcommands() {
  case "$1" in
${cases((n) => n.subcommands.map((s) => s.name))}
  esac
}
_certrotor_options() {
  case "$1" in
${cases((n) => n.options.flatMap((o) => o.flags))}
  esac
}
_certrotor() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" word subs i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    [[ "$word" == -* ]] && continue
    subs=" $(_certrotor_subcommands "$path") "
    if [[ "$subs" == *" $word "* ]]; then path="\${path:+$path }$word"; fi
  done
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_certrotor_options "$path")" -- "$cur"))
  else
    subs="$(_certrotor_subcommands "$path")"
    if [[ -n "$subs" ]]; then
      COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    else
      COMPREPLY=($(compgen -f -- "$cur"))
    fi
  fi
}
complete -o default -F _certrotor certrotor
`;
}

function zsh(tree: readonly Node[]): string {
  const cases = (pick: (n: Node) => string[]) =>
    tree.map((n) => `    ${singleQuoted(n.path)}) reply=(${pick(n).map(shellWord).join(' ')}) ;;`).join('\n');
  return `#compdef certrotor
# certrotor completion for zsh. Install with:  certrotor completion zsh > "\${fpath[1]}/_certrotor"
# or load it in the current shell with:       source <(certrotor completion zsh)
_certrotor_subcommands() {
  case "$1" in
${cases((n) => n.subcommands.map((s) => s.name))}
    *) reply=() ;;
  esac
}
_certrotor_options() {
  case "$1" in
${cases((n) => n.options.flatMap((o) => o.flags))}
    *) reply=() ;;
  esac
}
_certrotor() {
  local cmdpath="" word i
  local -a reply
  for ((i = 2; i < CURRENT; i++)); do
    word="\${words[i]}"
    [[ "$word" == -* ]] && continue
    _certrotor_subcommands "$cmdpath"
    if (( \${reply[(Ie)$word]} )); then cmdpath="\${cmdpath:+$cmdpath }$word"; fi
  done
  if [[ "\${words[CURRENT]}" == -* ]]; then
    _certrotor_options "$cmdpath"
    compadd -- "\${reply[@]}"
  else
    _certrotor_subcommands "$cmdpath"
    if (( \${#reply} )); then compadd -- "\${reply[@]}"; else _files; fi
  fi
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _certrotor "$@"
else
  compdef _certrotor certrotor
fi
`;
}

function fish(tree: readonly Node[]): string {
  const lines = [
    '# certrotor completion for fish. Install with:',
    '#   certrotor completion fish > ~/.config/fish/completions/certrotor.fish',
    'complete -c certrotor -e',
  ];
  const description = (d: string) => singleQuoted(d.replace(/\s+/g, ' ').slice(0, 80));
  for (const node of tree) {
    const words = node.path === '' ? [] : node.path.split(' ');
    const all = tree.find((n) => n.path === '')!.subcommands.map((s) => s.name);
    // At the program: no subcommand yet. Below: the last word of the path was seen.
    const condition =
      words.length === 0
        ? `not __fish_seen_subcommand_from ${all.join(' ')}`
        : `__fish_seen_subcommand_from ${words[words.length - 1]}`;
    for (const sub of node.subcommands) {
      lines.push(
        `complete -c certrotor -f -n ${singleQuoted(condition)} -a ${shellWord(sub.name)} -d ${description(sub.description)}`,
      );
    }
    for (const option of node.options) {
      const parts = option.flags.map((f) =>
        f.startsWith('--') ? `-l ${shellWord(f.slice(2))}` : `-s ${shellWord(f.slice(1))}`,
      );
      const cond = words.length === 0 ? '' : ` -n ${singleQuoted(condition)}`;
      lines.push(
        `complete -c certrotor${cond} ${parts.join(' ')}${option.takesValue ? ' -r' : ''} -d ${description(option.description)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The completion script for `shell`. */
export function completionScript(program: Command, shell: string): string {
  if (!(SHELLS as readonly string[]).includes(shell))
    throw new InvalidInputError(`completion ${shell}: unknown shell; expected one of ${SHELLS.join(', ')}`);
  const tree = completionTree(program);
  return shell === 'bash' ? bash(tree) : shell === 'zsh' ? zsh(tree) : fish(tree);
}

export function registerCompletionCommand(program: Command, ctx: CliContext): void {
  program
    .command('completion')
    .description('Print a shell completion script for bash, zsh or fish.')
    .argument('<shell>', `one of ${SHELLS.join(', ')}`)
    .action((shell: string) => {
      // Written unpainted and even under --quiet: it is meant for a shell, not a person.
      (ctx.data ?? ctx.out)(completionScript(program, shell).replace(/\n$/, ''));
    });
}
