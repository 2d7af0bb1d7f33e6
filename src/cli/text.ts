/**
 * Help text written as paragraphs: single line breaks in the source are spaces, so oclif and the
 * man pages wrap the text to the reader's width; a blank line starts a new paragraph.
 */
export function paragraphs(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = strings.reduce((out, part, i) => out + part + (i < values.length ? String(values[i]) : ''), '')
  return text
    .split(/\n[ \t]*\n/)
    .map((paragraph) =>
      paragraph
        .split('\n')
        .map((line) => line.trim())
        .join(' ')
        .trim(),
    )
    .join('\n\n')
}
