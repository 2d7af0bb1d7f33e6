import {homedir} from 'node:os'
import {join} from 'node:path'

import {Flags} from '@oclif/core'

import {AuditCommand, EXIT} from '../cli/base.js'
import {Progress} from '../cli/progress.js'
import {paragraphs} from '../cli/text.js'
import {filterFlags, filterSpecFromFlags, jsonFlag} from '../cli/flags.js'
import {print, printJson} from '../cli/output.js'
import {readerPrivacy, revealBlindActors} from '../cli/privacy.js'
import {Diagnostics, type Problem} from '../store/diagnostics.js'
import type {SummaryReport} from '../summary/aggregate.js'
import {DEFAULT_WINDOW_MS, defaultRange, summarize} from '../summary/summarize.js'

export default class Summary extends AuditCommand {
  static override summary = 'Overview of a range: totals, events, levels, actors, failures, peaks, models'
  static override description = paragraphs`An aureport-style report over the rotated logs in the directory: the range present and the range
selected, files read, total entries, entries by event and by level, top actors, unique actors and IPs,
failures (events ending .fail/.failed/.denied/.error, or level error) with the latest few, error rate,
peak hour, a per-day histogram, and model usage where entries carry details.model.

The default range is the last 24 hours (with only --until, the 24 hours before it); when the log ended earlier than that (an archived copy), it is
the last 24 hours of the log, and the report says so. --all reads everything.
Whole-file aggregates are cached in $XDG_CACHE_HOME/auditkit (checked against each file's inode, size,
mtime and ctime), so repeated reports over closed files are fast; --no-cache reads everything afresh.
Exit 0 when entries were found, 1 when none, 3 when a log file could not be read.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --dir /var/log/myapp/audit',
    '<%= config.bin %> <%= command.id %> --all --json',
    '<%= config.bin %> <%= command.id %> --since yesterday --until today --event "api.*"',
  ]

  static override flags = {
    all: Flags.boolean({description: 'the whole log, not the last 24 hours', exclusive: ['since']}),
    json: jsonFlag('print the report as one JSON document'),
    top: Flags.integer({description: 'how many top actors to list', default: 10, min: 1}),
    'no-cache': Flags.boolean({description: 'neither use nor update the per-file aggregate cache'}),
    ...filterFlags,
  }

  async run(): Promise<SummaryAnswer> {
    const {flags} = await this.parse(Summary)
    const config = this.settings(flags)
    const now = Date.now()
    const profile = flags.profile
    const {spec, revealer} = readerPrivacy(config, filterSpecFromFlags(flags, now), (line) => this.warnLine(`audit summary: ${line}`))
    let logEnded = false
    let unreadable: Problem | undefined
    if (!flags.all && spec.since === undefined) {
      // With only --until, the default window is the 24 hours before it.
      if (spec.until === undefined)
        ({since: spec.since, until: spec.until, logEnded, unreadable} = await defaultRange(config.dir, now, profile))
      else spec.since = spec.until - DEFAULT_WINDOW_MS
    }
    const diagnostics = new Diagnostics()
    const cacheDir = flags['no-cache'] ? undefined : join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'auditkit')
    const progress = Progress.forTerminal()
    const report = await summarize(config.dir, {
      filter: spec,
      profile,
      diagnostics,
      topActors: flags.top,
      cacheDir,
      local: flags.local,
      onProgress: progress && ((p) => progress.show(`summarizing: file ${p.done}/${p.files}`)),
    })
    progress?.clear()
    // The range was chosen without a file that could not be read; told once, if the report's own reading did not meet it.
    if (unreadable && !diagnostics.counts().unreadable) diagnostics.report(unreadable)
    this.reportProblems(diagnostics)
    // Grouped by blind index (so the cache holds no plaintext), revealed only now.
    const names = await revealBlindActors(
      config,
      [...report.top_actors.map((r) => r.name), ...report.failures.latest.map((f) => f.actor)],
      revealer,
    )
    if (names.size > 0) {
      for (const row of report.top_actors) row.name = names.get(row.name) ?? row.name
      for (const failure of report.failures.latest) failure.actor = names.get(failure.actor) ?? failure.actor
    }
    const answer: SummaryAnswer = {...report, range: {...report.range, default_window_moved_to_log_end: logEnded}}
    if (flags.json) {
      printJson(answer, 2)
    } else {
      const {renderSummary} = await import('../summary/render.js')
      print(renderSummary(report, await this.paint(flags), {logEnded, local: flags.local}))
    }
    if (report.total === 0) {
      await this.noteMissingLogFiles(config.dir)
      // An unreadable file (exit 3) is the stronger answer: nothing matched in what could be read.
      if (process.exitCode !== EXIT.outside) process.exitCode = EXIT.negative
    }
    return answer
  }
}

/** The report (the --json document), saying whether the default window moved to where the log ended. */
export type SummaryAnswer = SummaryReport & {range: SummaryReport['range'] & {default_window_moved_to_log_end: boolean}}
