import {Flags} from '@oclif/core'
import {Chalk} from 'chalk'

import {AuditCommand, EXIT} from '../cli/base.js'
import {filterFlags, filterSpecFromFlags, profileFromFlag} from '../cli/flags.js'
import {Diagnostics} from '../store/diagnostics.js'
import {summarize} from '../summary/summarize.js'
import {renderSummary} from '../summary/render.js'

export default class Summary extends AuditCommand {
  static override summary = 'Overview of a time range: totals, events, levels, actors, failures, peaks, model usage'
  static override description = `An aureport-style report over the rotated logs in the directory: the range present and the range
selected, files read, total entries, entries by event and by level, top actors, unique actors and IPs,
failures (events ending .fail/.failed/.denied/.error, or level error) with the latest few, error rate,
peak hour, a per-day histogram, and model usage where entries carry details.model.
The default range is the last 24 hours; --all reads everything. Exit 0 when entries were found, 1 when none.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --dir /var/log/myapp/audit',
    '<%= config.bin %> <%= command.id %> --all --json',
    '<%= config.bin %> <%= command.id %> --since yesterday --until today --event "api.*"',
  ]

  static override flags = {
    all: Flags.boolean({description: 'the whole log, not the last 24 hours', exclusive: ['since']}),
    json: Flags.boolean({description: 'print the report as one JSON document'}),
    top: Flags.integer({description: 'how many top actors to list', default: 10, min: 1}),
    ...filterFlags,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Summary)
    const config = this.settings(flags)
    const now = Date.now()
    const spec = filterSpecFromFlags(flags, now, flags.all ? undefined : now - 86_400_000)
    const diagnostics = new Diagnostics()
    const report = await summarize(config.dir, {filter: spec, profile: profileFromFlag(flags.profile), diagnostics, topActors: flags.top})
    for (const line of diagnostics.lines()) this.warnLine(line)
    const text = flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderSummary(report, new Chalk({level: this.colorEnabled(flags) ? 1 : 0}))
    process.stdout.write(text)
    if (report.total === 0) process.exitCode = EXIT.negative
  }
}
