import {EXIT} from '../errors.js'
import {sanitizeLine} from '../text/sanitize.js'
import {describeFsError} from '../store/files.js'

let installed = false
let speaker = 'audit'

/**
 * Standard output that cannot be written (a full disk under a cron redirect, /dev/full, a reset
 * socket) must not read as an answer: one line and exit 3, whatever was being written — a report,
 * help or the version. A closed pipe (`| head`) stays quiet, as oclif already arranges.
 * Prepended, so it runs before oclif's own listener, which rethrows all but EPIPE as a stack trace.
 * `name` is who says it: `audit search` once a command runs.
 */
export function guardStdout(name?: string): void {
  if (name) speaker = name
  if (installed) return
  installed = true
  process.stdout.prependListener('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') return
    process.stderr.write(`${sanitizeLine(`${speaker}: error: standard output: ${describeFsError(error)}`)}\n`)
    process.exit(EXIT.outside)
  })
}
