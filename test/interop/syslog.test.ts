import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, test} from 'node:test'

import type {Level} from '../../src/events/model.js'
import {AuditWriter} from '../../src/index.js'
import {chainedLines, runAudit, spawnAudit, tempDir, writeLog} from '../helpers.js'
import {type Received, Rsyslog} from './rsyslog.js'

// Real rsyslogd (Debian's, with rsyslog-gnutls) and util-linux logger on loopback. `npm run test:interop`.

const LEVELS: Level[] = ['debug', 'info', 'warning', 'error']
const EVENTS = ['api.request', 'auth.fail', 'user.delete', 'auth.login', 'config.change']
const SEVERITY: Record<Level, number> = {debug: 7, info: 6, warning: 4, error: 3}
const SECURITY = new Set(['auth.fail', 'user.delete', 'config.change'])

/** n chained entries in one log file; returns the directory and each entry's expected fields, in order. */
function makeLog(
  n: number,
  details: (i: number) => Record<string, unknown> = (i) => ({i}),
): {dir: string; expected: Array<{event: string; severity: number; hash: string}>} {
  const dir = tempDir('interop-log-')
  const specs = Array.from({length: n}, (_, i) => ({
    timestamp: new Date(Date.UTC(2026, 10, 2, 10) + i).toISOString(),
    event: EVENTS[i % EVENTS.length],
    level: LEVELS[i % 4],
    details: details(i),
  }))
  const {lines} = chainedLines(specs)
  writeLog(dir, 'audit-2026-11-02.jsonl', lines)
  const expected = lines.map((line, i) => {
    const severity = SEVERITY[specs[i].level]
    return {
      event: specs[i].event,
      severity: SECURITY.has(specs[i].event) ? Math.min(severity, 4) : severity,
      hash: (JSON.parse(line) as {chain_hash: string}).chain_hash,
    }
  })
  return {dir, expected}
}

const hashOf = (r: Received) => /chain_hash="([0-9a-f]{64})"/.exec(r.sd)?.[1]

function checkFields(received: Received[], expected: Array<{event: string; severity: number; hash: string}>): void {
  const byHash = new Map(received.map((r) => [hashOf(r), r]))
  for (const e of expected) {
    const r = byHash.get(e.hash)
    assert.ok(r, `entry ${e.hash} arrived`)
    assert.equal(r.facility, 16, 'LOCAL0')
    assert.equal(r.severity, e.severity, `severity of ${e.event}`)
    assert.equal(r.msgid, e.event)
    assert.equal(r.app, 'auditkit')
    assert.equal(r.hostname, 'test')
    assert.match(r.sd, /^\[auditkit@32473 actor="alice" chain_hash="[0-9a-f]{64}"\]$/)
  }
}

const rsyslog = new Rsyslog()
before(() => rsyslog.start())
after(() => rsyslog.stop())

/** Only what this test sent: each test uses its own actor-free marker in details. */
function mine(marker: string): Received[] {
  return rsyslog.received().filter((r) => r.msg.includes(marker))
}

async function waitMine(marker: string, count: number, ms = 60_000): Promise<Received[]> {
  const end = Date.now() + ms
  let got = mine(marker)
  while (got.length < count && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100))
    got = mine(marker)
  }
  return got
}

test('UDP: 10,000 entries forwarded all arrive with the right PRI, MSGID and SD', {timeout: 300_000}, async () => {
  const {dir, expected} = makeLog(10_000, (i) => ({i, run: 'udp-run'}))
  const result = await runAudit(['tail', '-n', '10000', '--dir', dir, '--forward', `udp://127.0.0.1:${rsyslog.udpPort}`])
  assert.equal(result.code, 0, result.stderr)
  const got = await waitMine('udp-run', 10_000)
  assert.equal(got.length, 10_000)
  checkFields(got, expected)
})

test('TCP: 10,000 entries arrive exactly once, in order, with the right PRI, MSGID and SD', {timeout: 300_000}, async () => {
  const {dir, expected} = makeLog(10_000, (i) => ({i, run: 'tcp-run'}))
  const result = await runAudit(['tail', '-n', '10000', '--dir', dir, '--forward', `tcp://127.0.0.1:${rsyslog.tcpPort}`])
  assert.equal(result.code, 0, result.stderr)
  const got = await waitMine('tcp-run', 10_000)
  assert.deepEqual(
    got.map(hashOf),
    expected.map((e) => e.hash),
  )
  checkFields(got, expected)
})

