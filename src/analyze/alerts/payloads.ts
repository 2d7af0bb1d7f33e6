import {sanitizeLine} from '../../text/sanitize.js'
import type {AnalyzeReport, Finding, Severity} from '../report.js'

const COLOUR: Record<Severity, number> = {critical: 0x8b0000, high: 0xd9362b, medium: 0xe69b00, low: 0x2b7bd9}
const EMOJI: Record<Severity, string> = {
  critical: ':rotating_light:',
  high: ':red_circle:',
  medium: ':large_orange_circle:',
  low: ':large_blue_circle:',
}

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text)
/** Log text in a chat message: one line, no mentions or markup that would ping or link. */
const clean = (text: string) => sanitizeLine(text).replace(/@/g, '@\u200b').replace(/[<>]/g, '')
const slackClean = (text: string) =>
  clean(text)
    .replace(/&/g, '&amp;')
    .replace(/[*_~`]/g, '')

function where(f: Finding): string {
  return f.evidence
    .slice(0, 5)
    .map((e) => `${e.file}:${e.line}`)
    .join(', ')
}

/** Discord: one embed per finding (at most 10 a message), coloured by severity. */
export function discordPayload(report: AnalyzeReport, findings: Finding[]): object {
  return {
    username: 'audit analyze',
    content: cut(
      `${findings.length} finding(s) in ${clean(report.source)} (${report.range.since ?? 'start'} – ${report.range.until ?? 'now'})`,
      2000,
    ),
    allowed_mentions: {parse: []},
    embeds: findings.slice(0, 10).map((f) => ({
      title: cut(clean(f.title), 256),
      description: cut(`${clean(f.explanation)}\n\n**Recommendation:** ${clean(f.recommendation)}`, 4096),
      color: COLOUR[f.severity],
      fields: [
        {name: 'Severity', value: f.severity, inline: true},
        {name: 'Category', value: f.category, inline: true},
        {name: 'Count', value: String(f.count), inline: true},
        ...(f.actors.length ? [{name: 'Actors', value: cut(f.actors.map(clean).join(', '), 1024), inline: false}] : []),
        ...(f.ips.length ? [{name: 'IPs', value: cut(f.ips.map(clean).join(', '), 1024), inline: false}] : []),
        ...(f.evidence.length ? [{name: 'Evidence', value: cut(clean(where(f)), 1024), inline: false}] : []),
      ],
      ...(f.first_seen ? {timestamp: f.first_seen} : {}),
    })),
  }
}

/** Slack Block Kit: a header, then a section per finding (at most 20, under the 50-block limit). */
export function slackPayload(report: AnalyzeReport, findings: Finding[]): object {
  const title = `${findings.length} finding(s) in ${slackClean(report.source)}`
  return {
    text: cut(title, 3000),
    blocks: [
      {type: 'header', text: {type: 'plain_text', text: cut(`audit analyze: ${title}`, 150)}},
      ...findings.slice(0, 20).flatMap((f) => [
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: cut(
              `${EMOJI[f.severity]} *${f.severity.toUpperCase()}* ${slackClean(f.title)}\n${slackClean(f.explanation)}\n_Recommendation:_ ${slackClean(f.recommendation)}`,
              3000,
            ),
          },
        },
        {
          type: 'context',
          elements: [
            {
              type: 'mrkdwn',
              text: cut(
                `${f.category} · count ${f.count}${f.actors.length ? ` · actors ${f.actors.map(slackClean).join(', ')}` : ''}${f.ips.length ? ` · IPs ${f.ips.map(slackClean).join(', ')}` : ''}${f.evidence.length ? ` · ${slackClean(where(f))}` : ''}`,
                3000,
              ),
            },
          ],
        },
      ]),
    ],
  }
}
