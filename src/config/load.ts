import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {homedir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {z} from 'zod'

import {AuditError} from '../errors.js'
import {readAtMost} from '../bounded-read.js'
import {type Config, makeConfigSchemas} from './schema.js'

// zod and yaml cost more to load than `audit tail` takes to run, so they are loaded only when
// there is a config file or a setting to validate; the defaults come pre-converted to JSON.
const require = createRequire(import.meta.url)
let built: ReturnType<typeof makeConfigSchemas> | undefined
const schemas = () => (built ??= makeConfigSchemas((require('zod') as typeof import('zod')).z))
const parseYaml = (text: string): unknown => (require('yaml') as typeof import('yaml')).parse(text)

export class ConfigError extends AuditError {}

export const DEFAULTS_FILE = fileURLToPath(new URL('../../config/default.yaml', import.meta.url))
/** config/default.yaml converted at build time (scripts/build-defaults.ts). */
const DEFAULTS_JSON = fileURLToPath(new URL('defaults.json', import.meta.url))

export interface LoadOptions {
  /** `--config`: a file that must exist. */
  file?: string
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Flag values, highest precedence (already in config shape). */
  overrides?: DeepPartial<Config>
}

export type DeepPartial<T> = {[K in keyof T]?: T[K] extends Record<string, unknown> ? DeepPartial<T[K]> : T[K]}

export interface LoadedConfig {
  config: Config
  /** The config file used, if any. */
  source?: string
  /** True when no flag, variable or file chose the log directory (messages about it say how to). */
  defaultDir: boolean
  /** The config file the log directory came from, so that errors about it can name the file. */
  dirFile?: string
}

/**
 * A `dir:` as a config file means it: `~` is the home directory, and a relative path starts at
 * the file's own folder (not wherever the command happens to run).
 */
export function resolveConfigDir(dir: string, file: string): string {
  if (dir === '') return dir
  if (dir === '~' || dir.startsWith('~/')) return join(homedir(), dir.slice(1))
  return resolve(dirname(file), dir)
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0]
  const path = issue.path.join('.')
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (path ? `${path}.${k}` : k))
    return `unknown key ${keys.map((k) => `"${k}"`).join(', ')}`
  }
  return `key "${path}": ${issue.message}`
}

/** Far more than any config needs; a file or device that gives more (--config /dev/zero) is refused, not read whole. */
const MAX_CONFIG_BYTES = 1024 * 1024

