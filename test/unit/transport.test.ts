import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {existsSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {createServer, type AddressInfo, type Server, type Socket} from 'node:net'
import {join} from 'node:path'
import {PassThrough} from 'node:stream'
import {test} from 'node:test'
import {createServer as createTlsServer} from 'node:tls'

import {AuditError, OutsideError} from '../../src/errors.js'
import {FileSink, openSink, StreamSink, SyslogStreamSink} from '../../src/transport/index.js'
import {utf8Prefix} from '../../src/transport/syslog-udp.js'
import {tempDir} from '../helpers.js'

/** A TCP server on loopback collecting what arrives; `port` may be fixed to restart on the same one. */
function collector(port = 0): Promise<{server: Server; port: number; text: () => string; sockets: Set<Socket>}> {
  const chunks: Buffer[] = []
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket
      .on('data', (d) => chunks.push(d))
      .on('close', () => sockets.delete(socket))
      .on('error', () => undefined)
  })
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({server, port: (server.address() as AddressInfo).port, text: () => Buffer.concat(chunks).toString(), sockets}),
    ),
  )
}

async function waitFor(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('stream sink: writes to any Writable; a reader gone (EPIPE) ends it quietly', async () => {
  const stream = new PassThrough()
  let got = ''
  stream.on('data', (d) => {
    got += d
  })
  const sink = new StreamSink(stream, 4)
  await sink.write('ab')
  await sink.write('cd')
  await sink.close()
  assert.equal(got, 'abcd')
  const broken = new PassThrough()
  const quiet = new StreamSink(broken)
  broken.emit('error', Object.assign(new Error('EPIPE'), {code: 'EPIPE'}))
  assert.equal(quiet.isClosed, true)
  await quiet.write('x')
  await quiet.flush()
  const failing = new PassThrough()
  const loud = new StreamSink(failing, 1, 'out.txt')
  failing.emit('error', Object.assign(new Error('no space left'), {code: 'ENOSPC'}))
  await assert.rejects(loud.write('x'), (error: Error) => error instanceof OutsideError && /^out.txt: no space left/.test(error.message))
})

test('file sink: the target appears whole on close, 0600; abort leaves the old file', async () => {
  const dir = tempDir()
  const path = join(dir, 'export.jsonl')
  writeFileSync(path, 'old\n')
  const sink = await FileSink.open(path, {bufferBytes: 8})
  for (let i = 0; i < 100; i++) await sink.write(`line ${i}\n`)
  await sink.flush()
  assert.equal(readFileSync(path, 'utf8'), 'old\n', 'not replaced before close')
  await sink.close()
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 101)
  assert.equal(statSync(path).mode & 0o777, 0o600)
  const aborted = await FileSink.open(path)
  await aborted.write('new\n')
  await aborted.abort()
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 101)
  assert.deepEqual(execFileSync('ls', ['-A', dir], {encoding: 'utf8'}).trim().split('\n'), ['export.jsonl'], 'no temporary file left')
  await assert.rejects(
    FileSink.open(join(dir, 'missing', 'x.jsonl')),
    (error: Error) => error instanceof AuditError && /missing\/x.jsonl: no such file/.test(error.message),
  )
})

test('utf8Prefix never cuts a character', () => {
  const bytes = Buffer.from('aé€😀')
  for (let limit = 0; limit <= bytes.length; limit++)
    assert.doesNotThrow(() => new TextDecoder('utf-8', {fatal: true}).decode(utf8Prefix(bytes, limit)))
  assert.equal(utf8Prefix(bytes, 2).toString(), 'a')
})

test('udp: one message per datagram, no trailing LF', async () => {
  const server = createSocket('udp4')
  const got: string[] = []
  server.on('message', (m) => got.push(m.toString()))
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r))
  const sink = await openSink(`udp://127.0.0.1:${server.address().port}`)
  await sink.write('<134>1 one')
  await sink.write('<134>1 two')
  await sink.close()
  await waitFor(() => got.length === 2, 'datagrams')
  assert.deepEqual(got, ['<134>1 one', '<134>1 two'])
  server.close()
})