test('octet-counted TCP: the same entries, one message each', {timeout: 240_000}, async () => {
  const {dir, expected} = makeLog(500, (i) => ({i, run: 'octet-run'}))
  const result = await runAudit([
    'tail',
    '-n',
    '500',
    '--dir',
    dir,
    '--forward',
    `tcp://127.0.0.1:${rsyslog.tcpPort}?framing=octet-counting`,
  ])
  assert.equal(result.code, 0, result.stderr)
  const got = await waitMine('octet-run', 500)
  assert.deepEqual(
    got.map(hashOf),
    expected.map((e) => e.hash),
  )
})

test('audit tail --format syslog | logger --prio-prefix: each line keeps its priority', {timeout: 240_000}, async () => {
  const {dir, expected} = makeLog(200, (i) => ({i, run: 'logger-run'}))
  const tail = await runAudit(['tail', '-n', '200', '--dir', dir, '--format', 'syslog'])
  assert.equal(tail.code, 0, tail.stderr)
  execFileSync(
    'logger',
    ['--prio-prefix', '-t', 'auditkit', '-S', '65536', '-n', '127.0.0.1', '-P', String(rsyslog.tcpPort), '-T', '--rfc5424=notq'],
    {input: tail.stdout},
  )
  const got = await waitMine('logger-run', 200)
  assert.equal(got.length, 200)
  for (const [i, r] of got.entries()) {
    assert.equal(r.facility, 16)
    assert.equal(r.severity, expected[i].severity, `line ${i + 1}`)
    assert.equal(JSON.parse(r.msg.slice(r.msg.indexOf('{'))).chain_hash, expected[i].hash)
  }
})

test('--forward-format syslog goes through syslog-client: PRI kept per message', {timeout: 240_000}, async () => {
  const {dir, expected} = makeLog(100, (i) => ({i, run: 'client-run'}))
  const result = await runAudit([
    'tail',
    '-n',
    '100',
    '--dir',
    dir,
    '--forward',
    `tcp://127.0.0.1:${rsyslog.tcpPort}`,
    '--forward-format',
    'syslog',
    '--facility',
    'local3',
  ])
  assert.equal(result.code, 0, result.stderr)
  const got = await waitMine('client-run', 100)
  assert.deepEqual(
    got.map((r) => [r.facility, r.severity]),
    expected.map((e) => [19, e.severity]),
  )
  assert.equal(got[0].app, 'auditkit')
})

test('an entry with a newline, NUL and an escape sequence in its details arrives as one message', {timeout: 240_000}, async () => {
  const evil = 'one\ntwo\u0000three\u001b[31m<13>1 2026-01-01T00:00:00Z forged x - - - fake'
  for (const scheme of ['udp', 'tcp']) {
    const {dir} = makeLog(1, () => ({run: `evil-${scheme}`, note: evil}))
    const result = await runAudit([
      'tail',
      '-n',
      '1',
      '--dir',
      dir,
      '--forward',
      `${scheme}://127.0.0.1:${scheme === 'udp' ? rsyslog.udpPort : rsyslog.tcpPort}`,
    ])
    assert.equal(result.code, 0, result.stderr)
    const got = await waitMine(`evil-${scheme}`, 1)
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(mine(`evil-${scheme}`).length, 1, scheme)
    assert.equal(JSON.parse(got[0].msg.slice(got[0].msg.indexOf('{'))).details.note, evil, 'the details travel intact in the JSON')
    assert.ok(!rsyslog.received().some((r) => r.hostname === 'forged' || r.msg.startsWith('two')), 'no forged or split-off message')
  }
})

test('the writer forwards each appended entry (AUDIT_SYSLOG_*); a dead server never fails an append', {timeout: 240_000}, async () => {
  const dir = tempDir('interop-writer-')
  const env = {AUDIT_SYSLOG_HOST: '127.0.0.1', AUDIT_SYSLOG_PORT: String(rsyslog.tcpPort), AUDIT_SYSLOG_PROTO: 'tcp'}
  const ok = await runAudit(['log', 'auth.fail', '--actor', 'alice', '--detail', 'run=writer-run', '--dir', dir], {env})
  assert.equal(ok.code, 0, ok.stderr)
  const got = await waitMine('writer-run', 1)
  assert.equal(got.length, 1)
  assert.equal(got[0].severity, 4)
  assert.equal(got[0].msgid, 'auth.fail')
  const written = readFileSync(join(dir, execFileSync('ls', [dir], {encoding: 'utf8'}).trim().split('\n')[0]), 'utf8')
  assert.ok(written.includes(hashOf(got[0]) as string), 'the forwarded entry is the one on disk')
  const dead = await runAudit(['log', 'auth.fail', '--detail', 'run=dead', '--dir', dir], {env: {...env, AUDIT_SYSLOG_PORT: '9'}})
  assert.equal(dead.code, 0, dead.stderr)
  assert.match(dead.stderr, /warning: syslog tcp:\/\/127\.0\.0\.1:9: connection refused/)
  assert.equal(
    readFileSync(join(dir, execFileSync('ls', [dir], {encoding: 'utf8'}).trim().split('\n')[0]), 'utf8')
      .trim()
      .split('\n').length,
    2,
  )
})

