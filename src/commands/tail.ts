import {Flags} from '@oclif/core'

import {AuditCommand, EXIT, UserError} from '../cli/base.js'
import {paragraphs} from '../cli/text.js'
import {filterFlags, filterSpecFromFlags, formatFlag} from '../cli/flags.js'
import {Output} from '../cli/output.js'
import {readerPrivacy} from '../cli/privacy.js'
import {compileFilter, type CompiledFilter} from '../events/filter.js'
import type {LocatedEntry, Profile} from '../events/model.js'
import {createFormat} from '../formats/registry.js'
import {Diagnostics, type Problem} from '../store/diagnostics.js'
import {type LogFile, listLogFiles} from '../store/files.js'
import {followEntries} from '../store/follow.js'
import {readLastEntries} from '../store/tail.js'
import {openSink} from '../transport/index.js'
import {CursorFile, entriesAfterCursor} from '../transport/cursor.js'
import {FORWARD_FORMATS, forwardBatches, forwardEncoder} from '../transport/forward.js'

export default class Tail extends AuditCommand {
  static override summary = 'Print the last entries; -f follows new ones across rotation and compression'
  static override description =
    paragraphs`Prints the last N entries across the rotated files (reading the newest file backwards, so it is fast
whatever the log size). With --follow it then prints entries as they are appended, and keeps going
across midnight rotation, size rotation and the old part being gzipped, with no entry skipped or
repeated. Log text is stripped of control characters and escape sequences before it reaches the terminal.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> -n 100 --event "auth.*"',
    '<%= config.bin %> <%= command.id %> -f --level warning',
    '<%= config.bin %> <%= command.id %> -f --format jsonl | jq -c .',
    '<%= config.bin %> <%= command.id %> -f --format syslog | logger --prio-prefix -t auditkit -S 65536',
    '<%= config.bin %> <%= command.id %> -f --forward tcp://siem.example:514 --cursor fwd.cursor',
    '<%= config.bin %> <%= command.id %> -f --forward tls://siem.example:6514 --ca siem-ca.pem',
  ]

  static override flags = {
    lines: Flags.integer({char: 'n', description: 'how many entries to print first', default: 20, min: 0}),
    follow: Flags.boolean({
      char: 'f',
      description: 'then print new entries as they are appended, across rotation and compression, until interrupted',
    }),
    format: formatFlag(),
    forward: Flags.string({
      description:
        'send the entries to a syslog server instead of printing them: udp://HOST[:514], tcp://HOST[:514][?framing=octet-counting], tls://HOST[:6514]',
      helpGroup: 'FORWARD',
    }),
    'forward-format': Flags.option({
      description:
        'what --forward sends: rfc5424 (MSGID and structured data), rfc3164, or syslog (through syslog-client; udp and tcp only)',
      options: FORWARD_FORMATS,
      default: 'rfc5424',
      helpGroup: 'FORWARD',
    })(),
    facility: Flags.string({
      description: 'syslog facility for --forward and the syslog formats: local0 … local7, user, auth, … or 0-23 (default local0)',
      helpGroup: 'FORWARD',
    }),
    ca: Flags.string({description: "tls: file of CA certificates to trust (default: the system's)", helpGroup: 'FORWARD'}),
    cert: Flags.string({description: 'tls: client certificate file', helpGroup: 'FORWARD'}),
    key: Flags.string({description: 'tls: client key file', helpGroup: 'FORWARD'}),
    cursor: Flags.string({
      description:
        'with --forward -f: file recording the last entry handed over (file, line, chain hash); a restart resumes after it (at-least-once)',
      helpGroup: 'FORWARD',
    }),
    ...filterFlags,
  }

  async run(): Promise<TailAnswer> {
    const {flags} = await this.parse(Tail)
    const config = this.settings(flags)
    const {spec, revealer} = readerPrivacy(config, filterSpecFromFlags(flags, Date.now()), (line) => this.warnLine(`audit tail: ${line}`))
    const filter = compileFilter(spec)
    // Shown here revealed; what --forward ships goes out sealed, as an export without --reveal.
    const shown = (located: LocatedEntry) => (revealer ? revealer.reveal(located) : located)
    const diagnostics = new Diagnostics()
    const profile = flags.profile
    const files = await listLogFiles(config.dir, filter)
    if (flags.forward) return this.forward(flags, config.dir, filter, files)
    if (flags.cursor || flags['forward-format'] !== 'rfc5424' || flags.ca || flags.cert || flags.key)
      throw new UserError('--cursor, --forward-format, --ca, --cert and --key go with --forward')
    // With -f a stop signal is taken before the last N are printed: one sent on seeing them could
    // come before the handler and kill the process (no exit code, no closing output).
    const stop = new AbortController()
    const onSignal = () => stop.abort()
    if (flags.follow) process.once('SIGINT', onSignal).once('SIGTERM', onSignal)
    try {
      const {entries, end} = await readLastEntries(files, flags.lines, {filter, profile, diagnostics, numberLines: flags.format === 'csv'})
      const out = new Output()
      const options =
        flags.facility && ['syslog', 'rfc5424', 'rfc3164'].includes(flags.format) ? {facility: facilityValue(flags.facility)} : undefined
      if (flags.facility && !options)
        throw new UserError(`--facility applies to the syslog formats and --forward, not --format ${flags.format}`)
      const format = createFormat(flags.format, {local: flags.local, paint: await this.paint(flags), options})
      let index = 0
      if (format.begin) await out.write(format.begin)
      for (const located of entries) await out.write(format.encode(shown(located), index++))
      await out.flush()
      this.reportProblems(diagnostics)
      if (files.length === 0) await this.noteMissingLogFiles(config.dir)
      if (flags.follow) {
        const live = new LiveDiagnostics((line) => this.warnLine(line))
        for await (const batch of followEntries(config.dir, {start: end, filter, profile, diagnostics: live, signal: stop.signal})) {
          for (const located of batch) await out.write(format.encode(shown(located), index++))
          await out.flush() // someone is watching, or a pipe reads it live
          if (out.isClosed) break
        }
        if (live.counts().unreadable || live.counts().encrypted) process.exitCode = EXIT.outside
      }
      if (format.end) await out.write(format.end)
      await out.flush()
      return {entries: index}
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal)
    }
  }

  /**
   * --forward: the last N entries (or, with a cursor, every entry after it), then with -f the new
   * ones, to a syslog server; the cursor records each batch the sink has taken.
   */
  private async forward(flags: ForwardFlags, dir: string, filter: CompiledFilter, files: LogFile[]): Promise<TailAnswer> {
    if (flags.cursor && !flags.follow) throw new UserError('--cursor needs --follow: it records where following got to')
    const format = flags['forward-format']
    const encoder = forwardEncoder(format, flags.facility ? {facility: facilityValue(flags.facility)} : {}, '--forward-format', flags.local)
    const cursor = flags.cursor ? new CursorFile(flags.cursor) : undefined
    const recorded = cursor?.read()
    const warn = (message: string) => this.warnLine(`audit tail: warning: ${message}`)
    const sink = await openSink(flags.forward as string, {
      format,
      ca: flags.ca,
      cert: flags.cert,
      key: flags.key,
      origin: '--forward',
      onWarning: warn,
    })
    const stop = new AbortController()
    const onSignal = () => stop.abort()
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal)
    const {profile} = flags
    const live = new LiveDiagnostics((line) => this.warnLine(line))
    let entries: number
    try {
      let batches: AsyncIterable<LocatedEntry[]>
      if (recorded) {
        batches = entriesAfterCursor(dir, recorded, `--cursor ${flags.cursor}`, {filter, profile, diagnostics: live, signal: stop.signal})
      } else {
        const diagnostics = new Diagnostics()
        const {entries, end} = await readLastEntries(files, flags.lines, {
          filter,
          profile,
          diagnostics,
          numberLines: flags.cursor !== undefined,
        })
        for (const line of diagnostics.lines()) this.warnLine(line)
        batches = (async function* () {
          yield entries
          if (flags.follow) yield* followEntries(dir, {start: end, filter, profile, diagnostics: live, signal: stop.signal})
        })()
      }
      entries = await forwardBatches(batches, sink, encoder, {cursor, signal: stop.signal})
    } finally {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal)
    }
    await sink.close()
    return {entries}
  }
}

/** How many entries were printed, or handed to the --forward server. */
export interface TailAnswer {
  entries: number
}

interface ForwardFlags {
  lines: number
  follow: boolean
  local?: boolean
  profile?: Profile
  forward?: string
  'forward-format': string
  facility?: string
  ca?: string
  cert?: string
  key?: string
  cursor?: string
}

/** A facility flag as the codecs take it: a name, or a number 0-23. */
function facilityValue(text: string): string | number {
  return /^\d+$/.test(text) ? Number(text) : text.toLowerCase()
}

/** While following, each problem is told as it is met: there may never be an end to tell it at. */
class LiveDiagnostics extends Diagnostics {
  constructor(private readonly warn: (line: string) => void) {
    super()
  }

  override report(problem: Problem): void {
    super.report(problem) // counted too, for the exit code
    const one = new Diagnostics()
    one.report(problem)
    for (const line of one.lines()) this.warn(line)
  }
}
