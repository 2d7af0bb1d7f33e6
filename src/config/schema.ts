import type {z as Z} from 'zod'

import {LEVELS, parseLevel} from '../events/model.js'

/**
 * The configuration schemas, built from a zod instance handed in, so that the module can be loaded
 * without loading zod (see load.ts).
 */
export function makeConfigSchemas(z: typeof Z) {
  /** The whole configuration; every key has its default in config/default.yaml. */
  const configSchema = z.strictObject({
    dir: z.string(),
    enabled: z.boolean(),
    // `warn` and `err` are accepted here as everywhere else, and stored as the canonical names.
    level: z.preprocess((value) => (typeof value === 'string' ? (parseLevel(value) ?? value) : value), z.enum(LEVELS)),
    exclude_events: z.array(z.string().min(1)),
    include_metadata: z.boolean(),
    metadata: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      // The writer fills these itself: an entry's provenance is not a setting.
      .refine((extras) => !['hostname', 'pid', 'version'].some((key) => Object.hasOwn(extras, key)), {
        error: 'hostname, pid and version are filled in by auditkit; choose other names for extras',
      }),
    integrity: z.boolean(),
    max_file_size: z.number().nonnegative(),
    compress: z.boolean(),
    retention_days: z.number().int().nonnegative(),
    fsync: z.enum(['always', 'interval', 'never']),
    fsync_interval_ms: z.number().int().positive(),
    encryption: z.strictObject({
      // age X25519 public keys, as age-keygen prints them (the checksum is checked when a writer opens).
      recipients: z.array(z.string().regex(/^age1[02-9ac-hj-np-z]{58}$/, {error: 'not an age X25519 public key (age1…, 62 characters)'})),
      identity: z.string(),
    }),
    syslog: z.strictObject({
      host: z.string(),
      port: z.number().int().min(1).max(65_535),
      proto: z.enum(['udp', 'tcp', 'tls']),
      // A destination URL (udp://, tcp://[?framing=octet-counting], tls://) instead of host/port/proto.
      url: z.string().refine((url) => url === '' || /^(udp|tcp|tls):\/\/[^/]/.test(url), {
        error: 'expected udp://HOST[:PORT], tcp://HOST[:PORT] or tls://HOST[:PORT]',
      }),
      format: z.enum(['rfc5424', 'rfc3164', 'syslog']),
      facility: z.union([z.string().min(1), z.number().int().min(0).max(23)]),
      ca: z.string(),
    }),
    ollama: z.strictObject({
      host: z.string(),
    }),
    analyze: makeAnalyzeSchema(z),
    export: z.strictObject({
      pseudonymize_key: z.string(),
      hec_token: z.string(),
    }),
    proxy: z.strictObject({
      listen: z.string().min(1),
      upstream: z.string(),
      tokens: z.string(),
      rate_limit: z.string(),
      allow_models: z.array(z.string().min(1)),
      trust_proxy: z.array(z.string().min(1)),
      log_prompts: z.boolean(),
      max_body_mb: z.number().positive(),
      timeout_s: z.number().positive(),
      shutdown_grace_s: z.number().nonnegative(),
      event_buffer: z.number().int().min(16),
    }),
    privacy: z.strictObject({
      // Only the actor and details members hold personal data the writer may seal; the rest is the entry's frame.
      fields: z.array(
        z.string().regex(/^(actor|details(\.[A-Za-z0-9_@-]+)+)$/, {error: 'expected actor or details.MEMBER[.MEMBER…] (e.g. details.ip)'}),
      ),
      keystore: z.string(),
    }),
    compliance: z.strictObject({
      checkpoint_max_age_hours: z.number().positive(),
      auth_events: z.array(z.string().min(1)),
      key_events: z.array(z.string().min(1)),
      privileged_events: z.array(z.string().min(1)),
      read_events: z.array(z.string().min(1)),
    }),
  })
  /** What a config file may hold: any subset of the keys, each fully valid. */
  const configFileSchema = configSchema
    .extend({
      syslog: configSchema.shape.syslog.partial(),
      encryption: configSchema.shape.encryption.partial(),
      ollama: configSchema.shape.ollama.partial(),
      // Each analyze group may set some of its keys.
      analyze: z.strictObject(
        Object.fromEntries(
          Object.entries(configSchema.shape.analyze.shape).map(([key, value]) => [
            key,
            ('partial' in value ? value.partial() : value).optional(),
          ]),
        ),
      ),
      export: configSchema.shape.export.partial(),
      proxy: configSchema.shape.proxy.partial(),
      compliance: configSchema.shape.compliance.partial(),
      privacy: configSchema.shape.privacy.partial(),
    })
    .partial()
  return {configSchema, configFileSchema}
}

export type Config = Z.infer<ReturnType<typeof makeConfigSchemas>['configSchema']>

/** `audit analyze`: detector thresholds, the LLM and the alerts (config/default.yaml explains each key). */
function makeAnalyzeSchema(z: typeof Z) {
  const events = z.array(z.string().min(1))
  const hour = z.int().min(0).max(24)
  return z.strictObject({
    baseline_days: z.number().nonnegative(),
    brute_force: z.strictObject({threshold: z.int().min(2), window_minutes: z.number().positive(), events}),
    rate_spike: z.strictObject({min_per_minute: z.int().min(1), factor: z.number().min(1)}),
    error_spike: z.strictObject({
      window_minutes: z.int().min(1),
      min_errors: z.int().min(1),
      min_ratio: z.number().min(0).max(1),
      factor: z.number().min(1),
    }),
    off_hours: z.strictObject({
      events,
      start_hour: hour,
      end_hour: hour,
      days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])),
      timezone: z.string().refine(validZone, {error: 'not a time zone (e.g. UTC, Europe/Paris)'}),
      ignore_actors: events,
    }),
    first_seen: z.strictObject({kinds: z.array(z.enum(['actor', 'ip', 'event'])), max_findings: z.int().min(1)}),
    models: z.strictObject({allowed: events}),
    silence: z.strictObject({max_gap_minutes: z.number().positive()}),
    integrity: z.strictObject({enabled: z.boolean()}),
    llm: z.strictObject({
      model: z.string().min(1),
      prompt: z.enum(['general', 'security', 'performance']),
      num_ctx: z.int().min(1024),
      timeout_seconds: z.number().positive(),
      seed: z.int(),
    }),
    notify: z.strictObject({
      discord_webhook: z.string(),
      slack_webhook: z.string(),
      min_severity: z.enum(['low', 'medium', 'high', 'critical']),
      dedup_window_minutes: z.number().nonnegative(),
      state_file: z.string(),
    }),
  })
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', {timeZone: zone})
    return true
  } catch {
    return false
  }
}
