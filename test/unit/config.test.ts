import assert from 'node:assert/strict'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'

import {parse} from 'yaml'
import {z} from 'zod'

import {ConfigError, configFromEnv, DEFAULTS_FILE, findConfigFile, loadConfig} from '../../src/config/load.js'
import {makeConfigSchemas} from '../../src/config/schema.js'
import {tempDir} from '../helpers.js'

const {configSchema} = makeConfigSchemas(z)

function write(path: string, text: string): string {
  mkdirSync(join(path, '..'), {recursive: true})
  writeFileSync(path, text)
  return path
}

/** A clean environment and working directory, so the host's settings cannot leak in. */
function place() {
  const home = tempDir('cfg-')
  const cwd = join(home, 'work')
  mkdirSync(cwd)
  return {home, cwd, env: {HOME: home, XDG_CONFIG_HOME: join(home, 'xdg'), XDG_STATE_HOME: join(home, 'state')} as NodeJS.ProcessEnv}
}

test('defaults: config/default.yaml validates and the log directory defaults to $XDG_STATE_HOME/auditkit/logs', () => {
  const {cwd, env, home} = place()
  const {config, source} = loadConfig({env, cwd})
  assert.equal(source, undefined)
  assert.equal(config.dir, join(home, 'state', 'auditkit', 'logs'))
  assert.equal(config.level, 'info')
  assert.equal(config.syslog.port, 514)
  assert.ok(configSchema.safeParse(parse(readFileSync(DEFAULTS_FILE, 'utf8'))).success)
})

test('config/default.yaml holds every schema key', () => {
  const yaml = parse(readFileSync(DEFAULTS_FILE, 'utf8'))
  assert.deepEqual(Object.keys(yaml).sort(), Object.keys(configSchema.shape).sort())
  assert.deepEqual(Object.keys(yaml.syslog).sort(), Object.keys(configSchema.shape.syslog.shape).sort())
  assert.deepEqual(Object.keys(yaml.ollama).sort(), Object.keys(configSchema.shape.ollama.shape).sort())
})

test('config/default.yaml has a comment line right above every top-level key', () => {
  const lines = readFileSync(DEFAULTS_FILE, 'utf8').split('\n')
  for (const key of Object.keys(configSchema.shape)) {
    const at = lines.findIndex((l) => l.startsWith(`${key}:`))
    assert.ok(at > 0 && lines[at - 1].startsWith('#'), `${key} has no comment line above it`)
  }
})

test('precedence: flags > environment > config file > defaults', () => {
  const {cwd, env} = place()
  const file = write(join(cwd, 'c.yaml'), 'dir: /from/file\nlevel: warning\nretention_days: 5\nsyslog:\n  host: file.example\n')
  const fromFile = loadConfig({file, env, cwd}).config
  assert.deepEqual(
    [fromFile.dir, fromFile.level, fromFile.retention_days, fromFile.syslog.host, fromFile.syslog.port],
    ['/from/file', 'warning', 5, 'file.example', 514],
  )
  const withEnv = loadConfig({file, cwd, env: {...env, AUDIT_DIR: '/from/env', AUDIT_LEVEL: 'ERROR', AUDIT_SYSLOG_PORT: '1514'}}).config
  assert.deepEqual(
    [withEnv.dir, withEnv.level, withEnv.retention_days, withEnv.syslog.host, withEnv.syslog.port],
    ['/from/env', 'error', 5, 'file.example', 1514],
  )
  // `warn` and `err` are accepted as level names in config and environment, as on input.
  assert.equal(loadConfig({file, cwd, env: {...env, AUDIT_LEVEL: 'warn'}}).config.level, 'warning')
  assert.equal(loadConfig({file: write(join(cwd, 'err.yaml'), 'level: err\n'), cwd, env}).config.level, 'error')
  const withFlags = loadConfig({file, cwd, env: {...env, AUDIT_DIR: '/from/env'}, overrides: {dir: '/from/flag', level: 'debug'}}).config
  assert.deepEqual([withFlags.dir, withFlags.level, withFlags.retention_days], ['/from/flag', 'debug', 5])
})

test('file locations: --config, $AUDIT_CONFIG, ./.auditkit/config.yaml, $XDG_CONFIG_HOME/auditkit/config.yaml', () => {
  const {cwd, env} = place()
  const flag = write(join(cwd, 'flag.yaml'), 'retention_days: 1\n')
  const envFile = write(join(cwd, 'env.yaml'), 'retention_days: 2\n')
  const local = write(join(cwd, '.auditkit', 'config.yaml'), 'retention_days: 3\n')
  const xdg = write(join(env.XDG_CONFIG_HOME!, 'auditkit', 'config.yaml'), 'retention_days: 4\n')
  const load = (options: Parameters<typeof loadConfig>[0]) => {
    const {config, source} = loadConfig({cwd, ...options})
    return [source, config.retention_days]
  }
  assert.deepEqual(load({file: 'flag.yaml', env: {...env, AUDIT_CONFIG: envFile}}), [flag, 1])
  assert.deepEqual(load({env: {...env, AUDIT_CONFIG: envFile}}), [envFile, 2])
  assert.deepEqual(load({env}), [local, 3])
  const otherCwd = join(cwd, 'elsewhere')
  mkdirSync(otherCwd)
  assert.deepEqual(loadConfig({cwd: otherCwd, env}).source, xdg)
  assert.equal(loadConfig({cwd: otherCwd, env}).config.retention_days, 4)
  assert.equal(
    findConfigFile({cwd: otherCwd, env: {...env, XDG_CONFIG_HOME: join(cwd, 'none')}})?.path ?? '/etc/auditkit/config.yaml',
    '/etc/auditkit/config.yaml',
  )
})

