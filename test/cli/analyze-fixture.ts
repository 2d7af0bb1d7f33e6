/** The log the analyze command tests read: a day of baseline, then two hours with a brute-force burst. */
import {chainedLines, type EntrySpec, tempDir, writeLog} from '../helpers.js'

export const at = (iso: string, minutes: number) => new Date(Date.parse(iso) + minutes * 60_000).toISOString()

/** A day of baseline, then two hours with a brute-force burst from a new actor and IP. */
export function incidentDir(extra: EntrySpec[] = []): string {
  const dir = tempDir()
  const baseline: EntrySpec[] = []
  for (let m = 0; m < 24 * 60; m += 10)
    baseline.push({
      timestamp: at('2026-11-03T00:00:00.000Z', m),
      event: 'auth.login',
      actor: m % 20 ? 'alice' : 'bob',
      details: {ip: m % 20 ? '10.0.0.1' : '10.0.0.2'},
    })
  const range: EntrySpec[] = []
  for (let m = 0; m < 120; m += 5)
    range.push({
      timestamp: at('2026-11-04T10:00:00.000Z', m),
      event: 'api.request',
      actor: 'alice',
      details: {ip: '10.0.0.1', model: 'llama3.2:3b', status: 200},
    })
  for (let i = 0; i < 12; i++)
    range.push({
      timestamp: at('2026-11-04T11:00:00.000Z', i / 2),
      event: 'auth.fail',
      level: 'warning',
      actor: 'mallory',
      details: {ip: '203.0.113.9', reason: 'bad password'},
    })
  range.push(...extra)
  range.sort((a, b) => a.timestamp.localeCompare(b.timestamp))
  const first = chainedLines(baseline)
  writeLog(dir, 'audit-2026-11-03.jsonl', first.lines)
  writeLog(dir, 'audit-2026-11-04.jsonl', chainedLines(range, first.head).lines)
  return dir
}
