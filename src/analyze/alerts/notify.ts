import {postWebhook} from '../../transport/webhook.js'
import {type AnalyzeReport, type Severity, severityRank} from '../report.js'
import {DedupState} from './dedup.js'
import {discordPayload, slackPayload} from './payloads.js'

export interface NotifyOptions {
  target: 'discord' | 'slack'
  url: string
  minSeverity: Severity
  statePath: string
  windowMs: number
  now: number
  sleep?: (ms: number) => Promise<void>
}

export interface NotifyResult {
  sent: number
  /** Left out as already sent within the window. */
  repeated: number
  /** Below --min-severity. */
  below: number
}

/** Sends the findings at or above the least severity that were not sent within the window; marks them sent only once delivered. */
export async function notify(report: AnalyzeReport, options: NotifyOptions): Promise<NotifyResult> {
  const wanted = report.findings.filter((f) => severityRank(f.severity) >= severityRank(options.minSeverity))
  const state = DedupState.open(options.statePath)
  const fresh = state.fresh(wanted, options.now, options.windowMs)
  const result = {sent: 0, repeated: wanted.length - fresh.length, below: report.findings.length - wanted.length}
  if (fresh.length === 0) return result
  const perMessage = options.target === 'discord' ? 10 : 20
  for (let at = 0; at < fresh.length; at += perMessage) {
    const part = fresh.slice(at, at + perMessage)
    const body = options.target === 'discord' ? discordPayload(report, part) : slackPayload(report, part)
    await postWebhook(options.url, body, {name: options.target === 'discord' ? 'Discord' : 'Slack', sleep: options.sleep})
    state.markSent(part, options.now, options.windowMs)
    result.sent += part.length
  }
  return result
}
