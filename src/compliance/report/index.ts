import {safeJson} from '../../text/sanitize.js'
import {type ComplianceReport, evaluate, type Standard} from './controls.js'
import {type GatherOptions, gatherFacts, revealFacts} from './facts.js'
import {renderHtml} from './html.js'
import {renderMarkdown} from './markdown.js'

export {type ComplianceReport, type Control, STANDARDS, type Standard, STATUS_LABEL, type Status} from './controls.js'
export type {ComplianceFacts} from './facts.js'

export const REPORT_FORMATS = ['markdown', 'html', 'json'] as const
export type ReportFormat = (typeof REPORT_FORMATS)[number]

/** Gathers the facts of a log directory and judges them against one standard. */
export async function complianceReport(dir: string, standard: Standard, options: GatherOptions): Promise<ComplianceReport> {
  const facts = await gatherFacts(dir, options)
  await revealFacts(facts, options.revealNames)
  return evaluate(standard, facts)
}

export function renderReport(report: ComplianceReport, format: ReportFormat): string {
  if (format === 'html') return renderHtml(report)
  if (format === 'json') return `${safeJson(report, 2)}\n`
  return renderMarkdown(report)
}
