import {z} from 'zod'

import type {CanonicalLine, LocatedEntry} from '../events/model.js'
import type {FramingName} from './framing.js'
import type {Paint} from './paint.js'
import type {ByteOut} from './record-bytes.js'

/**
 * What every codec may use beyond its own options: how the command shows time and colour. A
 * codec that has no use for them ignores them.
 */
export interface CodecContext {
  /** Show times in the local zone (terminal formats). */
  local?: boolean
  /** Colours for a terminal; none when absent. */
  paint?: Paint
}

/** Turns one entry into one record: text without the framing (no trailing newline). */
export interface Encoder {
  /** Text before the first record (a CSV header line with its terminator), written once. */
  begin?: string
  encode(located: LocatedEntry): string
  /**
   * The record of a line in the writer's exact form, written as UTF-8 into `out` (record-bytes.ts):
   * the bytes of encode's text for the entry decoded from the line. False, and nothing written, when
   * the line holds anything this road does not take; encode decides then.
   */
  encodeCanonical?(line: CanonicalLine, out: ByteOut): boolean
}

/**
 * One output format, in the spirit of Vector's codecs: a name, its options as a zod schema (with
 * defaults, so `{}` is always valid), and a pure encoder made from them. Framing is chosen apart
 * from encoding; `framing` is the one the codec is written for.
 */
export interface Codec<Options extends z.ZodType = z.ZodType> {
  readonly name: string
  /** One line for --help and error messages. */
  readonly summary: string
  readonly options: Options
  readonly framing: FramingName
  /** IANA media type of the framed output: for HTTP bodies and for file names in archives. */
  readonly mediaType: string
  /** File name extension for an export of this format, without the dot. */
  readonly extension: string
  /**
   * True when a record may hold line breaks of its own (RFC 4180 quoted cells); every other
   * codec keeps each entry on one line, so no log content can forge a second record.
   */
  readonly multiline?: boolean
  create(options: z.output<Options>, context: CodecContext): Encoder
}

/** Lets a registry hold codecs of different option types. */
export function defineCodec<Options extends z.ZodType>(codec: Codec<Options>): Codec {
  return codec as unknown as Codec
}

/** The schema of a codec that takes no options: `{}`, and nothing else. */
export const NO_OPTIONS = z.object({}).strict()
