import {Args, Flags} from '@oclif/core'

import {AuditCommand, UserError} from '../cli/base.js'
import {jsonFlag, LEVEL_NAMES} from '../cli/flags.js'
import {printJson} from '../cli/output.js'
import {paragraphs} from '../cli/text.js'
import type {Config} from '../config/schema.js'
import {readAtMost} from '../bounded-read.js'
import {type AuditEntry, LEVELS, levelRank, MAX_LINE_BYTES, parseLevel} from '../events/model.js'
import {checkWriteInput, defaultActor, jsonProblem, WriteInputError} from '../events/write-input.js'
import type {RemovedFile} from '../store/retention.js'
import {LogWriter} from '../store/writer.js'
import {writerSettings} from '../store/writer-settings.js'
import {WriterForwarder} from '../transport/forward.js'

/** Reads a details document (a JSON object) from text the user gave. */
function parseDetails(text: string, source: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new UserError(`${source}: not JSON (${(error as Error).message.split('\n', 1)[0]})`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UserError(`${source}: expected a JSON object`)
  // JSON.parse rounds integers beyond 2^53: the entry would say something else than the input.
  const problem = jsonProblem(value, 'details', {exactIntegers: true})
  if (problem) throw new UserError(`${source}: ${problem}`)
  return value as Record<string, unknown>
}

/** A file's text, or standard input's for "-" (read as a stream: a pipe may be non-blocking), refused past MAX_LINE_BYTES. */
async function readSource(path: string, source: string): Promise<string> {
  let bytes: Buffer
  try {
    if (path === '-') {
      const chunks: Buffer[] = []
      let total = 0
      for await (const chunk of process.stdin) {
        chunks.push(chunk as Buffer)
        total += (chunk as Buffer).length
        if (total > MAX_LINE_BYTES) break // an endless source (< /dev/zero) is not read whole
      }
      bytes = Buffer.concat(chunks)
    } else {
      bytes = readAtMost(path, MAX_LINE_BYTES)
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new UserError(
      `${source}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (error as Error).message}`,
    )
  }
  if (bytes.length > MAX_LINE_BYTES)
    throw new UserError(`${source}: over ${MAX_LINE_BYTES} bytes; readers accept at most ${MAX_LINE_BYTES} per entry`)
  return bytes.toString('utf8')
}

/** Why the writer's settings dropped an entry (AuditWriter.write resolved with nothing). */
function droppedBecause(config: Config, input: {event: string; level: string}): string {
  if (!config.enabled) return 'writing is disabled (enabled: false, or AUDIT_DISABLED)'
  const level = parseLevel(input.level)
  if (level && levelRank(level) < levelRank(config.level))
    return `level ${level} is below the configured level ${config.level} (level, or AUDIT_LEVEL)`
  return `event ${input.event} matches exclude_events`
}

export default class Log extends AuditCommand {
  static override summary = 'Append one event to the audit log (chained, locked, rotated)'
  static override description = paragraphs`Appends one entry to the log directory, chained from the last entry on disk, under the
directory lock, so concurrent writers never fork the chain. Rotation (daily, by size), compression and
retention follow the configuration (max_file_size, compress, retention_days); entries below the
configured level or matching exclude_events are dropped, and nothing is written when writing is
disabled (AUDIT_DISABLED=1). Details come from --detail KEY=VALUE pairs (string values), and/or one
JSON object from --details-json, --details-file or standard input (DETAILS "-"); pairs override
members of the object. Silent on success; exit 2 with a one-line reason on bad input, with nothing
written. --prune applies retention now instead of (or after) appending.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> auth.fail --actor bob --level warning --detail ip=10.0.0.5',
    `<%= config.bin %> <%= command.id %> deploy.finish --details-json '{"version":"1.4.2","ok":true}'`,
    "jq -n '{files: 3}' | <%= config.bin %> <%= command.id %> backup.done -",
    '<%= config.bin %> <%= command.id %> --prune --retention-days 90',
  ]

  static override args = {
    // ignoreStdin: oclif would otherwise fill a missing argument from piped input, which is --details-file -'s.
    event: Args.string({
      description: 'event name, category.action[.more] in lowercase [a-z0-9_-] segments (e.g. auth.login)',
      ignoreStdin: true,
    }),
    details: Args.string({description: '"-" to read the details JSON object from standard input', ignoreStdin: true}),
  }

  static override flags = {
    level: Flags.string({
      char: 'l',
      description: `entry level: ${LEVELS.join(', ')} (warn and err accepted)`,
      options: LEVEL_NAMES,
      default: 'info',
    }),
    actor: Flags.string({char: 'a', description: 'who did it (default: the OS user running the command)'}),
    detail: Flags.string({char: 'D', multiple: true, description: 'a details member KEY=VALUE, value kept as a string (repeatable)'}),
    'details-json': Flags.string({description: 'details as a JSON object'}),
    'details-file': Flags.string({description: 'file holding the details JSON object ("-": standard input)'}),
    prune: Flags.boolean({
      description: 'apply retention now: record the files older than retention_days in a chained audit.retention event, then remove them',
    }),
    'retention-days': Flags.integer({
      description: 'retention for this run (default: config retention_days, $AUDIT_RETENTION_DAYS)',
      min: 0,
    }),
    json: jsonFlag('print the appended entry (and with --prune the removed files) as JSON'),
  }

  async run(): Promise<LogAnswer> {
    const {args, flags} = await this.parse(Log)
    if (!args.event && !flags.prune) throw new UserError('missing EVENT (or --prune)')
    if (args.details !== undefined && args.details !== '-')
      throw new UserError(`unexpected argument "${args.details}": only "-" (details from standard input) may follow EVENT`)
    const sources = [
      flags['details-json'] === undefined ? '' : '--details-json',
      flags['details-file'] === undefined ? '' : '--details-file',
      args.details === '-' ? '"-"' : '',
    ].filter(Boolean)
    if (sources.length > 1) throw new UserError(`${sources.join(' and ')}: give the details JSON one way only`)
    const details = args.event ? await this.details(flags, args.details === '-') : {}
    const config = this.settings(flags, flags['retention-days'] === undefined ? {} : {retention_days: flags['retention-days']})
    if (flags.prune && config.retention_days === 0)
      throw new UserError(
        '--prune: retention_days is 0 (keep everything); set it with --retention-days, $AUDIT_RETENTION_DAYS or the config',
      )

    // Bad input is refused before the directory is touched (opening creates it and repairs a torn line).
    const input = {event: args.event ?? '', level: flags.level, actor: flags.actor ?? defaultActor(), details}
    if (args.event) {
      try {
        checkWriteInput(input)
      } catch (error) {
        throw error instanceof WriteInputError ? new UserError(error.message) : error
      }
      const bytes = Buffer.byteLength(JSON.stringify(details))
      if (bytes > MAX_LINE_BYTES) throw new UserError(`details are ${bytes} bytes; readers accept at most ${MAX_LINE_BYTES} per entry`)
    }

    // Test-only: shifts the writer's clock, so tests can write "on another day" through the real binary.
    const offset = Number(process.env.AUDIT_TEST_NOW_OFFSET_MS ?? 0)
    const writer = await LogWriter.open(config.dir, writerSettings(config), {
      now: offset ? () => Date.now() + offset : undefined,
      onError: (error) => this.warnLine(`audit log: warning: ${error.message}`),
      forwarder: (onError) => WriterForwarder.fromSettings(config.syslog, onError),
    })
    try {
      const written = args.event ? await writer.write(input) : undefined
      const removed = flags.prune ? await writer.prune() : undefined
      // A dropped entry is said so: silence would read as "written".
      const dropped = args.event && !written ? droppedBecause(config, input) : undefined
      if (dropped) this.warnLine(`audit log: not written: ${dropped}`)
      const answer: LogAnswer = removed
        ? {entry: written?.entry ?? null, ...(dropped ? {dropped} : {}), removed}
        : (written?.entry ?? {dropped: true, reason: dropped})
      if (flags.json) printJson(answer)
      return answer
    } catch (error) {
      throw error instanceof WriteInputError ? new UserError(error.message) : error
    } finally {
      await writer.close()
    }
  }

  /** Details from the JSON source (if any) with the --detail pairs on top. */
  private async details(
    flags: {detail?: string[]; 'details-json'?: string; 'details-file'?: string},
    stdin: boolean,
  ): Promise<Record<string, unknown>> {
    let details: Record<string, unknown> = {}
    if (flags['details-json'] !== undefined) details = parseDetails(flags['details-json'], '--details-json')
    else if (flags['details-file'] !== undefined)
      details = parseDetails(
        await readSource(flags['details-file'], `--details-file ${flags['details-file']}`),
        `--details-file ${flags['details-file']}`,
      )
    else if (stdin) details = parseDetails(await readSource('-', 'standard input'), 'standard input')
    for (const pair of flags.detail ?? []) {
      const eq = pair.indexOf('=')
      if (eq <= 0) throw new UserError(`--detail "${pair}": expected KEY=VALUE with a non-empty KEY`)
      // Defined, not assigned: a key "__proto__" is a member like any other.
      Object.defineProperty(details, pair.slice(0, eq), {value: pair.slice(eq + 1), enumerable: true, writable: true, configurable: true})
    }
    return details
  }
}

/**
 * What was done (the --json document): the entry appended, or why it was dropped; with --prune,
 * the entry (if any) and the files removed.
 */
export type LogAnswer = AuditEntry | {dropped: true; reason?: string} | {entry: AuditEntry | null; dropped?: string; removed: RemovedFile[]}
