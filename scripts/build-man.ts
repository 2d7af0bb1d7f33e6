/**
 * Writes man pages (man/audit.1 and man/audit-<command>.1) from the commands' own metadata in
 * oclif.manifest.json, so the pages say exactly what `--help` says.
 */
import {readFileSync, writeFileSync} from 'node:fs'

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

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {version: string; description: string}
const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8')) as {commands: Record<string, ManifestCommand>}
const date = new Date().toISOString().slice(0, 10)

/** Escapes text for roff: backslashes, and a leading dot or quote that would read as a request. */
function roff(text: string): string {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-').split('\n').map((line) => (/^[.']/.test(line) ? `\\&${line}` : line)).join('\n')
}

const example = (e: string | {command: string}, id: string) => (typeof e === 'string' ? e : e.command).replace(/<%= config.bin %>/g, 'audit').replace(/<%= command.id %>/g, id)

const commands = Object.values(manifest.commands).filter((c) => !c.hidden).sort((a, b) => (a.id < b.id ? -1 : 1))
for (const command of commands) {
  const args = Object.values(command.args ?? {})
  const lines = [
    `.TH AUDIT-${command.id.toUpperCase()} 1 "${date}" "auditkit ${pkg.version}" "auditkit manual"`,
    '.SH NAME',
    `audit\\-${roff(command.id)} \\- ${roff(command.summary ?? '')}`,
    '.SH SYNOPSIS',
    `.B audit ${roff(command.id)}${args.map((a) => ` ${a.required ? '' : '['}${roff(a.name.toUpperCase())}${a.required ? '' : ']'}`).join('')} [\\fIOPTIONS\\fR]`,
    '.SH DESCRIPTION',
    roff(command.description ?? command.summary ?? ''),
  ]
  if (args.length > 0) {
    lines.push('.SH ARGUMENTS')
    for (const a of args) lines.push('.TP', `.B ${roff(a.name.toUpperCase())}`, roff(a.description ?? ''))
  }
  lines.push('.SH OPTIONS')
  for (const flag of Object.values(command.flags).filter((f) => !f.hidden)) {
    const names = [flag.char ? `\\-${flag.char}` : undefined, `\\-\\-${roff(flag.name)}`, ...(flag.aliases ?? []).map((a) => `\\-\\-${roff(a)}`)].filter(Boolean).join(', ')
    const value = flag.type === 'option' ? ` \\fI${flag.options ? flag.options.join('|') : 'VALUE'}\\fR` : ''
    const extra = [flag.multiple ? 'repeatable' : undefined, flag.default !== undefined && flag.type === 'option' ? `default: ${flag.default}` : undefined].filter(Boolean).join('; ')
    lines.push('.TP', `${names}${value}`, `${roff(flag.description ?? '')}${extra ? ` (${roff(extra)})` : ''}`)
  }
  if (command.examples?.length) {
    lines.push('.SH EXAMPLES')
    for (const e of command.examples) lines.push('.PP', '.nf', roff(example(e, command.id)), '.fi')
  }
  lines.push('.SH EXIT STATUS', '0 done, positive answer; 1 done, negative answer (nothing matched, tampering found); 2 usage or configuration error; 3 an outside part failed.', '.SH SEE ALSO', '.BR audit (1)')
  writeFileSync(`man/audit-${command.id}.1`, `${lines.join('\n')}\n`)
}

writeFileSync('man/audit.1', `${[
  `.TH AUDIT 1 "${date}" "auditkit ${pkg.version}" "auditkit manual"`,
  '.SH NAME',
  `audit \\- ${roff(pkg.description)}`,
  '.SH SYNOPSIS',
  '.B audit \\fICOMMAND\\fR [\\fIOPTIONS\\fR]',
  '.SH COMMANDS',
  ...commands.flatMap((c) => ['.TP', `.BR audit\\-${roff(c.id)} (1)`, roff(c.summary ?? '')]),
  '.SH ENVIRONMENT',
  'AUDIT_DIR, AUDIT_CONFIG, AUDIT_DISABLED, AUDIT_LEVEL, AUDIT_RETENTION_DAYS, AUDIT_MAX_SIZE_MB, AUDIT_SYSLOG_HOST, AUDIT_SYSLOG_PORT, AUDIT_SYSLOG_PROTO, AUDIT_NO_INTEGRITY, OLLAMA_HOST (and the LOKI_AUDIT_* names), NO_COLOR, DEBUG.',
  '.SH FILES',
  '/etc/auditkit/config.yaml, $XDG_CONFIG_HOME/auditkit/config.yaml, ./.auditkit/config.yaml; logs in $XDG_STATE_HOME/auditkit/logs by default.',
].join('\n')}\n`)
