import {writeFileSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {AuditCommand, EXIT, UserError} from '../cli/base.js'
import {filterFlags, filterSpecFromFlags, jsonFlag} from '../cli/flags.js'
import {jsonDocument, print} from '../cli/output.js'
import type {AnalyzeReport} from '../analyze/report.js'
import {OutsideError} from '../errors.js'

const SEVERITY_OPTIONS = ['low', 'medium', 'high', 'critical'] as const

export default class Analyze extends AuditCommand {
  static override summary = 'Find what looks wrong in a range: detectors, a local LLM, alerts'
  static override description =
    `Deterministic detectors always run over the range (brute force, request-rate and error-rate spikes, privileged actions outside working hours, first-seen actors/IPs/events against a baseline window, models outside an allow-list, silence, integrity problems); thresholds are in the config's analyze section. Then, unless --no-llm, a local Ollama model gets the aggregates, the findings and a sample of representative entries (never the raw log; --redact values are replaced first) and adds its own findings, each citing entries of its input. When Ollama fails, the report still comes out with one line saying why (exit 3 with --strict).

Sources: the audit logs (every search filter applies; default range the last 24 hours), --input FILE|- (syslog or nginx lines), or --loki URL --query LOGQL. Exit 0 when the report was made; 1 with --fail-on when a finding is at or above that severity; 3 with --strict when Ollama or a webhook failed.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --since 1h --no-llm',
    '<%= config.bin %> <%= command.id %> --since 1d --prompt security --format html --output r.html',
    '<%= config.bin %> <%= command.id %> --since 5m --notify slack --min-severity high',
    'journalctl -o short --since -1h | <%= config.bin %> <%= command.id %> --input -',
  ]

  static override flags = {
    input: Flags.string({
      description: 'read plain text log lines (syslog, nginx) from FILE, or - for standard input',
      exclusive: ['loki'],
      helpGroup: 'SOURCE',
    }),
    loki: Flags.string({
      description: 'read from a Loki server (base URL) through /loki/api/v1/query_range',
      dependsOn: ['query'],
      helpGroup: 'SOURCE',
    }),
    query: Flags.string({description: 'the LogQL log query for --loki, e.g. {job="nginx"}', dependsOn: ['loki'], helpGroup: 'SOURCE'}),
    'no-llm': Flags.boolean({description: 'the detectors alone; Ollama is not asked', helpGroup: 'LLM'}),
    'ollama-host': Flags.string({description: 'Ollama server (default: OLLAMA_HOST, config ollama.host)', helpGroup: 'LLM'}),
    model: Flags.string({description: 'Ollama model (default: config analyze.llm.model, llama3.1:8b)', helpGroup: 'LLM'}),
    prompt: Flags.option({
      description: 'what the model looks for (prompts in config/prompts/ of the package)',
      options: ['general', 'security', 'performance'] as const,
      helpGroup: 'LLM',
    })(),
    'num-ctx': Flags.integer({
      description: "the model's context size in tokens; the input is sized to it (default 8192)",
      min: 1024,
      helpGroup: 'LLM',
    }),
    timeout: Flags.integer({description: 'seconds to wait for each Ollama answer (default 120)', min: 1, helpGroup: 'LLM'}),
    redact: Flags.string({
      description: 'a field path whose values never leave the process, e.g. actor or details.ip (repeatable)',
      multiple: true,
      helpGroup: 'LLM',
    }),
    strict: Flags.boolean({description: 'exit 3 when Ollama or a webhook failed (the report still comes out)'}),
    format: Flags.option({
      description: 'report format',
      options: ['terminal', 'markdown', 'json', 'html'] as const,
      default: 'terminal',
      helpGroup: 'OUTPUT',
    })(),
    json: jsonFlag('the report as one JSON document (same as --format json)', {helpGroup: 'OUTPUT'}),
    output: Flags.string({description: 'write the report to FILE (0600) instead of standard output', helpGroup: 'OUTPUT'}),
    notify: Flags.option({
      description: 'send the findings to a webhook (URL from config analyze.notify or AUDIT_DISCORD_WEBHOOK / AUDIT_SLACK_WEBHOOK)',
      options: ['discord', 'slack'] as const,
      helpGroup: 'OUTPUT',
    })(),
    'min-severity': Flags.option({
      description: 'least severity sent by --notify (default: config, medium)',
      options: SEVERITY_OPTIONS,
      helpGroup: 'OUTPUT',
    })(),
    'fail-on': Flags.option({
      description: 'exit 1 when a finding is at or above this severity',
      options: SEVERITY_OPTIONS,
      helpGroup: 'OUTPUT',
    })(),
    ...filterFlags,
  }

  async run(): Promise<AnalyzeReport> {
    const {flags} = await this.parse(Analyze)
    const config = this.settings(flags)
    const now = Date.now()
    const filter = filterSpecFromFlags(flags, now)
    const settings = config.analyze
    const webhook =
      flags.notify &&
      (flags.notify === 'discord'
        ? process.env.AUDIT_DISCORD_WEBHOOK || settings.notify.discord_webhook
        : process.env.AUDIT_SLACK_WEBHOOK || settings.notify.slack_webhook)
    if (flags.notify && !webhook)
      throw new UserError(
        `--notify ${flags.notify}: no webhook URL (set analyze.notify.${flags.notify}_webhook in the config or AUDIT_${flags.notify.toUpperCase()}_WEBHOOK)`,
      )

    const {runAnalyze, defaultStatePath} = await import('../analyze/run.js')
    const {report, diagnostics} = await runAnalyze({
      config,
      filter,
      profile: flags.profile,
      now,
      input: flags.input,
      loki: flags.loki ? {url: flags.loki, query: flags.query!} : undefined,
      llm: flags['no-llm']
        ? undefined
        : {
            host: flags['ollama-host'] ?? config.ollama.host,
            model: flags.model ?? settings.llm.model,
            prompt: flags.prompt ?? settings.llm.prompt,
            numCtx: flags['num-ctx'] ?? settings.llm.num_ctx,
            timeoutMs: (flags.timeout ?? settings.llm.timeout_seconds) * 1000,
          },
      redact: flags.redact,
    })
    for (const line of diagnostics.lines()) this.warnLine(line)

    const format = flags.json ? 'json' : flags.format
    let text: string
    if (format === 'json') text = jsonDocument(report, 2)
    else if (format === 'markdown') text = (await import('../analyze/render/markdown.js')).renderMarkdown(report)
    else if (format === 'html') text = (await import('../analyze/render/html.js')).renderHtml(report)
    else
      text = (await import('../analyze/render/terminal.js')).renderTerminal(
        report,
        await this.paint(flags.output ? {'no-color': true} : flags),
      )
    if (flags.output) writeFileSync(flags.output, text, {mode: 0o600})
    else print(text)

    let outsideFailed = false
    if (report.llm.status === 'failed') {
      this.warnLine(`audit analyze: the LLM part failed: ${report.llm.reason}`)
      outsideFailed = true
    }
    if (flags.notify && webhook) {
      const {notify} = await import('../analyze/alerts/notify.js')
      try {
        const sent = await notify(report, {
          target: flags.notify,
          url: webhook,
          minSeverity: flags['min-severity'] ?? settings.notify.min_severity,
          statePath: settings.notify.state_file || defaultStatePath(),
          windowMs: settings.notify.dedup_window_minutes * 60_000,
          now,
        })
        this.warnLine(
          `audit analyze: ${flags.notify}: ${sent.sent} finding(s) sent${sent.repeated ? `, ${sent.repeated} already sent within the window` : ''}${sent.below ? `, ${sent.below} below the least severity` : ''}`,
        )
      } catch (error) {
        if (!(error instanceof OutsideError)) throw error
        this.warnLine(`audit analyze: alert not sent: ${error.message}`)
        outsideFailed = true
      }
    }
    if (outsideFailed && flags.strict) process.exitCode = EXIT.outside
    else if (flags['fail-on']) {
      const {severityRank} = await import('../analyze/report.js')
      if (report.findings.some((f) => severityRank(f.severity) >= severityRank(flags['fail-on']!))) process.exitCode = EXIT.negative
    }
    return report
  }
}
