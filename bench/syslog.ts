/**
 * Syslog throughput: `node --import tsx bench/syslog.ts [CORPUS]` prints a markdown section.
 * 1. Formatting: 1,000,000 entries encoded as rfc5424 in one process (100,000 distinct entries,
 *    ten rounds), and, with a corpus, `audit search --all --format rfc5424` end to end.
 * 2. Forwarding over TCP to a loopback rsyslogd of our own (test/interop/rsyslog.ts): the sink
 *    alone (pre-encoded records), and `audit tail -f --forward tcp://… --cursor` end to end, each timed
 *    until rsyslog has written every message; CPU seconds of both sides say which one limits.
 * FORWARD=n sets the forwarded count (default 200,000).
 */
import {spawn, spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {cpus} from 'node:os'
import {join} from 'node:path'

import type {AuditEntry, LocatedEntry} from '../src/events/model.js'
import {createFormat} from '../src/formats/registry.js'
import {SyslogStreamSink} from '../src/transport/syslog-stream.js'
import {BIN, chainedLines, tempDir, writeLog} from '../test/helpers.js'
import {Rsyslog} from '../test/interop/rsyslog.js'

const corpus = process.argv[2]
const FORWARD = Number(process.env.FORWARD ?? 200_000)
const rate = (n: number, seconds: number) => Math.round(n / seconds).toLocaleString('en-US')
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9
/** user + system CPU seconds of a process so far (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

function entry(i: number): LocatedEntry {
  const e: AuditEntry = {
    timestamp: new Date(Date.UTC(2026, 10, 2) + i * 37).toISOString(),
    event: ['api.request', 'auth.fail', 'user.delete', 'auth.login'][i % 4],
    level: (['info', 'warning', 'info', 'debug'] as const)[i % 4],
    actor: `user-${i % 311}`,
    details: {method: 'POST', path: '/api/generate', status: 200, ms: i % 977, ip: `10.0.${i % 250}.${i % 200}`},
    metadata: {hostname: 'gw-1.example.com', pid: 4242, version: '1.0.0'},
    chain_hash: i.toString(16).padStart(8, '0').repeat(8),
  }
  return {entry: e, time: Date.parse(e.timestamp), file: '/l/audit-2026-11-02.jsonl', line: i + 1, raw: '', profile: 'native'}
}

const rows: string[] = []

// 1. Formatting.
const entries = Array.from({length: 100_000}, (_, i) => entry(i))
const format = createFormat('rfc5424')
for (let i = 0; i < 100_000; i++) format.encode(entries[i], i) // warm-up
let bytes = 0
let start = process.hrtime.bigint()
for (let round = 0; round < 10; round++) for (let i = 0; i < entries.length; i++) bytes += format.encode(entries[i], i).length
const formatSeconds = seconds(start)
rows.push(
  `| rfc5424 encode, in process | 1,000,000 | ${formatSeconds.toFixed(2)} s | ${rate(1_000_000, formatSeconds)} lines/s (${Math.round(bytes / 1e6)} MB) |`,
)
if (corpus) {
  start = process.hrtime.bigint()
  const run = spawnSync(process.execPath, [BIN, 'search', '--all', '--format', 'rfc5424', '--dir', corpus], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const s = seconds(start)
  const lines = Number(spawnSync('bash', ['-c', `cat ${corpus}/*.jsonl | wc -l`], {encoding: 'utf8'}).stdout.trim())
  if (run.status === 0)
    rows.push(
      `| audit search --all --format rfc5424 > /dev/null (read, check, encode) | ${lines.toLocaleString('en-US')} | ${s.toFixed(2)} s | ${rate(lines, s)} lines/s |`,
    )
}

// 2. Forwarding over TCP to rsyslog.
const rsyslog = new Rsyslog()
await rsyslog.start()
try {
  const waitAll = async (count: number) => {
    while (rsyslog.count() < count) await new Promise((r) => setTimeout(r, 20))
  }
  const records = Array.from({length: FORWARD}, (_, i) => createFormat('rfc5424').encode(entry(i), i).slice(0, -1))
  let rsCpu = cpuSeconds(rsyslog.pid as number)
  const ourCpu = process.cpuUsage()
  start = process.hrtime.bigint()
  const sink = await SyslogStreamSink.open({host: '127.0.0.1', port: rsyslog.tcpPort})
  for (const record of records) await sink.write(record)
  await sink.close()
  const handedOver = seconds(start)
  await waitAll(FORWARD)
  let s = seconds(start)
  const ours = process.cpuUsage(ourCpu)
  rows.push(
    `| TCP sink alone → rsyslog (pre-encoded) | ${FORWARD.toLocaleString('en-US')} | ${s.toFixed(2)} s | ${rate(FORWARD, s)} msg/s received (handed to the kernel in ${handedOver.toFixed(2)} s); CPU: sender ${((ours.user + ours.system) / 1e6).toFixed(2)} s (${rate(FORWARD, (ours.user + ours.system) / 1e6)} msg per CPU-second), rsyslogd ${(cpuSeconds(rsyslog.pid as number) - rsCpu).toFixed(2)} s (${rate(FORWARD, cpuSeconds(rsyslog.pid as number) - rsCpu)} per CPU-second) |`,
  )

  // End to end as an operator runs it: `tail -f --forward --cursor`, resuming after line 1 (the
  // cursor path streams the file; `tail -n N` first holds N entries).
  const dir = tempDir('bench-forward-')
  const specs = Array.from({length: FORWARD + 1}, (_, i) => ({
    timestamp: entry(i).entry.timestamp,
    event: entry(i).entry.event,
    level: entry(i).entry.level,
    actor: entry(i).entry.actor,
    details: entry(i).entry.details,
  }))
  const {lines} = chainedLines(specs)
  const file = writeLog(dir, 'audit-2026-11-02.jsonl', lines)
  const cursor = join(dir, '..', `${dir.split('/').at(-1)}.cursor`)
  writeFileSync(cursor, JSON.stringify({file, line: 1, chain_hash: (JSON.parse(lines[0]) as {chain_hash: string}).chain_hash}))
  const before = rsyslog.count()
  rsCpu = cpuSeconds(rsyslog.pid as number)
  start = process.hrtime.bigint()
  const child = spawn(
    process.execPath,
    [BIN, 'tail', '-f', '--dir', dir, '--forward', `tcp://127.0.0.1:${rsyslog.tcpPort}`, '--cursor', cursor],
    {stdio: ['ignore', 'ignore', 'inherit']},
  )
  await waitAll(before + FORWARD)
  s = seconds(start)
  const tailCpu = cpuSeconds(child.pid as number)
  child.kill('SIGTERM')
  await new Promise((r) => child.once('close', r))
  rows.push(
    `| audit tail -f --forward tcp:// --cursor → rsyslog (read, encode, send) | ${FORWARD.toLocaleString('en-US')} | ${s.toFixed(2)} s | ${rate(FORWARD, s)} msg/s received (includes start-up); CPU: audit ${tailCpu.toFixed(2)} s (${rate(FORWARD, tailCpu)} msg per CPU-second), rsyslogd ${(cpuSeconds(rsyslog.pid as number) - rsCpu).toFixed(2)} s (${rate(FORWARD, cpuSeconds(rsyslog.pid as number) - rsCpu)} per CPU-second) |`,
  )
} finally {
  await rsyslog.stop()
}

process.stdout.write(
  [
    '## Syslog (formatting, forwarding)',
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}, Node ${process.version}, ${spawnSync('rsyslogd', ['-v'], {encoding: 'utf8'}).stdout.split('\n')[0].trim()}. Command: \`node --import tsx bench/syslog.ts [corpus]\` (FORWARD=${FORWARD}).`,
    'rsyslogd on loopback (imtcp, direct main queue, omfile with a template); times until it has written every message. On a shared machine the wall time is mostly waiting for a core: the CPU seconds of each side say what one free core would do.',
    '',
    '| work | entries | time | rate |',
    '| --- | ---: | ---: | --- |',
    ...rows,
    '',
  ].join('\n'),
)
