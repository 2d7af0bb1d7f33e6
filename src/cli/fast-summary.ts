import {homedir} from 'node:os'
import {join} from 'node:path'

import {plainConfig, plainFlags} from './fast.js'

/**
 * `audit summary` on the start-up fast path (see fast.ts): without filters or --top, over a log
 * whose reading met no problem and found entries. The report is built as the command builds it
 * (src/commands/summary.ts) and printed by the same code; anything else is oclif's, from the start.
 * A warm cache makes the rest of a summary so quick that oclif's start-up would be most of it.
 */
export async function prepareSummary(args: string[]): Promise<(() => Promise<void>) | undefined> {
  const values = plainFlags(args, {all: {type: 'boolean'}, json: {type: 'boolean'}, 'no-cache': {type: 'boolean'}})
  if (!values) return undefined

  const [config, {Diagnostics}, {defaultRange, summarize}, {Progress}] = await Promise.all([
    plainConfig(values),
    import('../store/diagnostics.js'),
    import('../summary/summarize.js'),
    import('./progress.js'),
  ])
  // Sealed privacy values are revealed at render by the full command (src/cli/privacy.ts).
  if (!config) return undefined
  const now = Date.now()
  // The spec of `summary` without filter flags (filterSpecFromFlags), the default range as the command sets it.
  const spec: {since?: number; until?: number} = {}
  let logEnded = false
  if (!values.all) {
    const range = await defaultRange(config.dir, now)
    if (range.unreadable) return undefined
    ;({since: spec.since, until: spec.until, logEnded} = range)
  }
  const diagnostics = new Diagnostics()
  const cacheDir = values['no-cache'] ? undefined : join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'auditkit')
  const progress = Progress.forTerminal()
  const report = await summarize(config.dir, {
    filter: spec,
    diagnostics,
    topActors: 10,
    cacheDir,
    onProgress: progress && ((p) => progress.show(`summarizing: file ${p.done}/${p.files}`)),
  })
  progress?.clear()
  // Problems to tell, or nothing found (a note, exit 1): oclif's to say.
  if (diagnostics.lines().length > 0 || report.total === 0) return undefined

  const [{guardStdout}, {print, printJson}] = await Promise.all([import('./stdout-guard.js'), import('./output.js')])
  let text: string | undefined
  if (!values.json) {
    const [{renderSummary}, {loadPaint}] = await Promise.all([import('../summary/render.js'), import('../formats/paint.js')])
    const paint = await loadPaint(!values['no-color'] && !process.env.NO_COLOR && Boolean(process.stdout.isTTY))
    text = renderSummary(report, paint, {logEnded, local: undefined})
  }
  return async () => {
    guardStdout('audit summary')
    if (text === undefined) printJson({...report, range: {...report.range, default_window_moved_to_log_end: logEnded}}, 2)
    else print(text)
  }
}
