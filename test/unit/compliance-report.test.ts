/** The compliance controls judged from facts alone, and the three renderers against hostile log text. */
import assert from 'node:assert/strict'
import {test} from 'node:test'

import {type ComplianceReport, evaluate, type Standard, type Status} from '../../src/compliance/report/controls.js'
import type {ComplianceFacts} from '../../src/compliance/report/facts.js'
import {renderReport} from '../../src/compliance/report/index.js'

const NOW = '2026-11-30T12:00:00.000Z'
const none = {count: 0, refs: []}

/** Facts of a healthy log: every SOC2 control met. */
function facts(patch: Partial<ComplianceFacts> = {}): ComplianceFacts {
  return {
    generated: NOW,
    dir: '/var/log/audit',
    range: {since: '2026-10-31T12:00:00.000Z', until: NOW},
    usage: {
      range: {selected: {since: null, until: null}, present: {first: null, last: null}},
      files: {read: 1, names: ['audit-2026-11-30.jsonl']},
      total: 100,
      by_event: [{name: 'api.request', count: 40, share: 40}],
      by_level: [],
      top_actors: [],
      unique_actors: 3,
      unique_ips: 2,
      failures: {total: 5, error_rate: 5, latest: []},
      peak_hour: null,
      per_day: [],
      models: {requests: 40, usage_percent: 40, by_model: [{name: 'llama3.1:8b', count: 40, share: 100}]},
      problems: {},
    },
    auth: {
      success: {count: 20, refs: [{file: 'audit-2026-11-30.jsonl', line: 3}]},
      failure: {count: 2, refs: [{file: 'audit-2026-11-30.jsonl', line: 9}]},
    },
    keyLifecycle: [{event: 'token.create', count: 1, refs: [{file: 'audit-2026-11-30.jsonl', line: 12}]}],
    privileged: [{actor: 'alice', count: 4, refs: [{file: 'audit-2026-11-30.jsonl', line: 20}]}],
    audits: {reads: {count: 1, refs: [{file: 'audit-2026-11-30.jsonl', line: 30}]}, erasures: none, retention: none},
    gaps: {maxMinutes: 60, count: 0, longest: []},
    daysWithout: [],
    personal: [],
    oldest: '2026-01-01T00:00:00.000Z',
    verify: {
      ran: true,
      valid: true,
      problems: 0,
      firstProblem: null,
      entries: 100,
      unchained: 0,
      notSealed: 3,
      checkpoints: {count: 10, lastSealed: '2026-11-30T06:00:00.000Z', signaturesChecked: true},
    },
    detectors: {ran: true, findings: []},
    alerts: {webhooks: ['slack'], sent: 0},
    encryption: {closedParts: 4, encrypted: 4},
    settings: {retentionDays: 2200, checkpointMaxAgeHours: 26, forwarding: 'tcp://siem:514', pseudonymizeKey: true},
    problems: {},
    ...patch,
  }
}

const status = (report: ComplianceReport, id: string): Status => {
  const control = report.controls.find((c) => c.id === id)
  assert.ok(control, `no control ${id} in ${report.controls.map((c) => c.id).join(', ')}`)
  return control.status
}

test('a healthy log meets every control of each standard it can show', () => {
  const soc2 = evaluate('soc2', facts())
  assert.deepEqual(
    soc2.controls.map((c) => [c.id, c.status]),
    [
      ['CC6.1', 'met'],
      ['CC7.2', 'met'],
      ['CC7.3', 'met'],
    ],
  )
  assert.equal(soc2.verdict, 'met')
  assert.equal(evaluate('hipaa', facts()).verdict, 'met')
  assert.equal(evaluate('gdpr', facts()).verdict, 'met')
  assert.deepEqual(soc2.usage, {
    entries: 100,
    requests: 40,
    unique_users: 3,
    error_rate: 5,
    models: [{name: 'llama3.1:8b', count: 40, share: 100}],
  })
})

test('CC6.1: no authentication events cannot be established; a brute-force finding needs attention', () => {
  const noAuth = evaluate('soc2', facts({auth: {success: none, failure: none}}))
  assert.equal(status(noAuth, 'CC6.1'), 'unknown')
  assert.match(noAuth.controls[0].reason, /no authentication events/)
  const brute = facts({
    detectors: {ran: true, findings: [{id: 'brute-force-actor-mallory', title: 'Brute force', severity: 'high', count: 9, evidence: []}]},
  })
  assert.equal(status(evaluate('soc2', brute), 'CC6.1'), 'attention')
})