function readYaml(file: string): unknown {
  let text: string
  try {
    const bytes = readAtMost(file, MAX_CONFIG_BYTES)
    if (bytes.length > MAX_CONFIG_BYTES)
      throw new ConfigError(`config ${file}: over ${MAX_CONFIG_BYTES} bytes, more than a config file may hold`)
    text = bytes.toString('utf8')
  } catch (error) {
    if (error instanceof ConfigError) throw error
    throw new ConfigError(
      `config ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    )
  }
  try {
    return parseYaml(text) ?? {}
  } catch (error) {
    throw new ConfigError(`config ${file}: ${(error as Error).message.split('\n', 1)[0]}`)
  }
}

/** The config file to use: --config, $AUDIT_CONFIG, then the first of the standard places that exists. */
export function findConfigFile(options: LoadOptions): {path: string; required: boolean} | undefined {
  const env = options.env ?? process.env
  if (options.file) return {path: resolve(options.cwd ?? '.', options.file), required: true}
  if (env.AUDIT_CONFIG) return {path: env.AUDIT_CONFIG, required: true}
  const xdgConfig = env.XDG_CONFIG_HOME || join(homedir(), '.config')
  const candidates = [
    join(options.cwd ?? process.cwd(), '.auditkit', 'config.yaml'),
    join(xdgConfig, 'auditkit', 'config.yaml'),
    '/etc/auditkit/config.yaml',
  ]
  const found = candidates.find((c) => existsSync(c))
  return found ? {path: found, required: false} : undefined
}

const TRUE = /^(1|true|yes|on)$/i
const FALSE = /^(0|false|no|off)$/i

function envBoolean(name: string, value: string): boolean {
  if (TRUE.test(value)) return true
  if (FALSE.test(value)) return false
  throw new ConfigError(`environment ${name}="${value}": expected true/false, 1/0 or yes/no`)
}

function envNumber(name: string, value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`environment ${name}="${value}": expected a number`)
  return n
}

/** Settings from AUDIT_* variables, falling back to the LOKI_AUDIT_* names of the same settings. */
export function configFromEnv(env: NodeJS.ProcessEnv): DeepPartial<Config> {
  /** Which variable set which key, so that an error can name the variable. */
  const names = new Map<string, string>()
  const get = (suffix: string, key: string): [string, string] | undefined => {
    for (const name of [`AUDIT_${suffix}`, `LOKI_AUDIT_${suffix}`]) {
      const value = env[name]
      if (value !== undefined && value !== '') {
        names.set(key, name)
        return [name, value]
      }
    }
    return undefined
  }
  const out: DeepPartial<Config> = {}
  const syslog: DeepPartial<Config['syslog']> = {}
  let v: [string, string] | undefined
  if ((v = get('DIR', 'dir'))) out.dir = v[1]
  if ((v = get('DISABLED', 'enabled'))) out.enabled = !envBoolean(...v)
  if ((v = get('LEVEL', 'level'))) out.level = v[1].toLowerCase() as Config['level']
  if ((v = get('RETENTION_DAYS', 'retention_days'))) out.retention_days = envNumber(...v)
  if ((v = get('MAX_SIZE_MB', 'max_file_size'))) out.max_file_size = envNumber(...v)
  if ((v = get('NO_INTEGRITY', 'integrity'))) out.integrity = !envBoolean(...v)
  if ((v = get('SYSLOG_HOST', 'syslog.host'))) syslog.host = v[1]
  if ((v = get('SYSLOG_PORT', 'syslog.port'))) syslog.port = envNumber(...v)
  if ((v = get('SYSLOG_PROTO', 'syslog.proto'))) syslog.proto = v[1].toLowerCase() as Config['syslog']['proto']
  if (Object.keys(syslog).length > 0) out.syslog = syslog
  if (env.OLLAMA_HOST) {
    out.ollama = {host: env.OLLAMA_HOST}
    names.set('ollama.host', 'OLLAMA_HOST')
  }
  if (Object.keys(out).length > 0) {
    const parsed = schemas().configFileSchema.safeParse(out)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const name = names.get(issue.path.join('.'))
      const value = name === undefined ? undefined : env[name]
      throw new ConfigError(
        name === undefined
          ? `environment: ${describe(parsed.error)}`
          : `environment ${name}="${value}": ${issue.message} (setting "${issue.path.join('.')}")`,
      )
    }
    return parsed.data as DeepPartial<Config>
  }
  return out
}

function merge<T extends Record<string, unknown>>(base: T, over: DeepPartial<T> | undefined): T {
  if (!over) return base
  const out: Record<string, unknown> = {...base}
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue
    const current = out[key]
    out[key] =
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      current !== null &&
      typeof current === 'object' &&
      !Array.isArray(current) &&
      key !== 'metadata'
        ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value
  }
  return out as T
}

/** The default log directory: $XDG_STATE_HOME/auditkit/logs. */
export function defaultLogDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'auditkit', 'logs')
}

/** Loads the configuration: flags > environment > config file > config/default.yaml. */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env
  let config = readDefaults()
  const found = findConfigFile(options)
  let source: string | undefined
  if (found && (found.required || existsSync(found.path))) {
    const raw = readYaml(found.path)
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`config ${found.path}: expected a mapping of keys`)
    const parsed = schemas().configFileSchema.safeParse(raw)
    if (!parsed.success) throw new ConfigError(`config ${found.path}: ${describe(parsed.error)}`)
    const fromFile = parsed.data as DeepPartial<Config>
    if (typeof fromFile.dir === 'string') fromFile.dir = resolveConfigDir(fromFile.dir, found.path)
    // The keystore path is read like dir: relative to the file that names it.
    if (typeof fromFile.privacy?.keystore === 'string') fromFile.privacy.keystore = resolveConfigDir(fromFile.privacy.keystore, found.path)
    config = merge(config, fromFile)
    source = found.path
  }
  const fileDir = config.dir
  config = merge(config, configFromEnv(env))
  const {dir, ...others} = options.overrides ?? {}
  if (Object.keys(others).length > 0) {
    const parsed = schemas().configFileSchema.safeParse(others)
    if (!parsed.success) throw new ConfigError(`settings: ${describe(parsed.error)}`)
  }
  config = merge(config, options.overrides)
  const defaultDir = config.dir === ''
  if (defaultDir) config.dir = defaultLogDir(env)
  const dirFile = source !== undefined && !defaultDir && config.dir === fileDir ? source : undefined
  return {config, source, defaultDir, dirFile}
}

/** The built-in defaults: the JSON made at build time, or the YAML itself when run from source. */
export function readDefaults(): Config {
  if (existsSync(DEFAULTS_JSON)) return JSON.parse(readFileSync(DEFAULTS_JSON, 'utf8')) as Config
  const parsed = schemas().configSchema.safeParse(readYaml(DEFAULTS_FILE))
  if (!parsed.success) throw new ConfigError(`config ${DEFAULTS_FILE}: ${describe(parsed.error)}`)
  return parsed.data
}
