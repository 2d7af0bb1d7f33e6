import {Flags} from '@oclif/core'

import {AuditCommand, EXIT} from '../cli/base.js'
import {paragraphs} from '../cli/text.js'
import {filterFlags, filterSpecFromFlags, formatFlag} from '../cli/flags.js'
import {Output, print} from '../cli/output.js'
import {readerPrivacy} from '../cli/privacy.js'
import {createFormat} from '../formats/registry.js'
import {Diagnostics} from '../store/diagnostics.js'
import {countEntries, queryEntries} from '../store/query.js'

export default class Search extends AuditCommand {
  static override summary = 'Find entries by event, level, actor, field, text and time across all files'
  // Written out: oclif's generated synopsis would show --limit, --offset and --reverse as
  // excluding each other, where only --count excludes them.
  static override usage = [
    '<%= command.id %> [-c | [-o <format>] [-n <value>] [--offset <value>] [-r]] [--all] [FILTER FLAGS] [GLOBAL FLAGS]',
  ]
  static override description = paragraphs`Reads every log file of the directory in chain order (plain and gzipped parts, and loki-mode
logs) and prints the entries that match all the filters given. Time bounds skip whole files by the
date in their name. Exit 0 when something matched, 1 when nothing did, 2 on bad usage, 3 when a log
file could not be read (the answer is then incomplete; the warning names the file).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --event "auth.*" --since 1h',
    '<%= config.bin %> <%= command.id %> --event auth.fail --actor mallory --format csv > fails.csv',
    '<%= config.bin %> <%= command.id %> --where details.ip=10.0.0.5 --reverse --limit 10',
    {
      description: "Count yesterday's chat and generate calls:",
      command: '<%= config.bin %> <%= command.id %> --where "details.path~^/api/(chat|generate)" --since yesterday --until today --count',
    },
    '<%= config.bin %> <%= command.id %> --level error --format jsonl | jq .details',
  ]

  static override flags = {
    format: formatFlag(),
    limit: Flags.integer({char: 'n', description: 'print at most this many matches', min: 0}),
    offset: Flags.integer({description: 'skip this many matches first (with --limit: pagination)', min: 0, default: 0}),
    count: Flags.boolean({char: 'c', description: 'print only the number of matches', exclusive: ['format', 'limit', 'offset', 'reverse']}),
    reverse: Flags.boolean({char: 'r', description: 'newest first'}),
    all: Flags.boolean({description: 'the whole log: the default here, accepted for symmetry with summary', exclusive: ['since', 'until']}),
    ...filterFlags,
  }

  async run(): Promise<SearchAnswer> {
    const {flags} = await this.parse(Search)
    const config = this.settings(flags)
    const {spec: filter, revealer} = readerPrivacy(config, filterSpecFromFlags(flags, Date.now()), (line) =>
      this.warnLine(`audit search: ${line}`),
    )
    const diagnostics = new Diagnostics()
    const profile = flags.profile
    let found = 0
    if (flags.count) {
      found = await countEntries(config.dir, {filter, profile, diagnostics})
      print(`${found}\n`)
    } else {
      const out = new Output()
      const format = createFormat(flags.format, {local: flags.local, paint: await this.paint(flags)})
      if (format.begin) await out.write(format.begin)
      for await (const batch of queryEntries(config.dir, {
        filter,
        profile,
        diagnostics,
        reverse: flags.reverse,
        offset: flags.offset,
        limit: flags.limit,
      })) {
        for (const located of batch) await out.write(format.encode(revealer ? revealer.reveal(located) : located, found++))
        if (out.isClosed) break
      }
      if (format.end) await out.write(format.end)
      await out.flush()
    }
    this.reportProblems(diagnostics)
    if (found === 0) {
      await this.noteMissingLogFiles(config.dir)
      await this.noteAbsentWherePaths(config.dir, filter, profile)
      // An unreadable file (exit 3) is the stronger answer: nothing matched in what could be read.
      if (process.exitCode !== EXIT.outside) process.exitCode = EXIT.negative
    }
    return {matches: found}
  }
}

/** How many entries matched (with --limit, --offset or a closed pipe: how many were printed). */
export interface SearchAnswer {
  matches: number
}
