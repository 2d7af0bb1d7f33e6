/**
 * Writes man pages (man/audit.1 and man/audit-<command>.1) from the commands' own metadata in
 * oclif.manifest.json, so the pages say exactly what `--help` says. EXIT STATUS, ENVIRONMENT,
 * FILES and SEE ALSO come from the tables below, the same for every page.
 *
 *   node --import tsx scripts/build-man.ts            write the pages into man/
 *   node --import tsx scripts/build-man.ts --check    exit 1 when a page in man/ is stale
 *   --out DIR                                         another directory than man/
 *
 * The output depends on nothing but the manifest and package.json (no date), so a page is
 * stale exactly when a command changed and the pages were not rebuilt.
 */
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

interface ManifestFlag {
  name: string
  char?: string
  aliases?: string[]
  description?: string
  type: 'boolean' | 'option'
  options?: string[]
  default?: unknown
  multiple?: boolean
  hidden?: boolean
  helpGroup?: string
}
interface ManifestArg {
  name: string
  description?: string
  required?: boolean
}
interface ManifestCommand {
  id: string
  summary?: string
  description?: string
  examples?: Array<string | {command: string; description: string}>
  flags: Record<string, ManifestFlag>
  args: Record<string, ManifestArg>
  hidden?: boolean
}

const {values: options} = parseArgs({options: {check: {type: 'boolean'}, out: {type: 'string', default: 'man'}}})
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {version: string; oclif: {description: string}}
const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8')) as {commands: Record<string, ManifestCommand>}

/** What exit 1 means for each command; a command not listed gets the general meaning. */
const NEGATIVE: Record<string, string> = {
  search: 'nothing matched',
  summary: 'no entries in the range',
  verify: 'tampering or damage found',
  seal: 'the log does not verify, so nothing was sealed',
}
/** Commands that never give a negative answer. */
const NO_NEGATIVE = new Set(['keygen', 'log', 'tail'])

const ENVIRONMENT: Array<[string, string]> = [
  ['AUDIT_DIR', 'the log directory (config `dir`)'],
  ['AUDIT_CONFIG', 'the config file'],
  ['AUDIT_DISABLED', 'write nothing (config `enabled`)'],
  ['AUDIT_LEVEL', 'the minimum level written (config `level`)'],
  ['AUDIT_RETENTION_DAYS', 'days of logs kept (config `retention_days`)'],
  ['AUDIT_MAX_SIZE_MB', 'size at which a file is rotated (config `max_file_size`)'],
  ['AUDIT_SYSLOG_HOST, AUDIT_SYSLOG_PORT, AUDIT_SYSLOG_PROTO', 'where entries are forwarded (config `syslog`)'],
  ['AUDIT_NO_INTEGRITY', 'write no chain_hash (config `integrity`)'],
  ['OLLAMA_HOST', 'the Ollama server (config `ollama.host`)'],
  ['LOKI_AUDIT_*', 'the loki-mode names of the same settings; AUDIT_* wins'],
  ['XDG_CONFIG_HOME, XDG_STATE_HOME, XDG_CACHE_HOME', 'where the config file, the default log directory and the summary cache live'],
  ['NO_COLOR', 'no colours'],
  ['DEBUG', 'print the stack of an error too'],
]

const FILES: Array<[string, string]> = [
  [
    './.auditkit/config.yaml, $XDG_CONFIG_HOME/auditkit/config.yaml (~/.config/auditkit/config.yaml), /etc/auditkit/config.yaml',
    'the config file: the first that exists, unless --config or AUDIT_CONFIG names one',
  ],
  ['$XDG_STATE_HOME/auditkit/logs (~/.local/state/auditkit/logs)', 'the default log directory'],
  ['audit-YYYY-MM-DD.jsonl, audit-YYYY-MM-DD.NNN.jsonl[.gz]', "a day's live file and its size-rotated parts (UTC days)"],
  ['audit.checkpoints', 'signed checkpoints (audit seal), by default in the log directory'],
  ['$XDG_CACHE_HOME/auditkit (~/.cache/auditkit)', 'the summary cache'],
]

/** Escapes text for roff: backslashes, dashes, a leading dot or quote, and `code` as bold. */
function roff(text: string): string {
  return (
    text
      .replace(/\\/g, '\\e')
      .replace(/-/g, '\\-')
      .replace(/`([^`]+)`/g, '\\fB$1\\fR')
      // troff reads bytes: any other character is written as its Unicode escape.
      .replace(/[^\x00-\x7f]/gu, (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`)
      .split('\n')
      .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
      .join('\n')
  )
}

/** Paragraphs (blank-line separated) as roff paragraphs: a blank line in roff is a warning. */
const prose = (text: string) =>
  roff(text)
    .split(/\n\s*\n/)
    .join('\n.PP\n')

const example = (e: string | {command: string}, id: string) =>
  (typeof e === 'string' ? e : e.command).replace(/<%= config.bin %>/g, 'audit').replace(/<%= command.id %>/g, id)

const commands = Object.values(manifest.commands)
  .filter((c) => !c.hidden)
  .sort((a, b) => (a.id < b.id ? -1 : 1))
const title = (name: string) => `.TH ${name.toUpperCase()} 1 "" "auditkit ${pkg.version}" "auditkit manual"`

