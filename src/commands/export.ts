import {Flags} from '@oclif/core'

import {AuditCommand, EXIT, UserError} from '../cli/base.js'
import {filterFlags, filterSpecFromFlags} from '../cli/flags.js'
import {print} from '../cli/output.js'
import {readerPrivacy} from '../cli/privacy.js'
import {OutsideError} from '../errors.js'
import {type CheckResult, checkBundle} from '../export/archive.js'
import {exportBundle} from '../export/bundle.js'
import {destinationFormat, isSyslogDestination, openDestination} from '../export/destination.js'
import {checkRedactPaths, type PrivacyOptions} from '../export/privacy.js'
import {parsePaths} from '../export/project.js'
import {type ExportResult, runExport} from '../export/run.js'
import {CODEC_NAMES} from '../formats/registry.js'
import {Diagnostics} from '../store/diagnostics.js'
import {FileSink} from '../transport/file.js'
import type {Sink} from '../transport/sink.js'
import {StreamSink} from '../transport/stream.js'

export default class Export extends AuditCommand {
  static override summary = 'Export entries in SIEM formats, as evidence bundles, or to a SIEM'
  static override description =
    `Writes the entries that match the filters (the same as search's) in a SIEM format to stdout, a file (atomic, 0600), a syslog server or an HTTP ingestion API. --since-last STATE exports only what came after the last run's last delivered entry. --archive makes an evidence bundle with a manifest of hashes and the chain's verify result; --check BUNDLE re-checks one (exit 1 on any mismatch). Exit 0 when the export was delivered (also when nothing was new), 3 when a destination failed.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --format cef --since yesterday --until today --output audit.cef',
    '<%= config.bin %> <%= command.id %> -o ecs-bulk --format-option index=audit --output bulk.ndjson',
    '<%= config.bin %> <%= command.id %> --since-last export.state -o ocsf --output audit.ocsf.jsonl',
    '<%= config.bin %> <%= command.id %> --since 2026-10-01 --archive zip --output oct.zip',
    '<%= config.bin %> <%= command.id %> --check october.zip',
    '<%= config.bin %> <%= command.id %> --format cef --to tcp://siem.example:514',
    '<%= config.bin %> <%= command.id %> --redact details.email --pseudonymize-ip --format jsonl',
  ]

  static override flags = {
    format: Flags.option({
      char: 'o',
      description: 'output format (default jsonl; csv: fixed columns; --to http picks its own)',
      options: CODEC_NAMES.filter((n) => n !== 'pretty'),
    })(),
    'format-option': Flags.string({
      multiple: true,
      description: 'a codec option KEY=VALUE, e.g. vendor=Acme for cef, index=logs-audit for ecs-bulk (repeatable)',
    }),
    fields: Flags.string({
      multiple: true,
      description: 'keep only these dotted fields of each document (JSON-shaped formats; comma-separated or repeated)',
    }),
    'exclude-fields': Flags.string({multiple: true, description: 'drop these dotted fields of each document (JSON-shaped formats)'}),
    output: Flags.string({char: 'O', description: 'file to write (atomically, mode 0600), or - for stdout (default)', exclusive: ['to']}),
    to: Flags.string({
      description: 'send to udp://, tcp://, tls:// (syslog) or http(s)://…/_bulk, …/services/collector/event, …/loki/api/v1/push',
    }),
    'since-last': Flags.string({
      description: 'state file: export only entries after the last delivered one, then record the new last one (for cron)',
    }),
    archive: Flags.option({
      description: 'write an evidence bundle (export, manifest.json with hashes and verify result) to --output',
      options: ['zip', 'tar.gz'] as const,
      exclusive: ['to'],
    })(),
    'include-source': Flags.boolean({
      description: 'with --archive: add the original log files the entries came from',
      dependsOn: ['archive'],
    }),
    check: Flags.string({
      description: 're-check a bundle against its manifest instead of exporting (exit 1 on any mismatch)',
      exclusive: ['to', 'output', 'archive', 'since-last'],
    }),
    redact: Flags.string({
      multiple: true,
      description: 'replace the value at this path (actor, details.email, details.*.token) in what is exported (repeatable)',
    }),
    'pseudonymize-ip': Flags.boolean({
      description: 'replace IP addresses by keyed HMAC pseudonyms (key: $AUDIT_PSEUDONYMIZE_KEY or config)',
    }),
    reveal: Flags.boolean({
      description:
        'decrypt the sealed privacy.fields values (needs the keystore); without it they go out sealed. --redact and --pseudonymize-ip apply after',
    }),
    ca: Flags.string({description: 'TLS: CA certificate file(s) to trust for --to'}),
    cert: Flags.string({description: 'TLS: client certificate file for --to'}),
    key: Flags.string({description: 'TLS: client key file for --to'}),
    'batch-size': Flags.integer({description: 'HTTP --to: entries per request (default 5000)', min: 1}),
    retries: Flags.integer({description: 'HTTP --to: attempts after the first for 429, 5xx and dropped connections (default 6)', min: 0}),
    'batch-bytes': Flags.integer({description: 'HTTP --to: bytes per request before compression (default 5 MiB)', min: 1024}),
    ...filterFlags,
    all: Flags.boolean({
      description: 'the whole log: the default here, accepted for symmetry with summary',
      exclusive: ['since', 'until', 'since-last'],
      helpGroup: 'FILTER',
    }),
    // --to is the destination here, so --until keeps only its own name.
    until: Flags.string({char: 'U', description: 'entries before this time (same forms as --since)', helpGroup: 'FILTER'}),
  }

  async run(): Promise<ExportResult | CheckResult> {
    const {flags} = await this.parse(Export)
    if (flags.check) return this.check(flags.check)

    const config = this.settings(flags)
    const format = destinationFormat(flags.to, flags.format)
    const now = Date.now()
    const {spec: filter, revealer} = readerPrivacy(config, filterSpecFromFlags(flags, now), (line) =>
      this.warnLine(`audit export: ${line}`),
    )
    if (flags.reveal && !revealer?.canOpen)
      throw new OutsideError(`--reveal: ${revealer?.problem ?? 'privacy.fields is empty: nothing is sealed'}`)
    const diagnostics = new Diagnostics()
    const formatOptions = parseFormatOptions(flags['format-option'])
    const projection = {fields: parsePaths(flags.fields, '--fields'), exclude: parsePaths(flags['exclude-fields'], '--exclude-fields')}
    const privacy: PrivacyOptions = {}
    if (flags.redact) {
      checkRedactPaths(flags.redact)
      privacy.redact = flags.redact
    }
    if (flags['pseudonymize-ip']) {
      const key = process.env.AUDIT_PSEUDONYMIZE_KEY || config.export.pseudonymize_key
      if (!key || key.length < 16)
        throw new UserError(
          '--pseudonymize-ip: no key of at least 16 characters in $AUDIT_PSEUDONYMIZE_KEY or config export.pseudonymize_key',
        )
      privacy.pseudonymizeKey = key
    }
    if (flags['include-source'] && (flags.redact || flags['pseudonymize-ip']))
      throw new UserError('--include-source would put the unredacted log in the bundle: not with --redact or --pseudonymize-ip')
    const progress = process.stderr.isTTY ? (n: number) => process.stderr.write(`\rexported ${n} entries`) : undefined
    const common = {
      dir: config.dir,
      filter,
      profile: flags.profile,
      format,
      formatOptions,
      projection,
      privacy,
      reveal: flags.reveal ? revealer?.reveal.bind(revealer) : undefined,
      sinceLast: flags['since-last'],
      diagnostics,
      onProgress: progress,
      context: {local: flags.local},
    }

    let result: ExportResult
    if (flags.archive) {
      if (!flags.output || flags.output === '-') throw new UserError('--archive needs --output FILE for the bundle')
      const query = Object.fromEntries(
        Object.entries({
          since: flags.since,
          until: flags.until,
          event: flags.event,
          level: flags.level,
          actor: flags.actor,
          where: flags.where,
          grep: flags.grep,
          profile: flags.profile,
          fields: flags.fields,
          exclude_fields: flags['exclude-fields'],
          redact: flags.redact,
          pseudonymize_ip: flags['pseudonymize-ip'] || undefined,
          since_last: flags['since-last'],
        }).filter(([, v]) => v !== undefined),
      )
      ;({result} = await exportBundle({
        ...common,
        output: flags.output,
        kind: flags.archive,
        includeSource: flags['include-source'],
        toolVersion: this.config.version,
        query,
        since: filter.since,
        until: filter.until,
      }))
    } else {
      let sink: Sink
      if (flags.to)
        sink = await openDestination(flags.to, {
          format,
          ca: flags.ca,
          cert: flags.cert,
          key: flags.key,
          batchCount: flags['batch-size'],
          batchBytes: flags['batch-bytes'],
          retries: flags.retries,
          hecToken: process.env.AUDIT_HEC_TOKEN || config.export.hec_token || undefined,
          esApiKey: process.env.AUDIT_ES_API_KEY || undefined,
          lokiTenant: process.env.AUDIT_LOKI_TENANT || undefined,
        })
      else if (flags.output && flags.output !== '-') sink = await FileSink.open(flags.output)
      else sink = new StreamSink()
      const stdout = sink instanceof StreamSink ? sink : undefined
      result = await runExport({
        ...common,
        sink,
        syslogMessages: isSyslogDestination(flags.to),
        stopped: () => stdout?.isClosed ?? false,
      })
    }
    if (progress && result.exported >= 50_000) process.stderr.write('\n')
    if (result.privacy) this.warnLine(`audit export: ${privacySummary(result.privacy, privacy)}`)
    if (result.cutShort && flags['since-last'])
      this.warnLine('audit export: stdout was closed before the end; the --since-last state was not advanced')
    this.reportProblems(diagnostics) // a file left unread (permission, or encrypted without --identity): exit 3
    return result
  }

  private async check(path: string): Promise<CheckResult> {
    const checked = await checkBundle(path)
    const {manifest, kind, problems} = checked
    if (problems.length === 0 && manifest) {
      print(
        `${path}: OK (${kind}, ${manifest.files.length} files, ${manifest.entries} entries, chain ${manifest.verify.valid ? 'valid' : 'NOT valid'} when bundled)\n`,
      )
      return checked
    }
    for (const problem of problems) this.warnLine(`audit export: ${path}: ${problem}`)
    print(`${path}: MISMATCH (${problems.length} ${problems.length === 1 ? 'problem' : 'problems'})\n`)
    process.exitCode = EXIT.negative
    return checked
  }
}

function parseFormatOptions(values: string[] | undefined): Record<string, string> {
  const options: Record<string, string> = {}
  for (const value of values ?? []) {
    const at = value.indexOf('=')
    if (at <= 0) throw new UserError(`--format-option "${value}": expected KEY=VALUE`)
    options[value.slice(0, at)] = value.slice(at + 1)
  }
  return options
}

function privacySummary(counts: {redacted: number; pseudonymized: number}, options: PrivacyOptions): string {
  const parts: string[] = []
  if (options.redact) parts.push(`redacted ${counts.redacted} ${counts.redacted === 1 ? 'value' : 'values'} (${options.redact.join(', ')})`)
  if (options.pseudonymizeKey)
    parts.push(`pseudonymized ${counts.pseudonymized} IP ${counts.pseudonymized === 1 ? 'address' : 'addresses'}`)
  return parts.join('; ')
}
