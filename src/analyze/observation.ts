import type {Level} from '../events/model.js'

/**
 * One entry as the detectors see it, from an audit log or a plain text line: enough to detect
 * with, small enough to build a million of.
 */
export interface Observation {
  time: number
  event: string
  level: Level
  actor: string
  ip?: string
  model?: string
  /** A failure (an event ending .fail/.denied/…, or level error; for text lines, a failure status or word). */
  failure: boolean
  file: string
  line: number
  /** Before the analysed range: only the baseline. */
  baseline: boolean
}
