import {safeJson} from '../text/sanitize.js'

/** Commands write a stream of entries through the stdout sink; `Output` is its name there. */
export {StreamSink as Output} from '../transport/stream.js'

/** Prints a command's answer (text already rendered) on stdout: every command's one way there, but for Output. */
export function print(text: string): void {
  process.stdout.write(text)
}

/**
 * A command's result as one JSON document, the answer of every --json: log content in it
 * sanitised (safeJson), `indent` 2 for a report, none for a document on one line.
 */
export function jsonDocument(result: unknown, indent?: number): string {
  return `${safeJson(result, indent)}\n`
}

/** Prints a command's result as one JSON document (see jsonDocument). */
export function printJson(result: unknown, indent?: number): void {
  print(jsonDocument(result, indent))
}
