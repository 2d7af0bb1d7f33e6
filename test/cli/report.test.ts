/**
 * `audit report` as a real process over a generated corpus with known gaps, failures, personal data
 * and no checkpoint; then sealed, then tampered; the HTML rendered by Debian's headless Chromium.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {before, describe, test} from 'node:test'

import type {ComplianceReport} from '../../src/compliance/report/index.js'
import {chainedLines, type EntrySpec, runAudit, tempDir, writeLog} from '../helpers.js'
import {makeKeys, seal} from '../library-setup.js'

const RANGE = ['--since', '2026-11-01', '--until', '2026-11-06']
const DAYS = ['2026-11-01', '2026-11-02', '2026-11-04', '2026-11-05'] // 11-03 is missing

/** Every 30 minutes around the clock, except 10:00–14:00 on 11-02; known events at known lines. */
function corpus(dir: string): Map<string, {file: string; line: number}[]> {
  const at = new Map<string, {file: string; line: number}[]>()
  let head: string | undefined
  for (const day of DAYS) {
    const specs: EntrySpec[] = []
    for (let slot = 0; slot < 48; slot++) {
      const hh = String(Math.floor(slot / 2)).padStart(2, '0')
      const mm = slot % 2 ? '30' : '00'
      if (day === '2026-11-02' && slot > 20 && slot < 28) continue
      const timestamp = `${day}T${hh}:${mm}:00.000Z`
      const kind = slot % 12
      if (kind === 0) specs.push({timestamp, event: 'auth.login', actor: 'alice', details: {ip: '10.0.0.5'}})
      else if (kind === 1 && day === '2026-11-04')
        specs.push({timestamp, event: 'auth.fail', level: 'warning', actor: 'mallory', details: {ip: '203.0.113.9'}})
      else if (kind === 2) specs.push({timestamp, event: 'config.change', actor: 'bob', details: {key: 'retention'}})
      else if (kind === 3 && day === '2026-11-01') specs.push({timestamp, event: 'token.create', actor: 'alice', details: {token: 'ci'}})
      else if (kind === 4) specs.push({timestamp, event: 'user.update', actor: 'alice', details: {email: 'carol@example.org'}})
      else specs.push({timestamp, event: 'api.request', actor: 'svc', details: {model: 'llama3.1:8b'}})
    }
    const made = chainedLines(specs, head)
    head = made.head
    const name = `audit-${day}.jsonl`
    writeLog(dir, name, made.lines)
    specs.forEach((s, i) => {
      const list = at.get(s.event) ?? []
      list.push({file: name, line: i + 1})
      at.set(s.event, list)
    })
  }
  return at
}

async function report(
  dir: string,
  standard: string,
  args: string[] = [],
): Promise<{code: number | null; stderr: string; report: ComplianceReport}> {
  const r = await runAudit(['report', standard, '--dir', dir, ...RANGE, '--format', 'json', ...args])
  assert.equal(r.stderr.includes('    at '), false, r.stderr)
  return {code: r.code, stderr: r.stderr, report: JSON.parse(r.stdout) as ComplianceReport}
}

const control = (r: ComplianceReport, id: string) => {
  const c = r.controls.find((x) => x.id === id)
  assert.ok(c, id)
  return c
}
const evidence = (r: ComplianceReport, id: string, label: string | RegExp) => {
  const e = control(r, id).evidence.find((x) => (typeof label === 'string' ? x.label === label : label.test(x.label)))
  assert.ok(e, `${id}: ${label}`)
  return e
}

