import {resolve} from 'node:path'

import {Command, Errors, Flags, type Interfaces} from '@oclif/core'

import {type DeepPartial, loadConfig} from '../config/load.js'
import type {Config} from '../config/schema.js'
import type {FilterSpec} from '../events/filter.js'
import type {Profile} from '../events/model.js'
import {AuditError, EXIT} from '../errors.js'
import {loadPaint, type Paint} from '../formats/paint.js'
import {sanitizeLine} from '../text/sanitize.js'
import type {Diagnostics} from '../store/diagnostics.js'
import {describeFsError, HARD_LINKED, listLogFiles, LogDirectoryError, NOT_REGULAR, UnreadableFileError} from '../store/files.js'
import {useIdentityFile} from '../store/age-keys.js'
import {presentPaths, tidyWhere} from './flags.js'
import {guardStdout} from './stdout-guard.js'

export {EXIT} from '../errors.js'

/** An error the user can fix (usage by default); the name commands use for AuditError. */
export {AuditError as UserError} from '../errors.js'

/** Errors from files the user named. */
const FILE_ERRORS = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'EEXIST', 'ELOOP', NOT_REGULAR, HARD_LINKED])

/** oclif's own constraint on parsed flags and args (its FlagOutput and ArgOutput, not exported). */
// biome-ignore lint/suspicious/noExplicitAny: must match oclif's own FlagOutput, which is any-valued
type ParsedValues = {[name: string]: any}

/** Errors of the storage under a file. */
const STORAGE_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS', 'EIO'])

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof AuditCommand)['baseFlags'] & T['flags']>

/** Flags, configuration and error handling that every auditkit command shares. */
export abstract class AuditCommand extends Command {
  static override baseFlags = {
    dir: Flags.string({
      char: 'd',
      description: 'log directory (default: config `dir`, $AUDIT_DIR, ~/.local/state/auditkit/logs)',
      helpGroup: 'GLOBAL',
    }),
    config: Flags.string({
      description:
        'config file (default: $AUDIT_CONFIG, ./.auditkit/config.yaml, ~/.config/auditkit/config.yaml, /etc/auditkit/config.yaml)',
      helpGroup: 'GLOBAL',
    }),
    'no-color': Flags.boolean({description: 'no colours (also NO_COLOR=1)', helpGroup: 'GLOBAL'}),
  }

