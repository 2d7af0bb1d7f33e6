import {Flags} from '@oclif/core'

import {AuditCommand} from '../cli/base.js'
import {paragraphs} from '../cli/text.js'
import {filterFlags, filterSpecFromFlags, formatFlag} from '../cli/flags.js'
import {Output} from '../cli/output.js'
import {compileFilter} from '../events/filter.js'
import {createFormat} from '../formats/registry.js'
import {Diagnostics, type Problem} from '../store/diagnostics.js'
import {listLogFiles} from '../store/files.js'
import {followEntries} from '../store/follow.js'
import {readLastEntries} from '../store/tail.js'

export default class Tail extends AuditCommand {
  static override summary = 'Print the last entries; -f follows new ones across rotation and compression'
  static override description = paragraphs`Prints the last N entries across the rotated files (reading the newest file backwards, so it is fast
whatever the log size). With --follow it then prints entries as they are appended, and keeps going
across midnight rotation, size rotation and the old part being gzipped, with no entry skipped or
repeated. Log text is stripped of control characters and escape sequences before it reaches the terminal.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> -n 100 --event "auth.*"',
    '<%= config.bin %> <%= command.id %> -f --level warning',
    '<%= config.bin %> <%= command.id %> -f --format jsonl | jq -c .',
  ]

  static override flags = {
    lines: Flags.integer({char: 'n', description: 'how many entries to print first', default: 20, min: 0}),
    follow: Flags.boolean({char: 'f', description: 'then print new entries as they are appended, across rotation and compression, until interrupted'}),
    format: formatFlag(),
    ...filterFlags,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Tail)
    const config = this.settings(flags)
    const filter = compileFilter(filterSpecFromFlags(flags, Date.now()))
    const diagnostics = new Diagnostics()
    const profile = flags.profile
    const files = await listLogFiles(config.dir, filter)
    const {entries, end} = await readLastEntries(files, flags.lines, {filter, profile, diagnostics})
    const out = new Output()
    const format = createFormat(flags.format, {local: flags.local, paint: await this.paint(flags)})
    let index = 0
    if (format.begin) await out.write(format.begin)
    for (const located of entries) await out.write(format.encode(located, index++))
    await out.flush()
    for (const line of diagnostics.lines()) this.warnLine(line)
    if (files.length === 0) await this.noteMissingLogFiles(config.dir)
    if (flags.follow) {
      const stop = new AbortController()
      const onSignal = () => stop.abort()
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal)
      try {
        const live = new LiveDiagnostics((line) => this.warnLine(line))
        for await (const batch of followEntries(config.dir, {start: end, filter, profile, diagnostics: live, signal: stop.signal})) {
          for (const located of batch) await out.write(format.encode(located, index++))
          await out.flush() // someone is watching, or a pipe reads it live
          if (out.isClosed) break
        }
      } finally {
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal)
      }
    }
    if (format.end) await out.write(format.end)
    await out.flush()
  }
}

/** While following, each problem is told as it is met: there may never be an end to tell it at. */
class LiveDiagnostics extends Diagnostics {
  constructor(private readonly warn: (line: string) => void) {
    super()
  }

  override report(problem: Problem): void {
    const one = new Diagnostics()
    one.report(problem)
    for (const line of one.lines()) this.warn(line)
  }
}