test('tcp: LF framing by default, octet counting on request', async () => {
  const lf = await collector()
  const sink = await openSink(`tcp://127.0.0.1:${lf.port}`)
  await sink.write('<134>1 a')
  await sink.write('<134>1 b')
  await sink.close()
  await waitFor(() => lf.text() === '<134>1 a\n<134>1 b\n', 'LF frames')
  lf.server.close()
  const counted = await collector()
  const sink2 = await openSink(`tcp://127.0.0.1:${counted.port}?framing=octet-counting`)
  await sink2.write('<134>1 é')
  await sink2.close()
  await waitFor(() => counted.text() === '9 <134>1 é', 'octet-counted frame')
  counted.server.close()
})

test('tcp: a refused connection is one OutsideError naming the destination', async () => {
  const {server, port} = await collector()
  await new Promise((r) => server.close(r))
  await assert.rejects(
    openSink(`tcp://127.0.0.1:${port}`),
    (error: Error) => error instanceof OutsideError && error.message === `tcp://127.0.0.1:${port}: connection refused`,
  )
})

test('tcp: reconnects with backoff when the server goes away and comes back; nothing is lost', async () => {
  const first = await collector()
  const warnings: string[] = []
  const sink = await SyslogStreamSink.open({
    host: '127.0.0.1',
    port: first.port,
    retryMinMs: 20,
    retryMaxMs: 200,
    onWarning: (m) => warnings.push(m),
  })
  for (let i = 0; i < 100; i++) await sink.write(`m${i}`)
  await sink.flush()
  await waitFor(() => first.text().split('\n').length === 101, 'first half')
  const seen = first.text()
  for (const s of first.sockets) s.destroy()
  await new Promise((r) => first.server.close(r))
  // Written while the server is away: queued, sent once it is back.
  const writing = (async () => {
    for (let i = 100; i < 200; i++) await sink.write(`m${i}`)
  })()
  await new Promise((r) => setTimeout(r, 300))
  const second = await collector(first.port)
  await writing
  await sink.close()
  const all = (seen + second.text()).split('\n').filter(Boolean)
  for (let i = 0; i < 200; i++) assert.ok(all.includes(`m${i}`), `m${i} arrived`)
  assert.match(warnings.join('\n'), /connection (reset|closed)|retrying/)
  assert.match(warnings.join('\n'), /connected again/)
  second.server.close()
})

test('tcp: a full queue makes write wait; overflow drop never waits', async () => {
  const {server, port} = await collector()
  await new Promise((r) => server.close(r))
  const dropping = await SyslogStreamSink.open({
    host: '127.0.0.1',
    port,
    failFast: false,
    queueLimit: 3,
    overflow: 'drop',
    closeTimeoutMs: 100,
    retryMinMs: 1000,
  })
  for (let i = 0; i < 10; i++) await dropping.write(`m${i}`)
  assert.equal(dropping.droppedRecords, 7)
  await assert.rejects(
    dropping.close(),
    (error: Error) => error instanceof OutsideError && /3 records not delivered: connection refused/.test(error.message),
  )
})

test('tls: octet-counted over TLS; an untrusted certificate is a TLS error naming the host', async () => {
  const dir = tempDir()
  const key = join(dir, 'key.pem')
  const cert = join(dir, 'cert.pem')
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
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    {stdio: 'ignore'},
  )
  assert.ok(existsSync(cert))
  const chunks: Buffer[] = []
  const server = createTlsServer({key: readFileSync(key), cert: readFileSync(cert)}, (socket) =>
    socket.on('data', (d) => chunks.push(d)).on('error', () => undefined),
  )
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const {port} = server.address() as AddressInfo
  await assert.rejects(
    openSink(`tls://127.0.0.1:${port}`),
    (error: Error) => error instanceof OutsideError && error.message.startsWith(`tls://127.0.0.1:${port}: TLS: `),
  )
  const sink = await openSink(`tls://127.0.0.1:${port}`, {ca: cert})
  await sink.write('<134>1 secure')
  await sink.close()
  await waitFor(() => Buffer.concat(chunks).toString() === '13 <134>1 secure', 'the TLS frame')
  server.close()
})

