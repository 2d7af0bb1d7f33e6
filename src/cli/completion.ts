/**
 * Shell completion scripts (bash, zsh, fish) made from the commands' own metadata, so they
 * complete exactly the commands and flags --help lists, and the values of flags that take a fixed
 * set (formats, levels, profiles). Other values complete as file names.
 */

export interface CompletionFlag {
  name: string
  char?: string
  aliases?: string[]
  description?: string
  /** Takes a value (oclif's type 'option'). */
  takesValue: boolean
  options?: readonly string[]
  multiple?: boolean
}

export interface CompletionCommand {
  id: string
  summary?: string
  flags: CompletionFlag[]
  /** The values of its first argument, when they are a fixed set. */
  argOptions?: readonly string[]
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const
export type Shell = (typeof SHELLS)[number]

/** The first sentence-ish of a description, on one line, short enough for a completion menu. */
function short(text = ''): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > 70 ? `${line.slice(0, 69)}…` : line
}

const names = (flag: CompletionFlag) => [
  `--${flag.name}`,
  ...(flag.aliases ?? []).map((a) => `--${a}`),
  ...(flag.char ? [`-${flag.char}`] : []),
]
const words = (list: readonly string[]) => list.join(' ')

function bash(bin: string, commands: CompletionCommand[]): string {
  const fn = `_${bin.replace(/\W/g, '_')}_complete`
  const cases = commands
    .filter((c) => c.id !== 'help')
    .map((command) => {
      const valueCases = command.flags
        .filter((f) => f.takesValue)
        .map(
          (flag) =>
            `        ${names(flag).join('|')}) COMPREPLY=(${flag.options ? `$(compgen -W '${words(flag.options)}' -- "$cur")` : '$(compgen -f -- "$cur")'}); return ;;`,
        )
      return [
        `    ${command.id})`,
        ...(valueCases.length > 0 ? ['      case "$prev" in', ...valueCases, '      esac'] : []),
        `      COMPREPLY=($(compgen -W '${words([...(command.argOptions ?? []), ...command.flags.flatMap(names)])}' -- "$cur")) ;;`,
      ].join('\n')
    })
  return `# ${bin} completion for bash. Load it with: source <(${bin} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W '${words(commands.map((c) => c.id))}' -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
    help) COMPREPLY=($(compgen -W '${words(commands.map((c) => c.id))}' -- "$cur")) ;;
${cases.join('\n')}
  esac
}
complete -o default -F ${fn} ${bin}
`
}

/** Text inside a zsh _arguments spec in single quotes: no quote, and brackets and colons escaped. */
const zshText = (text: string) =>
  short(text)
    .replace(/'/g, "'\\''")
    .replace(/([[\]:\\])/g, '\\$1')

function zsh(bin: string, commands: CompletionCommand[]): string {
  const specs = (command: CompletionCommand) =>
    command.flags.map((flag) => {
      const all = names(flag)
      const exclusion = flag.multiple ? '*' : `(${all.join(' ')})`
      const value = flag.takesValue ? (flag.options ? `:${flag.name}:(${words(flag.options)})` : `:${flag.name}:_files`) : ''
      // zsh brace expansion needs a comma: a flag with one name is written out.
      const spelled = all.length > 1 ? `'${exclusion}'{${all.join(',')}}'` : `'${exclusion}${all[0]}`
      return `${spelled}[${zshText(flag.description ?? '')}]${value}'`
    })
  return `#compdef ${bin}
# ${bin} completion for zsh. Save it as _${bin} in a directory of $fpath, or: source <(${bin} completion zsh)
_${bin}() {
  local -a commands
  commands=(
${commands.map((c) => `    '${c.id}:${zshText(c.summary ?? '')}'`).join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe command commands
    return
  fi
  case $words[2] in
    help) _describe command commands ;;
${commands
  .filter((c) => c.id !== 'help')
  .map((c) => `    ${c.id}) _arguments -s ${[...specs(c), ...(c.argOptions ? [`'1:${c.id}:(${words(c.argOptions)})'`] : [])].join(' ')} ;;`)
  .join('\n')}
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _${bin} "$@"
else
  compdef _${bin} ${bin}
fi
`
}

const fishText = (text: string) => `'${short(text).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

function fish(bin: string, commands: CompletionCommand[]): string {
  const lines = [
    `# ${bin} completion for fish. Save it as ~/.config/fish/completions/${bin}.fish, or: ${bin} completion fish | source`,
    `complete -c ${bin} -f`,
    ...commands.map((c) => `complete -c ${bin} -n __fish_use_subcommand -a ${c.id} -d ${fishText(c.summary ?? '')}`),
    `complete -c ${bin} -n '__fish_seen_subcommand_from help' -a '${words(commands.map((c) => c.id))}'`,
    ...commands
      .filter((c) => c.argOptions)
      .map((c) => `complete -c ${bin} -n '__fish_seen_subcommand_from ${c.id}' -a '${words(c.argOptions!)}'`),
  ]
  for (const command of commands) {
    for (const flag of command.flags) {
      const parts = [`complete -c ${bin} -n '__fish_seen_subcommand_from ${command.id}'`, `-l ${flag.name}`]
      for (const alias of flag.aliases ?? []) parts.push(`-l ${alias}`)
      if (flag.char) parts.push(`-s ${flag.char}`)
      if (flag.takesValue) parts.push(flag.options ? `-x -a '${words(flag.options)}'` : '-r -F')
      parts.push(`-d ${fishText(flag.description ?? '')}`)
      lines.push(parts.join(' '))
    }
  }
  return `${lines.join('\n')}\n`
}

export function completionScript(shell: Shell, bin: string, commands: CompletionCommand[]): string {
  const sorted = [...commands].sort((a, b) => (a.id < b.id ? -1 : 1))
  return {bash, zsh, fish}[shell](bin, sorted)
}
