import {z} from 'zod'

import {type Config, makeConfigSchemas} from '../config/schema.js'
import {describeInputIssue, WriteInputError} from '../events/write-input.js'

const {configSchema} = makeConfigSchemas(z)

/** The settings the writer uses (config keys, see config/default.yaml). */
export const writerSettingsSchema = configSchema.pick({
  enabled: true,
  level: true,
  exclude_events: true,
  include_metadata: true,
  metadata: true,
  integrity: true,
  max_file_size: true,
  compress: true,
  retention_days: true,
  fsync: true,
  fsync_interval_ms: true,
  encryption: true,
  syslog: true,
  privacy: true,
})
export type WriterSettings = z.infer<typeof writerSettingsSchema>

/** The writer's settings out of a whole (already validated) configuration. */
export function writerSettings(config: Config): WriterSettings {
  return writerSettingsSchema.parse(Object.fromEntries(Object.keys(writerSettingsSchema.shape).map((k) => [k, config[k as keyof Config]])))
}

/**
 * Settings given by a library caller, checked, over `defaults`. A whole Config may be given: its keys
 * that are not writer settings are ignored (other keys are refused). A partial `syslog` object (say,
 * only a url) takes its other keys from the defaults. Bad values throw WriteInputError.
 */
export function resolveWriterSettings(given: Record<string, unknown>, defaults: WriterSettings): WriterSettings {
  const own = Object.fromEntries(Object.entries(given).filter(([k]) => k in writerSettingsSchema.shape || !(k in configSchema.shape)))
  if (own.syslog && typeof own.syslog === 'object') own.syslog = {...defaults.syslog, ...own.syslog}
  if (own.privacy && typeof own.privacy === 'object') own.privacy = {...defaults.privacy, ...own.privacy}
  if (own.encryption && typeof own.encryption === 'object') own.encryption = {...defaults.encryption, ...own.encryption}
  const parsed = writerSettingsSchema.partial().safeParse(own)
  if (!parsed.success) throw new WriteInputError(`AuditWriter options: ${describeInputIssue(parsed.error)}`)
  return {...defaults, ...Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined))}
}