function exitStatus(id?: string): string[] {
  const rows: Array<[string, string]> = [['0', 'done; the answer is positive']]
  if (!id || !NO_NEGATIVE.has(id))
    rows.push(['1', `done; the answer is negative${id && NEGATIVE[id] ? ` (${NEGATIVE[id]})` : ' (nothing matched, tampering found)'}`])
  rows.push(
    ['2', 'usage or configuration error, or unreadable input named by the user'],
    [
      '3',
      'an outside part failed: the storage refused a write (disk full, quota, read-only), standard output could not be written, another writer held the lock too long, a server did not answer',
    ],
    ['70', 'internal error: a bug (please report it; DEBUG=* shows the stack), never an answer'],
  )
  return ['.SH EXIT STATUS', ...rows.flatMap(([code, meaning]) => ['.TP', `.B ${code}`, roff(meaning)])]
}

function shared(self?: string): string[] {
  return [
    '.SH ENVIRONMENT',
    ...ENVIRONMENT.flatMap(([name, meaning]) => ['.TP', `.B ${roff(name)}`, roff(meaning)]),
    '.SH FILES',
    ...FILES.flatMap(([path, meaning]) => ['.TP', `.I ${roff(path)}`, roff(meaning)]),
    '.SH SEE ALSO',
    [...(self ? ['audit'] : []), ...commands.filter((c) => c.id !== self).map((c) => `audit\\-${roff(c.id)}`)]
      .map((page) => `.BR ${page} (1)`)
      .join(',\n'),
  ]
}

function commandPage(command: ManifestCommand): string {
  const args = Object.values(command.args ?? {})
  const lines = [
    title(`audit-${command.id}`),
    '.SH NAME',
    `audit\\-${roff(command.id)} \\- ${roff(command.summary ?? '')}`,
    '.SH SYNOPSIS',
    `.B audit ${roff(command.id)}${args.map((a) => ` ${a.required ? '' : '['}${roff(a.name.toUpperCase())}${a.required ? '' : ']'}`).join('')} [\\fIOPTIONS\\fR]`,
    '.SH DESCRIPTION',
    prose(command.description ?? command.summary ?? ''),
  ]
  if (args.length > 0) {
    lines.push('.SH ARGUMENTS')
    for (const a of args) lines.push('.TP', `.B ${roff(a.name.toUpperCase())}`, roff(a.description ?? ''))
  }
  lines.push('.SH OPTIONS')
  for (const flag of Object.values(command.flags).filter((f) => !f.hidden)) {
    const names = [
      flag.char ? `\\-${flag.char}` : undefined,
      `\\-\\-${roff(flag.name)}`,
      ...(flag.aliases ?? []).map((a) => `\\-\\-${roff(a)}`),
    ]
      .filter(Boolean)
      .join(', ')
    const value = flag.type === 'option' ? ` \\fI${flag.options ? flag.options.join('|') : 'VALUE'}\\fR` : ''
    const description = flag.description ?? ''
    // Descriptions that already say how repetition combines ("repeatable: any of them") keep theirs.
    const extra = [
      flag.multiple && !/repeatable/.test(description) ? 'repeatable' : undefined,
      flag.default !== undefined && flag.type === 'option' ? `default: ${flag.default}` : undefined,
    ]
      .filter(Boolean)
      .join('; ')
    lines.push('.TP', `${names}${value}`, `${roff(description)}${extra ? ` (${roff(extra)})` : ''}`)
  }
  if (command.examples?.length) {
    lines.push('.SH EXAMPLES')
    for (const e of command.examples) {
      if (typeof e !== 'string') lines.push('.PP', roff(e.description))
      lines.push('.PP', '.nf', '.RS 4', roff(example(e, command.id)), '.RE', '.fi')
    }
  }
  lines.push(...exitStatus(command.id), ...shared(command.id))
  return `${lines.join('\n')}\n`
}

function mainPage(): string {
  const [summary, ...rest] = pkg.oclif.description.split('\n')
  return `${[
    title('audit'),
    '.SH NAME',
    `audit \\- ${roff(summary)}`,
    '.SH SYNOPSIS',
    '.B audit \\fICOMMAND\\fR [\\fIOPTIONS\\fR]',
    '.br',
    '.B audit help \\fR[\\fICOMMAND\\fR]',
    '.br',
    '.B audit version',
    '.SH DESCRIPTION',
    prose(rest.join('\n').trim()),
    '.SH COMMANDS',
    ...commands.flatMap((c) => ['.TP', `.BR audit\\-${roff(c.id)} (1)`, roff(c.summary ?? '')]),
    ...exitStatus(),
    ...shared(),
  ].join('\n')}\n`
}

const pages = new Map<string, string>([
  ['audit.1', mainPage()],
  ...commands.map((c) => [`audit-${c.id}.1`, commandPage(c)] as [string, string]),
])
if (options.check) {
  const stale = [...pages]
    .filter(([name, text]) => !existsSync(join(options.out, name)) || readFileSync(join(options.out, name), 'utf8') !== text)
    .map(([name]) => name)
  if (stale.length > 0) {
    process.stderr.write(`stale man pages in ${options.out}: ${stale.join(', ')} (run npm run build)\n`)
    process.exit(1)
  }
} else {
  mkdirSync(options.out, {recursive: true})
  for (const [name, text] of pages) writeFileSync(join(options.out, name), text)
}