test('openSink: unknown schemes, bad ports and misplaced TLS files are usage errors', async () => {
  await assert.rejects(
    openSink('ftp://h', {origin: '--forward'}),
    /--forward "ftp:\/\/h": unsupported scheme "ftp:"; expected udp:\/\/, tcp:\/\/, tls:\/\//,
  )
  await assert.rejects(openSink('udp://h:0'), /port out of range/)
  await assert.rejects(openSink('tcp://h', {ca: 'x'}), /apply to tls:\/\/ only/)
  await assert.rejects(openSink('tls://127.0.0.1', {ca: '/nonexistent.pem'}), /--ca \/nonexistent.pem: no such file/)
  await assert.rejects(openSink('tls://127.0.0.1', {format: 'syslog'}), /no TLS/)
  await assert.rejects(openSink('not a url'), /not a URL/)
})

test('syslog-client path: <PRI> taken per message, header written by syslog-client, idle timeouts harmless', async () => {
  const server = createSocket('udp4')
  const got: string[] = []
  server.on('message', (m) => got.push(m.toString()))
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r))
  const sink = await openSink(`udp://127.0.0.1:${server.address().port}`, {format: 'syslog'})
  await sink.write('<132>auth.fail {"a":1}')
  await sink.write('<128>x.y zero-severity')
  await sink.flush()
  await waitFor(() => got.length === 2, 'datagrams')
  assert.match(got[0], /^<132>1 \S+ \S+ auditkit \d+ - - auth\.fail \{"a":1\}\n$/)
  assert.match(got[1], /^<128>1 /)
  await sink.close()
  server.close()
})

test('writer forwarding: each entry is sent after it is in the file; a dead server never fails or blocks an append', async () => {
  const {AuditWriter} = await import('../../src/index.js')
  const {readdirSync} = await import('node:fs')
  const live = await collector()
  const dir = tempDir()
  const writer = await AuditWriter.open(dir, {
    syslog: {host: '', port: 514, proto: 'udp', url: `tcp://127.0.0.1:${live.port}`, format: 'rfc5424', facility: 'local1', ca: ''},
  })
  const written = await writer.write({event: 'user.delete', actor: 'alice', details: {id: 7}})
  await writer.close()
  await waitFor(() => live.text().includes(written!.entry.chain_hash!), 'the forwarded entry')
  assert.match(
    live.text(),
    /^<140>1 \S+ \S+ auditkit \d+ user\.delete \[auditkit@32473 actor="alice" chain_hash="[0-9a-f]{64}"\] \{/,
    'local1 (17), raised to warning',
  )
  assert.ok(readFileSync(join(dir, readdirSync(dir).find((n) => n.endsWith('.jsonl'))!), 'utf8').includes(written!.entry.chain_hash!))
  live.server.close()

  const dead = await collector()
  await new Promise((r) => dead.server.close(r))
  const warnings: string[] = []
  const lonely = await AuditWriter.open(tempDir(), {
    syslog: {host: '127.0.0.1', port: dead.port, proto: 'tcp', url: '', format: 'rfc5424', facility: 'local0', ca: ''},
    onError: (e) => warnings.push(e.message),
  })
  for (let i = 0; i < 50; i++) assert.ok(await lonely.write({event: 'auth.fail', details: {i}}))
  await lonely.close()
  assert.match(warnings.join('\n'), new RegExp(`syslog tcp://127\\.0\\.0\\.1:${dead.port}: connection refused`))
})