test('a named config file that does not exist is an error naming it', () => {
  const {cwd, env} = place()
  assert.throws(
    () => loadConfig({file: 'missing.yaml', env, cwd}),
    (e: Error) => e instanceof ConfigError && e.message.includes(join(cwd, 'missing.yaml')) && /no such file/.test(e.message),
  )
  assert.throws(
    () => loadConfig({env: {...env, AUDIT_CONFIG: join(cwd, 'gone.yaml')}, cwd}),
    (e: Error) => e instanceof ConfigError && e.message.includes('gone.yaml'),
  )
})

test('AUDIT_* and LOKI_AUDIT_* names are read, AUDIT_* winning', () => {
  assert.deepEqual(
    configFromEnv({LOKI_AUDIT_DIR: '/loki', LOKI_AUDIT_SYSLOG_HOST: 'h', LOKI_AUDIT_SYSLOG_PROTO: 'TCP', LOKI_AUDIT_NO_INTEGRITY: 'yes'}),
    {dir: '/loki', integrity: false, syslog: {host: 'h', proto: 'tcp'}},
  )
  assert.deepEqual(
    configFromEnv({LOKI_AUDIT_DIR: '/loki', AUDIT_DIR: '/audit', LOKI_AUDIT_RETENTION_DAYS: '3', AUDIT_RETENTION_DAYS: '7'}),
    {dir: '/audit', retention_days: 7},
  )
  assert.deepEqual(configFromEnv({AUDIT_DISABLED: '1', OLLAMA_HOST: 'http://gpu:11434', AUDIT_SYSLOG_PORT: '6514'}), {
    enabled: false,
    ollama: {host: 'http://gpu:11434'},
    syslog: {port: 6514},
  })
  assert.deepEqual(configFromEnv({AUDIT_DIR: ''}), {})
})

test('bad environment values name the variable', () => {
  for (const [name, value] of [
    ['AUDIT_LEVEL', 'loud'],
    ['AUDIT_SYSLOG_PORT', '99999'],
    ['AUDIT_SYSLOG_PROTO', 'carrier-pigeon'],
    ['AUDIT_RETENTION_DAYS', 'ten'],
    ['LOKI_AUDIT_DISABLED', 'maybe'],
    ['AUDIT_RETENTION_DAYS', '1.5'],
  ]) {
    assert.throws(
      () => configFromEnv({[name]: value}),
      (e: Error) => e instanceof ConfigError && e.message.includes(name),
      `${name}=${value}`,
    )
  }
})

test('a bad key or value in a file names the key and the file', () => {
  const {cwd, env} = place()
  const cases: Array<[string, RegExp]> = [
    ['colour: red\n', /unknown key "colour"/],
    ['syslog:\n  port: 99999\n', /syslog\.port/],
    ['syslog:\n  hots: x\n', /syslog\.hots/],
    ['level: loud\n', /"level"/],
    ['retention_days: -1\n', /"retention_days"/],
    ['fsync: sometimes\n', /"fsync"/],
    ['metadata:\n  env: [1, 2]\n', /metadata\.env/],
  ]
  for (const [text, pattern] of cases) {
    const file = write(join(cwd, 'bad.yaml'), text)
    assert.throws(
      () => loadConfig({file, env, cwd}),
      (e: Error) => e instanceof ConfigError && e.message.includes(file) && pattern.test(e.message),
      `${text} -> ${pattern}`,
    )
  }
})

test('a file that is not a YAML mapping, or not YAML, is an error naming the file', () => {
  const {cwd, env} = place()
  for (const text of ['- a\n- b\n', 'just text\n', 'a: [\n']) {
    const file = write(join(cwd, 'odd.yaml'), text)
    assert.throws(
      () => loadConfig({file, env, cwd}),
      (e: Error) => e instanceof ConfigError && e.message.includes(file),
      JSON.stringify(text),
    )
  }
  // an empty file is an empty mapping
  const empty = write(join(cwd, 'empty.yaml'), '')
  assert.equal(loadConfig({file: empty, env, cwd}).config.level, 'info')
})

test("dir in a config file: ~ is the home directory, a relative path starts at the file's folder, and the file is named as its source", () => {
  const {cwd, env, home} = place()
  const folder = join(home, 'etc', 'auditkit')
  const relative = write(join(folder, 'rel.yaml'), 'dir: logs/app\n')
  const loaded = loadConfig({file: relative, env, cwd})
  assert.equal(loaded.config.dir, join(folder, 'logs', 'app'))
  assert.equal(loaded.dirFile, relative)
  assert.equal(loaded.defaultDir, false)
  const tilde = write(join(folder, 'tilde.yaml'), 'dir: ~/logs\n')
  assert.equal(loadConfig({file: tilde, env, cwd}).config.dir, join(homedir(), 'logs'))
  const absolute = write(join(folder, 'abs.yaml'), 'dir: /var/log/app\n')
  assert.equal(loadConfig({file: absolute, env, cwd}).config.dir, '/var/log/app')
  // A directory from the environment or a flag is not the file's.
  assert.equal(loadConfig({file: relative, env: {...env, AUDIT_DIR: '/from/env'}, cwd}).dirFile, undefined)
  assert.equal(loadConfig({env, cwd}).defaultDir, true)
})
