/**
 * auditkit's library entry: the writer, the reading API and the native chain helpers.
 * Re-exports, and the writer wired to the built-in defaults and syslog forwarding; see
 * man/writing-notes.md for an example.
 */
import {readDefaults} from './config/load.js'
import {LogWriter, type WriterOptions} from './store/writer.js'
import {resolveWriterSettings, type WriterSettings, writerSettings} from './store/writer-settings.js'
import {WriterForwarder} from './transport/forward.js'

export {checkWriteInput, defaultActor, type WriteInput, WriteInputError} from './events/write-input.js'
export type {EntryForwarder, LogWriter, WrittenEntry} from './store/writer.js'
export {type WriterSettings, writerSettingsSchema} from './store/writer-settings.js'
/** Encryption at rest: readers decrypt .age parts with the identities in this file (age-keygen's, mode 0600). */
export {useIdentityFile} from './store/age-keys.js'

/** What AuditWriter.open takes: any writer settings (a whole Config too) and how the writer runs. */
export interface AuditWriterOptions extends Partial<Omit<WriterSettings, 'encryption'>>, Omit<WriterOptions, 'forwarder'> {
  /** Encryption at rest: `recipients`, age public keys (`age1…`) closed parts are encrypted to. */
  encryption?: Partial<WriterSettings['encryption']>
}

/** The writer AuditWriter.open returns. */
export type AuditWriter = LogWriter
export const AuditWriter = {
  /**
   * Opens a writer on a directory (created 0700 if missing). Settings not given take their built-in
   * defaults (config/default.yaml); pass `loadConfig().config` to honour config files and AUDIT_*.
   * With `syslog.url` or `syslog.host` set, appended entries are forwarded there too.
   */
  async open(dir: string, options: AuditWriterOptions = {}): Promise<LogWriter> {
    const {now, lockTimeoutMs, onError, ...given} = options
    const settings = resolveWriterSettings(given, writerSettings(readDefaults()))
    return LogWriter.open(dir, settings, {
      now,
      lockTimeoutMs,
      onError,
      forwarder: (onError) => WriterForwarder.fromSettings(settings.syslog, onError),
    })
  },
}

export {LockTimeoutError} from './store/lock.js'
export {type RemovedFile, RetentionHeldError} from './store/retention.js'
export {readEntries, readEntryBatches, type ReadOptions} from './store/reader.js'
export {compareLogFiles, type LogFile, LogDirectoryError, listLogFiles, parseLogFileName} from './store/files.js'
export {Diagnostics, type Problem, type ProblemKind} from './store/diagnostics.js'
export {compileFilter, type CompiledFilter, FilterError, type FilterSpec} from './events/filter.js'
export {parseTimeExpression, TimeExpressionError, type TimeOptions} from './events/time.js'
export {type AuditEntry, EVENT_NAME, type Level, LEVELS, type LocatedEntry, parseLevel, type Profile} from './events/model.js'
export {ConfigError, loadConfig, type LoadedConfig, type LoadOptions} from './config/load.js'
export type {Config} from './config/schema.js'
export {chainHash, chainLine, GENESIS, serializeBody, splitChainedLine} from './chain/native.js'
export type {Codec, CodecContext, Encoder} from './formats/codec.js'
export type {EntryFormat} from './formats/format.js'
export {FRAMINGS, type Framing, type FramingName} from './formats/framing.js'
export {CODEC_NAMES, CODECS, createFormat, type CreateFormatOptions, getCodec} from './formats/registry.js'
export {AuditError, EXIT, OutsideError} from './errors.js'
export {KeystoreError} from './privacy/keystore.js'
export {type PrivacySettings, Revealer} from './privacy/privacy.js'
