import type {KeyObject} from 'node:crypto'

import {Args, Flags} from '@oclif/core'

import {AuditCommand, EXIT, UserError} from '../cli/base.js'
import {filterFlags, filterSpecFromFlags} from '../cli/flags.js'
import {readerPrivacy, revealBlindActors} from '../cli/privacy.js'
import {paragraphs} from '../cli/text.js'
import {print} from '../cli/output.js'
import {
  type ComplianceReport,
  complianceReport,
  REPORT_FORMATS,
  renderReport,
  STANDARDS,
  type Standard,
} from '../compliance/report/index.js'
import {CheckpointError, loadPublicKey} from '../integrity/checkpoint.js'
import {parseTimeExpression} from '../events/time.js'
import {Diagnostics} from '../store/diagnostics.js'
import {FileSink} from '../transport/file.js'

export default class Report extends AuditCommand {
  static override summary = 'Compliance report (SOC 2, HIPAA, GDPR) with the evidence from the log'
  static override description = paragraphs`Reads the range (the last 30 days by default; every filter of search applies), verifies the
chain and its checkpoints, runs the detectors of audit analyze (no LLM) and judges each control of
the standard: met, attention, not met, or cannot be established from the log, which says why
instead of guessing. Each control lists its evidence: counts, and file:line of representative
entries. Every report ends with the usage: entries, requests, unique users, error rate, models.
Exit 0 when no control is "not met", 1 when one is, 2 on bad usage, 3 when a log file could not be
read.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> soc2',
    '<%= config.bin %> <%= command.id %> hipaa --since 90d --pubkey /etc/auditkit/audit-seal.pub',
    '<%= config.bin %> <%= command.id %> gdpr --format html --output gdpr.html',
    '<%= config.bin %> <%= command.id %> soc2 --format json | jq .verdict',
  ]

  static override args = {
    standard: Args.string({description: 'the standard: soc2, hipaa or gdpr', options: [...STANDARDS], required: true}),
  }

  static override flags = {
    format: Flags.string({
      char: 'o',
      description: 'markdown, html (one self-contained page) or json',
      options: [...REPORT_FORMATS],
      default: 'markdown',
    }),
    output: Flags.string({description: 'write the report to FILE (0600, atomically) instead of standard output'}),
    pubkey: Flags.string({description: 'Ed25519 public key (PEM) to check checkpoint signatures with'}),
    ...filterFlags,
  }

  async run(): Promise<ComplianceReport> {
    const {args, flags} = await this.parse(Report)
    const config = this.settings(flags)
    const now = Date.now()
    const given = filterSpecFromFlags(flags, now)
    // Reports cover a period: the last 30 days unless a start is given.
    given.since ??= parseTimeExpression('30d', {now, local: flags.local})
    // Sealed privacy values: --actor and --where match by blind index; names are revealed with the keystore.
    const {spec: filter, revealer} = readerPrivacy(config, given, (line) => this.warnLine(`audit report: ${line}`))
    let pubkey: KeyObject | undefined
    try {
      pubkey = flags.pubkey ? await loadPublicKey(flags.pubkey) : undefined
    } catch (error) {
      if (error instanceof CheckpointError) throw new UserError(`--pubkey: ${error.message}`)
      throw error
    }
    const diagnostics = new Diagnostics()
    const report = await complianceReport(config.dir, args.standard as Standard, {
      config,
      filter,
      profile: flags.profile,
      now,
      pubkey,
      diagnostics,
      revealNames: (names) => revealBlindActors(config, names, revealer),
    })
    const text = renderReport(report, flags.format as (typeof REPORT_FORMATS)[number])
    if (flags.output && flags.output !== '-') {
      const sink = await FileSink.open(flags.output)
      await sink.write(text)
      await sink.close()
    } else {
      print(text)
    }
    this.reportProblems(diagnostics)
    if (process.exitCode !== EXIT.outside) process.exitCode = report.verdict === 'not-met' ? EXIT.negative : EXIT.ok
    return report
  }
}