test('rsyslog killed and restarted in the middle of a TCP forward, the forwarder too: nothing after the cursor is lost', {
  timeout: 120_000,
}, async () => {
  const dir = tempDir('interop-cursor-')
  const cursor = join(tempDir('cursor-'), 'forward.cursor')
  const args = ['tail', '-f', '-n', '0', '--dir', dir, '--forward', `tcp://127.0.0.1:${rsyslog.tcpPort}`, '--cursor', cursor]
  const writer = await AuditWriter.open(dir, {fsync: 'never'})
  // An entry to start from, so the first forwarder has a file to follow.
  await writer.write({event: 'api.request', actor: 'alice', details: {run: 'cursor-run', i: -1}})
  let forwarder = spawnAudit(args)
  let stderr = ''
  forwarder.stderr.on('data', (d) => {
    stderr += d
  })
  await new Promise((r) => setTimeout(r, 1500))
  const hashes: string[] = []
  const append = async (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const written = await writer.write({event: EVENTS[i % EVENTS.length], actor: 'alice', details: {run: 'cursor-run', i}})
      hashes.push(written?.entry.chain_hash as string)
      if (i % 200 === 0) await new Promise((r) => setTimeout(r, 50))
    }
  }
  await append(0, 1500)
  await rsyslog.stop('SIGKILL')
  await append(1500, 2500)
  await rsyslog.start()
  await append(2500, 3500)
  // The forwarder dies too; a new one resumes after its cursor.
  forwarder.kill('SIGKILL')
  await new Promise((r) => forwarder.once('close', r))
  const recorded = JSON.parse(readFileSync(cursor, 'utf8')) as {file: string; line: number; chain_hash: string}
  assert.ok(hashes.includes(recorded.chain_hash), 'the cursor names an entry that was appended')
  await append(3500, 4500)
  forwarder = spawnAudit(args)
  forwarder.stderr.on('data', (d) => {
    stderr += d
  })
  await append(4500, 5000)
  await writer.close()
  // At-least-once: count distinct entries, since some are sent twice around the restarts.
  let lost = hashes
  for (const end = Date.now() + 60_000; lost.length > 0 && Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 200))
    const arrived = new Set(mine('cursor-run').map(hashOf))
    lost = hashes.filter((h) => !arrived.has(h))
  }
  forwarder.kill('SIGTERM')
  await new Promise((r) => forwarder.once('close', r))
  assert.deepEqual(
    lost.map((h) => hashes.indexOf(h)),
    [],
    `${lost.length} entries lost (cursor at ${hashes.indexOf(recorded.chain_hash)}); forwarder said: ${stderr}`,
  )
  assert.match(stderr, /retrying/, 'the outage was told')
})

test('TLS (RFC 5425) with a certificate made by openssl', {timeout: 240_000}, async () => {
  const certs = tempDir('certs-')
  const key = join(certs, 'key.pem')
  const cert = join(certs, 'cert.pem')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    {stdio: 'ignore'},
  )
  const secure = new Rsyslog({cert, key})
  await secure.start()
  try {
    const {dir, expected} = makeLog(300, (i) => ({i, run: 'tls-run'}))
    const untrusted = await runAudit(['tail', '-n', '1', '--dir', dir, '--forward', `tls://127.0.0.1:${secure.tlsPort}`])
    assert.equal(untrusted.code, 3)
    assert.match(untrusted.stderr, /^audit tail: error: tls:\/\/127\.0\.0\.1:\d+: TLS: self[- ]signed certificate\n$/)
    const result = await runAudit(['tail', '-n', '300', '--dir', dir, '--forward', `tls://localhost:${secure.tlsPort}`, '--ca', cert])
    assert.equal(result.code, 0, result.stderr)
    const got = await secure.waitFor(300)
    assert.deepEqual(
      got.map(hashOf),
      expected.map((e) => e.hash),
    )
    checkFields(got, expected)
  } finally {
    await secure.stop()
  }
})