test('CC7.2: a broken chain is not met; a stale or missing checkpoint, a silence, an empty day or no forwarding need attention', () => {
  const v = facts().verify
  assert.ok(v.ran)
  const broken = evaluate(
    'soc2',
    facts({verify: {...v, valid: false, problems: 2, firstProblem: {file: 'audit-2026-11-29.jsonl', line: 7}}}),
  )
  assert.equal(status(broken, 'CC7.2'), 'not-met')
  assert.equal(broken.verdict, 'not-met')
  const chain = broken.controls[1].evidence.find((e) => e.label.startsWith('Hash chain'))!
  assert.match(chain.value, /INVALID, 2 problems, first at audit-2026-11-29.jsonl:7/)
  assert.deepEqual(chain.refs, [{file: 'audit-2026-11-29.jsonl', line: 7}])

  const cases: Array<[Partial<ComplianceFacts>, RegExp]> = [
    [{verify: {...v, checkpoints: null}}, /no signed checkpoint/],
    [
      {verify: {...v, checkpoints: {count: 1, lastSealed: '2026-11-28T00:00:00.000Z', signaturesChecked: true}}},
      /last checkpoint is 60 h old \(limit 26 h\)/,
    ],
    [{verify: {...v, checkpoints: {count: 1, lastSealed: NOW, signaturesChecked: false}}}, /signatures were not checked/],
    [{gaps: {maxMinutes: 60, count: 1, longest: [{from: NOW, to: NOW, minutes: 180}]}}, /1 silence longer than 60 min/],
    [{daysWithout: ['2026-11-12']}, /1 day without entries/],
    [{settings: {...facts().settings, forwarding: null}}, /no forwarding configured/],
    [{verify: {...v, unchained: 5}}, /5 entries without a chain hash/],
  ]
  for (const [patch, reason] of cases) {
    const c = evaluate('soc2', facts(patch)).controls[1]
    assert.equal(c.status, 'attention', JSON.stringify(patch))
    assert.match(c.reason, reason)
  }
  assert.equal(status(evaluate('soc2', facts({verify: {ran: false, reason: 'no such directory'}})), 'CC7.2'), 'not-met')
})

test('CC7.3: high findings without an alert channel are not met; detectors that could not run cannot establish it', () => {
  const high = {
    ran: true as const,
    findings: [{id: 'x', title: 'Rate spike', severity: 'critical', count: 900, evidence: [{file: 'a.jsonl', line: 4}]}],
  }
  assert.equal(status(evaluate('soc2', facts({detectors: high})), 'CC7.3'), 'attention')
  assert.equal(status(evaluate('soc2', facts({detectors: high, alerts: {webhooks: [], sent: null}})), 'CC7.3'), 'not-met')
  assert.equal(status(evaluate('soc2', facts({alerts: {webhooks: [], sent: null}})), 'CC7.3'), 'attention')
  assert.equal(status(evaluate('soc2', facts({detectors: {ran: false, reason: 'bad config'}})), 'CC7.3'), 'unknown')
})

test('HIPAA: retention under six years, plaintext closed parts and unlogged reads', () => {
  const r = evaluate(
    'hipaa',
    facts({
      settings: {...facts().settings, retentionDays: 365},
      encryption: {closedParts: 5, encrypted: 2},
      audits: {...facts().audits, reads: none},
    }),
  )
  assert.equal(status(r, '164.316(b)(2)'), 'not-met')
  assert.equal(status(r, '164.312(a)(2)(iv)'), 'not-met')
  assert.match(r.controls[1].reason, /3 of 5 closed parts stored in plaintext/)
  assert.equal(status(r, '164.312(b)-access'), 'unknown')
  assert.equal(status(evaluate('hipaa', facts({settings: {...facts().settings, retentionDays: 0}})), '164.316(b)(2)'), 'met')
  assert.equal(status(evaluate('hipaa', facts({encryption: {closedParts: 0, encrypted: 0}})), '164.312(a)(2)(iv)'), 'unknown')
})

test('GDPR: personal fields, retention against the oldest entry, erasures, export pseudonymisation', () => {
  const personal = [{path: 'details.email', kind: 'email' as const, count: 3, refs: [{file: 'a.jsonl', line: 2}]}]
  const r = evaluate('gdpr', facts({personal, settings: {...facts().settings, retentionDays: 30, pseudonymizeKey: false}}))
  assert.equal(status(r, 'Art. 30/32'), 'attention')
  assert.deepEqual(r.controls[0].evidence, [{label: 'details.email (email)', value: '3 entries', refs: [{file: 'a.jsonl', line: 2}]}])
  // The oldest entry (2026-01-01) is far past a 30-day policy.
  assert.equal(status(r, 'Art. 5(1)(e)'), 'not-met')
  assert.equal(status(r, 'Art. 25'), 'unknown')
  assert.equal(
    status(
      evaluate('gdpr', facts({oldest: '2026-11-01T00:00:00.000Z', settings: {...facts().settings, retentionDays: 30}})),
      'Art. 5(1)(e)',
    ),
    'met',
  )
  assert.equal(status(evaluate('gdpr', facts({settings: {...facts().settings, retentionDays: 0}})), 'Art. 5(1)(e)'), 'attention')
  const erased = evaluate('gdpr', facts({audits: {...facts().audits, erasures: {count: 2, refs: [{file: 'b.jsonl', line: 1}]}}}))
  assert.match(erased.controls[2].reason, /2 erasures recorded/)
})

test('renderers: log text never drives a terminal, breaks Markdown or injects HTML', () => {
  const hostile = '\u001b]8;;https://evil\u0007x\u001b[2J<script>alert(1)</script>|**[click](http://evil)**'
  const report = evaluate(
    'soc2' as Standard,
    facts({privileged: [{actor: hostile, count: 1, refs: [{file: `audit-${hostile}.jsonl`, line: 1}]}]}),
  )
  for (const format of ['markdown', 'html', 'json'] as const) {
    const text = renderReport(report, format)
    assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, format)
  }
  const md = renderReport(report, 'markdown')
  assert.match(md, /Privileged actions by .*\\<script\\>alert\(1\)\\<\/script\\>\\\|\\\*\\\*\\\[click\\\]\(http:\/\/evil\)\\\*\\\*: 1/)
  const html = renderReport(report, 'html')
  assert.doesNotMatch(html, /<script>/)
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/)
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/)
  assert.deepEqual(JSON.parse(renderReport(report, 'json')).controls[0].status, 'met')
})
