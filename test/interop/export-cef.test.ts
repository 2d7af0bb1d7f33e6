import assert from 'node:assert/strict'
import {after, before, test} from 'node:test'

import {chainedLines, runAudit, tempDir, writeLog} from '../helpers.js'
import {Rsyslog} from './rsyslog.js'

// `audit export --format cef --to tcp://|udp://` into a real rsyslogd on loopback (issue #10; siem-formats §5
// "Over syslog": an RFC 5424 header, the CEF line as MSG). `npm run test:interop`.

const rsyslog = new Rsyslog()
before(() => rsyslog.start())
after(() => rsyslog.stop())

const cases = [
  {transport: 'tcp', query: '', n: 3000},
  {transport: 'tcp', query: '?framing=octet-counting', n: 3000},
  // UDP may drop under load: few enough datagrams that rsyslog's 16 MiB buffer holds them all.
  {transport: 'udp', query: '', n: 500},
]

for (const {transport, query, n} of cases) {
  test(`CEF over ${transport}${query}: one rsyslog message per entry, header fields from the entry, the CEF line whole in MSG`, {
    timeout: 120_000,
  }, async () => {
    const marker = `run-${transport}-${query ? 'octet' : 'plain'}`
    const specs = Array.from({length: n}, (_, i) => ({
      timestamp: new Date(Date.UTC(2026, 10, 2, 10) + i).toISOString(),
      event: i % 2 ? 'auth.fail' : 'config.change',
      level: i % 2 ? ('warning' as const) : ('error' as const),
      details: {i, marker, note: 'a=b\\c|d'},
    }))
    const dir = tempDir('interop-cef-')
    writeLog(dir, 'audit-2026-11-02.jsonl', chainedLines(specs).lines)
    const port = transport === 'udp' ? rsyslog.udpPort : rsyslog.tcpPort
    const run = await runAudit(['export', '--dir', dir, '--format', 'cef', '--to', `${transport}://127.0.0.1:${port}${query}`])
    assert.equal(run.code, 0, run.stderr)
    const end = Date.now() + 60_000
    let mine = rsyslog.received().filter((r) => r.msg.includes(marker))
    while (mine.length < n && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200))
      mine = rsyslog.received().filter((r) => r.msg.includes(marker))
    }
    assert.equal(mine.length, n)
    const seen = new Set<number>()
    for (const r of mine) {
      const i = Number(/"i":(\d+)/.exec(r.msg)?.[1])
      seen.add(i)
      const event = i % 2 ? 'auth.fail' : 'config.change'
      assert.equal(r.facility, 16, 'local0')
      assert.equal(r.severity, i % 2 ? 4 : 3, 'severity from the level')
      assert.equal(r.hostname, 'test')
      assert.equal(r.app, 'audit')
      assert.equal(r.msgid, event)
      assert.equal(r.sd, '-')
      assert.match(
        r.msg,
        new RegExp(`^CEF:0\\|auditkit\\|auditkit\\|1\\|${event.replace('.', '\\.')}\\|${event.replace('.', '\\.')}\\|\\d+\\|rt=\\d+ `),
      )
      assert.match(r.msg, /cs1Label=details cs1=\{"i":\d+,"marker":"run-[a-z-]+","note":"a\\=b\\\\\\\\c\|d"\}/)
    }
    assert.equal(seen.size, n, 'every entry once')
  })
}
