import {sanitizeLine} from '../text/sanitize.js'
import {count, type VerifyProblem, type VerifyReport} from './verify/index.js'

/** One problem, in the style of `aws cloudtrail validate-logs`. */
export function formatProblem(p: VerifyProblem): string {
  const where =
    p.kind === 'checkpoint-file' ? `Checkpoint file ${p.file}` : p.kind === 'no-log-files' ? 'Log directory' : `Log file ${p.file}`
  return `${where}${p.line === undefined ? '' : ` line ${p.line}`} INVALID: ${p.message}`
}

export function renderReport(report: VerifyReport, verbose: boolean): string {
  const out: string[] = []
  const present = report.files.filter((f) => !f.missing)
  const profiles = [...new Set(present.map((f) => f.profile))].join(', ')
  const missing = report.files.length - present.length
  out.push(
    `Results for ${report.dir}: ${count(present.length, 'log file')}${profiles ? ` (profile ${profiles})` : ''}${missing > 0 ? `, ${missing} missing` : ''}`,
  )
  if (verbose)
    for (const f of report.files)
      out.push(
        `Log file ${f.file} ${f.missing ? 'MISSING' : f.valid ? `valid (${count(f.entries, 'entry', 'entries')})` : `INVALID (${count(f.problems, 'problem')})`}`,
      )
  out.push(`${report.filesValid}/${count(report.files.length, 'log file')} valid, ${report.filesInvalid} invalid`)
  out.push(
    `${count(report.entries, 'entry', 'entries')} checked${report.unchained > 0 ? `, ${report.unchained} unchained (unprotected)` : ''}`,
  )
  out.push(
    `First problem: ${report.firstProblem ? `${report.firstProblem.file}${report.firstProblem.line === undefined ? '' : `:${report.firstProblem.line}`}` : 'none'}`,
  )
  out.push(`Chain head: ${report.head ? `${report.head.file}:${report.head.line} ${report.head.hash}` : 'none'}`)
  const cp = report.checkpoints
  if (cp) {
    out.push(
      `Checkpoints: ${cp.count} in ${cp.file}, ${cp.signaturesChecked ? `signatures checked with key ${cp.keyId}` : 'signatures NOT checked (no --pubkey)'}`,
    )
  } else {
    out.push('Checkpoints: none (see audit seal)')
  }
  out.push(`Not sealed: ${count(report.notSealed, 'entry', 'entries')}${cp ? ' after the last checkpoint that holds' : ''}`)
  for (const note of report.notes) out.push(`Note: ${note}`)
  const problems = report.problems.length + report.problemsOmitted
  out.push(report.valid ? 'Verdict: VALID' : `Verdict: INVALID (${count(problems, 'problem')})`)
  return out.map((line) => `${sanitizeLine(line)}\n`).join('')
}
