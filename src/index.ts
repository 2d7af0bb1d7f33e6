/**
 * auditkit's library entry: the writer, the reading API and the native chain helpers.
 * Re-exports only; see man/writing-notes.md for an example.
 */
export {
  AuditWriter,
  type AuditWriterOptions,
  checkWriteInput,
  defaultActor,
  type WriteInput,
  WriteInputError,
  type WriterSettings,
  type WrittenEntry,
  writerSettingsSchema,
} from './store/writer.js'
export {LockTimeoutError} from './store/lock.js'
export type {RemovedFile} from './store/retention.js'
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