  /**
   * Parses as oclif does, then refuses an empty flag value: `--pubkey "$UNSET"` must not quietly
   * mean "no --pubkey" (signatures unchecked) nor `--dir ""` the default directory.
   */
  protected override async parse<F extends ParsedValues, B extends ParsedValues, A extends ParsedValues>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv)
    for (const [name, value] of Object.entries(parsed.flags as Record<string, unknown>)) {
      if (value === '' || (Array.isArray(value) && value.includes(''))) throw new AuditError(`--${name}: empty value`)
    }
    const flags = parsed.flags as {where?: string[]}
    if (flags.where) {
      const {where, hints} = tidyWhere(flags.where)
      flags.where = where
      for (const hint of hints) this.warnLine(`audit ${this.id}: hint: ${hint}`)
    }
    return parsed
  }

  /** Output failures are told as this command's (see guardStdout). */
  protected override async init(): Promise<void> {
    await super.init()
    guardStdout(`audit ${this.id}`)
  }

  /** Set by settings(): the log directory is the built-in default, which no one may have meant. */
  private defaultDir = false
  /** Set by settings(): the config file that named the log directory. */
  private dirFile?: string

  /**
   * Loads the configuration with the command's own settings on top. Encrypted parts are decrypted
   * with --identity (readers; also $AUDIT_IDENTITY) or config `encryption.identity`.
   */
  protected settings(flags: {dir?: string; config?: string; identity?: string}, overrides: DeepPartial<Config> = {}): Config {
    const loaded = loadConfig({file: flags.config, overrides: {...overrides, ...(flags.dir ? {dir: flags.dir} : {})}})
    this.defaultDir = loaded.defaultDir
    this.dirFile = loaded.dirFile
    // Writers too, when the config names one: with it, retention can read (and so record and prune) encrypted parts.
    const identity = flags.identity ?? loaded.config.encryption.identity
    if (identity) useIdentityFile(resolve(identity))
    return loaded.config
  }

  /** Where the log directory came from, for messages about it: the default (and how to choose another) or a config file. */
  private dirHint(): string {
    if (this.defaultDir) return 'the default log directory: choose another with --dir, AUDIT_DIR or `dir` in the config file'
    return this.dirFile ? `\`dir\` in ${this.dirFile}` : ''
  }

  /**
   * Says on stderr when the directory holds no log file at all: an empty answer would otherwise
   * read as "nothing matched" when the command looked in the wrong place.
   */
  protected async noteMissingLogFiles(dir: string): Promise<void> {
    if ((await listLogFiles(dir)).length > 0) return
    this.warnLine(
      `audit ${this.id}: no audit log files in ${dir} (expected audit-YYYY-MM-DD.jsonl${this.dirHint() ? `; ${this.dirHint()}` : ''})`,
    )
  }

  /**
   * After an empty answer: hints at each --where path that no entry in the time range has (a
   * misspelt `details.adress`), which would otherwise read as "no such value". One extra pass,
   * taken only when nothing matched.
   */
  protected async noteAbsentWherePaths(dir: string, filter: FilterSpec, profile?: Profile): Promise<void> {
    const paths = presentPaths(filter.where ?? [])
    if (paths.length === 0) return
    // Loaded here: every command imports this file, and most never need the query.
    const [{countEntries}, {Diagnostics}] = await Promise.all([import('../store/query.js'), import('../store/diagnostics.js')])
    for (const path of paths) {
      const having = await countEntries(dir, {
        filter: {since: filter.since, until: filter.until, where: [`${path}~`]},
        profile,
        diagnostics: new Diagnostics(),
      })
      if (having === 0)
        this.warnLine(
          `audit ${this.id}: hint: no entry${filter.since === undefined && filter.until === undefined ? '' : ' in the time range'} has ${path}`,
        )
    }
  }

  /** Colours when stdout is a terminal and neither --no-color nor NO_COLOR says otherwise. */
  protected paint(flags: {'no-color'?: boolean}): Promise<Paint> {
    return loadPaint(!flags['no-color'] && !process.env.NO_COLOR && Boolean(process.stdout.isTTY))
  }

  /** Prints a warning line on stderr, stripped of anything that could drive the terminal. */
  protected warnLine(text: string): void {
    process.stderr.write(`${sanitizeLine(text)}\n`)
  }

  /**
   * Prints the problems met while reading, one line each. A log file that could not be read makes
   * the answer incomplete, which is neither yes nor no: exit 3, whatever the answer was.
   */
  protected reportProblems(diagnostics: Diagnostics): void {
    for (const line of diagnostics.lines()) this.warnLine(line)
    const {unreadable, encrypted} = diagnostics.counts()
    if (unreadable || encrypted) process.exitCode = EXIT.outside
  }

  protected override async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    if (error instanceof Errors.ExitError) throw error
    // DEBUG shows the stack too; the message and exit code stay the same (DEBUG=express:* is common).
    if (process.env.DEBUG && error.stack) process.stderr.write(`${error.stack}\n`)
    if (error instanceof AuditError) {
      this.warnLine(
        `audit ${this.id}: error: ${error.message}${error instanceof LogDirectoryError && this.dirHint() ? ` (${this.dirHint()})` : ''}`,
      )
      return this.exit(error.exitCode)
    }
    if (error instanceof UnreadableFileError) {
      this.warnLine(`audit ${this.id}: error: ${error.message}`)
      return this.exit(EXIT.outside)
    }
    if (error instanceof Errors.CLIError) {
      // Flag and argument errors from the parser come over several lines: fold them into one.
      const reason = error.message
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '' && !/^(See more help with|The following errors? occurred)/.test(line))
        .join(': ')
        // A value outside a fixed set, in the style of the other flag errors.
        .replace(/^Expected (--[\w-]+)=(.*) to be one of: (.*)$/s, '$1 "$2": expected one of $3')
        .replace(/^Expected (.*) to be one of: (.*)$/s, '"$1": expected one of $2')
      this.warnLine(`audit ${this.id}: error: ${reason} (see audit ${this.id} --help)`)
      return this.exit(error.oclif?.exit ?? EXIT.usage)
    }
    const code = (error as NodeJS.ErrnoException).code
    if (code && STORAGE_ERRORS.has(code)) {
      // The disk, not the user: full, over a size or quota limit, read-only, failing.
      const {path} = error as NodeJS.ErrnoException
      this.warnLine(`audit ${this.id}: error: ${path ? `${path}: ` : ''}${describeFsError(error)}`)
      return this.exit(EXIT.outside)
    }
    if (code && FILE_ERRORS.has(code)) {
      const {path} = error as NodeJS.ErrnoException
      this.warnLine(`audit ${this.id}: error: ${path ? `${path}: ${describeFsError(error)}` : error.message}`)
      return this.exit(EXIT.usage)
    }
    this.warnLine(`audit ${this.id}: internal error: ${error.message} (DEBUG=* shows the stack)`)
    return this.exit(EXIT.internal)
  }
}