describe('audit report', () => {
  let dir: string
  let at: Map<string, {file: string; line: number}[]>
  before(() => {
    dir = tempDir()
    at = corpus(dir)
  })

  test('soc2: access with its evidence lines; the silences, the missing day and the missing checkpoint need attention', async () => {
    const {code, report: r} = await report(dir, 'soc2')
    const fails = at.get('auth.fail')!
    assert.equal(evidence(r, 'CC6.1', 'Failed authentications').value, String(fails.length))
    assert.deepEqual(evidence(r, 'CC6.1', 'Failed authentications').refs, fails.slice(0, 3))
    assert.equal(evidence(r, 'CC6.1', 'Successful authentications').value, String(at.get('auth.login')!.length))
    assert.deepEqual(evidence(r, 'CC6.1', 'Key/token lifecycle: token.create').refs, at.get('token.create')!.slice(0, 3))
    assert.equal(evidence(r, 'CC6.1', 'Privileged actions by bob').value, String(at.get('config.change')!.length))

    const monitoring = control(r, 'CC7.2')
    assert.equal(monitoring.status, 'attention')
    assert.match(monitoring.reason, /no signed checkpoint/)
    assert.match(monitoring.reason, /2 silences longer than 60 min/)
    assert.match(monitoring.reason, /1 day without entries/)
    assert.equal(evidence(r, 'CC7.2', 'Days without entries').value, '2026-11-03')
    const silences = evidence(r, 'CC7.2', /^Silences/).value
    assert.match(silences, /2026-11-02T23:30:00.000Z – 2026-11-04T00:00:00.000Z \(1470 min\)/)
    assert.match(silences, /2026-11-02T10:00:00.000Z – 2026-11-02T14:00:00.000Z \(240 min\)/)
    assert.match(evidence(r, 'CC7.2', 'Hash chain (audit verify)').value, /^VALID, 185 entries checked/)

    assert.equal(r.usage.entries, 185)
    assert.equal(r.usage.requests, at.get('api.request')!.length)
    assert.deepEqual(
      r.usage.models.map((m) => m.name),
      ['llama3.1:8b'],
    )
    assert.equal(code, r.verdict === 'not-met' ? 1 : 0)
  })

  test('hipaa: a 30-day retention and plaintext closed parts are not met; reads of the log cannot be established', async () => {
    const config = join(tempDir(), 'config.yaml')
    writeFileSync(config, 'retention_days: 30\n')
    const {code, report: r} = await report(dir, 'hipaa', ['--config', config])
    assert.equal(control(r, '164.316(b)(2)').status, 'not-met')
    assert.equal(control(r, '164.312(a)(2)(iv)').status, 'not-met')
    assert.equal(evidence(r, '164.312(a)(2)(iv)', 'Closed log parts encrypted (.age)').value, '0 of 4')
    assert.equal(control(r, '164.312(b)-access').status, 'unknown')
    assert.equal(r.verdict, 'not-met')
    assert.equal(code, 1)
  })

  test('gdpr: the fields holding personal data, with the lines that show them', async () => {
    const {report: r} = await report(dir, 'gdpr')
    const email = evidence(r, 'Art. 30/32', 'details.email (email)')
    assert.equal(email.value, `${at.get('user.update')!.length} entries`)
    assert.deepEqual(email.refs, at.get('user.update')!.slice(0, 3))
    assert.ok(evidence(r, 'Art. 30/32', 'details.ip (ip)'))
    assert.equal(control(r, 'Art. 5(1)(e)').status, 'attention')
  })

  test('sealed with a key: the checkpoint and its signatures are evidence; a tampered line is not met, at its file:line', async () => {
    const sealed = tempDir()
    const lines = corpus(sealed)
    const {key, pub} = await makeKeys()
    await seal(sealed, key)
    const {report: r} = await report(sealed, 'soc2', ['--pubkey', pub])
    assert.match(evidence(r, 'CC7.2', 'Last checkpoint').value, /\(0 h ago, 1 checkpoint, signatures checked\)/)
    assert.doesNotMatch(control(r, 'CC7.2').reason, /checkpoint/)

    const target = lines.get('config.change')![5]
    const path = join(sealed, target.file)
    const text = readFileSync(path, 'utf8').split('\n')
    text[target.line - 1] = text[target.line - 1].replace('"retention"', '"retentioN"')
    writeFileSync(path, text.join('\n'))
    const tampered = await report(sealed, 'soc2', ['--pubkey', pub])
    assert.equal(control(tampered.report, 'CC7.2').status, 'not-met')
    assert.deepEqual(evidence(tampered.report, 'CC7.2', 'Hash chain (audit verify)').refs, [target])
    assert.equal(tampered.code, 1)
  })

  test('html: one self-contained 0600 file that Debian headless Chromium renders', async () => {
    const out = join(tempDir(), 'soc2.html')
    const r = await runAudit(['report', 'soc2', '--dir', dir, ...RANGE, '--format', 'html', '--output', out])
    assert.equal(r.stdout, '')
    assert.equal(statSync(out).mode & 0o777, 0o600)
    const html = readFileSync(out, 'utf8')
    assert.doesNotMatch(html, /<script|<link|src=|url\(/i)
    const run = promisify(execFile)
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--user-data-dir=' + tempDir()]
    const {stdout: dom} = await run('chromium', [...flags, '--dump-dom', `file://${out}`], {timeout: 60_000})
    assert.match(dom, /CC7\.2 System monitoring: coverage and integrity <span class="st"[^>]*>attention<\/span>/)
    const png = join(tempDir(), 'soc2.png')
    await run('chromium', [...flags, `--screenshot=${png}`, '--window-size=1000,1600', `file://${out}`], {timeout: 60_000})
    const image = readFileSync(png)
    assert.equal(image.subarray(1, 4).toString(), 'PNG')
    assert.ok(image.length > 20_000, `a rendered page, not a blank one (${image.length} bytes)`)
  })

  test('bad input: a malformed line is reported and skipped; a wrong standard, format or key is one line, exit 2', async () => {
    const broken = tempDir()
    corpus(broken)
    writeFileSync(join(broken, 'audit-2026-11-05.jsonl'), '{"not json\n', {flag: 'a'})
    const r = await report(broken, 'soc2')
    assert.match(r.stderr, /audit-2026-11-05\.jsonl:49/)
    assert.equal(r.report.usage.entries, 185)
    for (const args of [['pci'], ['soc2', '--format', 'pdf'], ['soc2', '--pubkey', join(broken, 'missing.pub')]]) {
      const bad = await runAudit(['report', ...args, '--dir', broken])
      assert.equal(bad.code, 2, bad.stderr)
      assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr)
      assert.equal(bad.stdout, '')
    }
  })
})
