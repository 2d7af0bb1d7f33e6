import type {Hook} from '@oclif/core'

import {EXIT} from '../errors.js'
import {sanitizeLine} from '../text/sanitize.js'

/** Edit distance with adjacent swaps (Damerau), so `serach` is one step from `search`. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/** The commands close enough to `typed` to be what was meant, nearest first. */
export function suggestCommands(typed: string, ids: string[]): string[] {
  const limit = Math.max(1, Math.floor(typed.length / 3))
  return ids
    .map((id) => ({id, distance: id.startsWith(typed) && typed.length >= 2 ? 0 : editDistance(typed, id)}))
    .filter((c) => c.distance <= limit)
    .sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : 1))
    .map((c) => c.id)
}

/** `audit serach`: one line in the style of every other error, with what was probably meant. */
const hook: Hook.CommandNotFound = async ({config, id}) => {
  const ids = config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const [best] = suggestCommands(id, ids)
  const meant = best ? `; did you mean ${best}?` : ''
  process.stderr.write(`${sanitizeLine(`audit: error: unknown command "${id}"${meant} (see audit --help)`)}\n`)
  process.exit(EXIT.usage)
}

export default hook
