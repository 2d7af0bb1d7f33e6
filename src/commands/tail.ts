import {Flags} from '@oclif/core'

import {AuditCommand} from '../cli/base.js'
import {filterFlags, filterSpecFromFlags, profileFromFlag} from '../cli/flags.js'
import {Output} from '../cli/output.js'
import {compileFilter} from '../events/filter.js'
import {entryFormat} from '../formats/index.js'
import {Diagnostics} from '../store/diagnostics.js'
import {listLogFiles} from '../store/files.js'
import {readLastEntries} from '../store/tail.js'

const TAIL_FORMATS = ['pretty', 'json', 'jsonl'] as const

export default class Tail extends AuditCommand {
  static override summary = 'Print the last entries; -f follows new ones across rotation and compression'
  static override description = `Prints the last N entries across the rotated files (reading the newest file backwards, so it is fast
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
    format: Flags.string({char: 'o', description: 'output format', options: [...TAIL_FORMATS], default: 'pretty'}),
    ...filterFlags,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Tail)
    const config = this.settings(flags)
    const filter = compileFilter(filterSpecFromFlags(flags, Date.now()))
    const diagnostics = new Diagnostics()
    const files = await listLogFiles(config.dir, filter)
    const {entries} = await readLastEntries(files, flags.lines, {filter, profile: profileFromFlag(flags.profile), diagnostics})
    const out = new Output()
    const format = entryFormat(flags.format as (typeof TAIL_FORMATS)[number], {local: flags.local, color: this.colorEnabled(flags)})
    let index = 0
    if (format.begin) await out.write(format.begin)
    for (const located of entries) await out.write(format.encode(located, index++))
    if (format.end) await out.write(format.end)
    await out.flush()
    for (const line of diagnostics.lines()) this.warnLine(line)
  }
}
